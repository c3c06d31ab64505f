"""End to end: `watcher check` as a subprocess against the sample marketplace, on SQLite
and PostgreSQL, asserting the exact findings of every timeline step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import brief, check, write_config
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, FENGSHANG, MARKET, OWN, URBAN

OWN1 = "山茶花刺绣真丝衬衫 Camellia Embroidered Silk Blouse"
OWN2 = "高腰阔腿西装裤 垂感显瘦 High-Waist Wide-Leg Trousers"
OWN3 = "羊毛混纺格纹半身裙 Wool Blend Plaid Midi Skirt"
OWN4 = "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress"
OWN5 = "珍珠发夹套装 Pearl Hair Clip Set"

EXPECTED: list[set[tuple[object, ...]]] = [
    {
        ("copied_listing", "high", OWN, OWN2, MARKET, True),
        ("seasonal_launch", "medium", URBAN, None, "winter", 2026, 3, 1, 3),
        ("price_position", "medium", OWN, OWN2, "undercut", 0.2, MARKET, 135.2),
    },
    {
        ("copied_listing", "high", OWN, OWN4, FAWN, True),
        ("price_position", "medium", OWN, OWN4, "undercut", 0.25, FAWN, 201.0),
        ("negative_review", "high", OWN, OWN1, 1.0, "rating"),
        ("negative_review", "medium", OWN, OWN3, 5.0, "text"),
        ("seasonal_launch", "medium", FENGSHANG, None, "spring", 2027, 4, 1, 3),
        ("listing_changed", "medium", OWN, OWN5, "price"),
        ("price_change", "low", FENGSHANG, "醋酸缎面半身裙 垂感鱼尾裙", 199.0, 159.0),
        ("stock_change", "low", URBAN, "Organic Cotton Crew Tee", "in stock", "out of stock"),
    },
    set(),
    {("seasonal_launch", "medium", URBAN, None, "spring", 2027, 3, 2, 3)},
]


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def test_timeline_exact_findings(market: Marketplace, db_url: str, tmp_path: Path) -> None:
    config = write_config(market, tmp_path / "w.toml", db_url)
    for step, expected in enumerate(EXPECTED):
        if step:
            market.advance()
        run = check(config)
        assert run.code == 0, run.stderr
        got = {brief(f) for f in run.findings}
        assert got == expected, f"step {step}: {run.findings}"
        assert len(run.findings) == len(expected), "no finding twice"
    again = check(config)
    assert again.code == 0 and again.findings == [], "nothing is raised twice"


def test_finding_payload_matches_the_contract(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}")
    check(config)
    market.advance()
    run = check(config)
    by_kind = {f["kind"]: f for f in run.findings}
    for f in run.findings:
        assert set(f) == {
            "kind",
            "severity",
            "shop",
            "listing",
            "summary",
            "detail",
            "dedup_key",
            "detected_at",
        }
    review = next(
        f for f in run.findings if f["kind"] == "negative_review" and f["severity"] == "high"
    )
    assert review["detail"]["text"] == "Arrived torn, the seams came apart after one wash."
    assert review["detail"]["author"] == "Megan B." and review["detail"]["published_at"]
    assert review["listing"]["price"] == 299.0 and review["listing"]["currency"] == "CNY"
    copy = by_kind["copied_listing"]["detail"]
    assert copy["copy"]["price"] == 201.0 and copy["copy"]["title"].startswith("【包邮】")
    assert 0 <= copy["title_similarity"] <= 1 and isinstance(copy["image_distance"], int)
    launch = by_kind["seasonal_launch"]["detail"]
    assert {i["title"] for i in launch["items"]} == {
        "早春新款碎花连衣裙",
        "春季薄款针织开衫",
        "早春风衣外套 中长款",
        "春季高腰阔腿裤",
    }
    assert [x["name"] for x in launch["launched"]] == [FENGSHANG]
    assert by_kind["seasonal_launch"]["listing"] is None
    position = by_kind["price_position"]
    assert position["detail"] == {
        "own": {
            "url": position["listing"]["url"],
            "title": OWN4,
            "price": 268.0,
            "currency": "CNY",
        },
        "matched": [
            {
                "url": copy["copy"]["url"],
                "title": copy["copy"]["title"],
                "price": 201.0,
                "currency": "CNY",
                "shop": FAWN,
            }
        ],
        "position": "undercut",
        "undercut_by": 0.25,
    }
    assert position["summary"] == (
        f"Your “{OWN4}” ¥268.00 — 1 matched listing ¥201.00; {FAWN} now ¥201.00, ¥67.00 cheaper (−25.0%)"
    )


BROKEN = [
    (FENGSHANG, "500"),
    (URBAN, "timeout"),
    (FENGSHANG, "garbage"),
    (FENGSHANG, "truncated_json"),
    (FAWN, "captcha"),
    (URBAN, "empty_catalog"),
    (FAWN, "refuse"),
]


@pytest.mark.parametrize(("shop", "mode"), BROKEN, ids=[m for _, m in BROKEN])
def test_broken_shop_is_unknown_not_empty(
    market: Marketplace, tmp_path: Path, shop: str, mode: str
) -> None:
    config = write_config(
        market,
        tmp_path / "w.toml",
        f"sqlite:///{tmp_path / 'w.db'}",
        watcher='timeout = "2s"\nretries = 1',
    )
    first = check(config)
    assert first.code == 0, first.stderr
    market.set_fault(shop, mode)
    broken = check(config)
    assert broken.code == 1, broken.stderr
    assert broken.findings == [], "a broken shop raises nothing (no removals, no launches)"
    assert shop in broken.stderr
    for other in (OWN, FENGSHANG, URBAN, FAWN):
        if other != shop:
            assert f"{other}: ok" in broken.stderr, f"{other} still checked"
    market.clear_faults()
    recovered = check(config)
    assert recovered.code == 0, recovered.stderr
    assert recovered.findings == [], "no burst of 'new' findings after recovery"


def test_unreachable_shop_alerts_once_per_outage(market: Marketplace, tmp_path: Path) -> None:
    config = write_config(
        market,
        tmp_path / "w.toml",
        f"sqlite:///{tmp_path / 'w.db'}",
        watcher="unreachable_after = 2\nretries = 0",
    )
    check(config)
    market.set_fault(FENGSHANG, "500")
    assert check(config).findings == []
    second = check(config)
    assert [(f["kind"], f["shop"]) for f in second.findings] == [("shop_unreachable", FENGSHANG)]
    assert second.findings[0]["detail"]["failures"] == 2
    assert check(config).findings == []
    market.clear_faults()
    assert check(config).findings == []
