"""``price_position``: where the seller's price stands among the listings that sell the same
item. The fake reads give the detector exactly the stored rows it reads; the last tests run
it on a real store, where the position's history decides the dedup key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.detect import NOW, OWN, RIVAL, RIVAL_B, CandidatePages, config, result, run
from watcher.config import Config, parse_config
from watcher.detectors.base import DetectContext, ShopResult
from watcher.detectors.position import PositionDetail, PricePosition, position_of
from watcher.models import Finding, Listing, Severity
from watcher.notify.render import block
from watcher.store import Store
from watcher.store.reads import CandidateListing, OwnListing, PricePoint

TITLE = "真皮卡包 多卡位 Leather Card Holder"
SAME, OTHER = "a" * 192, "5" * 192  # perceptual hashes: identical, and far apart


class FakeReads(CandidatePages):
    """The reads the detector makes: own listings, candidates, failing shops, prices."""

    def __init__(
        self, own_price: float, *cands: CandidateListing, failing: frozenset[str] = frozenset()
    ) -> None:
        self.own = [
            OwnListing(
                1,
                "own-1",
                "https://my.example/p/1",
                TITLE,
                own_price,
                "CNY",
                "https://my.example/1.jpg",
                OWN.name,
            )
        ]
        self.cands = list(cands)
        self.failing = failing

    def own_top_listings(self) -> list[OwnListing]:
        return self.own

    def candidate_listings(self) -> list[CandidateListing]:
        return self.cands

    def failing_shops(self) -> set[str]:
        return set(self.failing)

    def price_history(self, ids: list[int]) -> dict[int, list[PricePoint]]:
        rows = {o.id: o for o in self.own} | {c.id: c for c in self.cands}
        return {
            i: [PricePoint(NOW - timedelta(days=1), rows[i].price, rows[i].currency)] for i in ids
        }


def cand(
    n: int, price: float | None, *, shop: str = RIVAL.name, title: str = TITLE, **fields: Any
) -> CandidateListing:
    row: dict[str, Any] = {
        "id": 100 + n,
        "ref": f"c{n}",
        "url": f"https://rival.example/p/{n}",
        "title": title,
        "price": price,
        "currency": "CNY",
        "image": f"https://rival.example/{n}.jpg",
        "seller": None,
        "shop": shop,
    }
    return CandidateListing(**{**row, **fields})


def detect(
    reads: FakeReads,
    *,
    results: list[ShopResult] | None = None,
    cfg: Config | None = None,
    images: dict[str, str] | None = None,
) -> list[Finding]:
    return run(
        PricePosition,
        results or [result(OWN), result(RIVAL), result(RIVAL_B)],
        cfg=cfg,
        store=reads,
        images=images,
    )


def test_an_undercut_names_the_cheapest_and_reads_like_a_seller_would() -> None:
    reads = FakeReads(
        159.0,
        cand(1, 99.0, shop="Tidewater"),
        cand(2, 129.0),
        cand(3, 149.0, shop=RIVAL_B.name),
        cand(4, 169.0),
    )
    (f,) = detect(reads)
    assert f.severity is Severity.MEDIUM and f.shop == OWN.name
    assert f.summary == (
        f"Your “{TITLE}” ¥159.00 — 4 matched listings ¥99.00–¥169.00; Tidewater now ¥99.00, ¥60.00 cheaper (−37.7%)"
    )
    d = f.detail
    assert isinstance(d, PositionDetail) and d.position == "undercut" and d.undercut_by == 0.3774
    assert [m.price for m in d.matched] == [99.0, 129.0, 149.0, 169.0]
    assert d.own.price == 159.0 and d.own.currency == "CNY"
    spans = block(f).lines[0].spans
    assert "".join(s.text for s in spans) == (
        "Your price ¥159.00 — 4 matched listings ¥99.00–¥169.00; Tidewater now ¥99.00, ¥60.00 cheaper (−37.7%)"
    )
    assert [s.url for s in spans if s.text == "Tidewater"] == ["https://rival.example/p/1"]
    assert (
        f.dedup_key
        == f"price_position:{OWN.name}:own-1:undercut:{(NOW - timedelta(days=1)).isoformat()}"
    )
    assert set(f.to_json()["detail"]) == {"own", "matched", "position", "undercut_by"}


def test_the_undercut_threshold_is_more_than_the_configured_fraction() -> None:
    (f,) = detect(FakeReads(100.0, cand(1, 90.5)))
    assert f.detail.to_json()["position"] == "most_expensive", "9.5 % is no undercut"
    (f,) = detect(FakeReads(100.0, cand(1, 89.0)))
    assert f.detail.to_json()["undercut_by"] == 0.11
    cfg = parse_config(
        {
            "watcher": {"database": "sqlite://"},
            "shops": [
                {"name": s.name, "kind": s.kind, "url": s.url, "role": s.role}
                for s in (OWN, RIVAL, RIVAL_B)
            ],
            "detect": {"position": {"undercut": 0.05}},
        },
        env={},
    )
    (f,) = detect(FakeReads(100.0, cand(1, 94.0)), cfg=cfg)
    assert f.detail.to_json()["position"] == "undercut"
    assert position_of(100.0, [90.0], 0.10)[0] == "most_expensive", "exactly 10 % is no undercut"


def test_dearer_than_every_matched_listing_is_most_expensive() -> None:
    (f,) = detect(FakeReads(159.0, cand(1, 150.0), cand(2, 155.0, shop=RIVAL_B.name)))
    assert f.severity is Severity.LOW and f.detail.to_json()["position"] == "most_expensive"
    assert f.detail.to_json()["undercut_by"] is None
    assert f.summary == (
        f"Your “{TITLE}” ¥159.00 — 2 matched listings ¥150.00–¥155.00; you are the most expensive"
    )
    assert "you are the most expensive" in "".join(s.text for s in block(f).lines[0].spans)
    assert detect(FakeReads(150.0, cand(1, 150.0), cand(2, 155.0))) == [], "a tie is not dearer"
    assert detect(FakeReads(140.0, cand(1, 150.0))) == [], "the cheapest raises nothing"
    assert detect(FakeReads(159.0, cand(1, 0.0), cand(2, None))) == [], "no price, no position"


def test_only_the_same_item_is_matched_by_title_or_photo() -> None:
    other_item = cand(1, 50.0, title="Garden Hose 20m 花园水管")
    assert detect(FakeReads(159.0, other_item)) == []
    # 0.81 alike: not the same item by title, worth comparing photos (above 0.6)
    photo = cand(2, 50.0, title="牛皮卡包 多卡位 Card Holder", image="https://rival.example/x.jpg")
    images = {"https://my.example/1.jpg": SAME, "https://rival.example/x.jpg": SAME}
    assert detect(FakeReads(159.0, photo)) == [], "a different title without the photo"
    (f,) = detect(FakeReads(159.0, photo), images=images)
    assert f.detail.to_json()["matched"][0]["title"] == "牛皮卡包 多卡位 Card Holder"
    far = {"https://my.example/1.jpg": SAME, "https://rival.example/x.jpg": OTHER}
    assert detect(FakeReads(159.0, photo), images=far) == []
    detector = PricePosition(config())
    ctx = DetectContext(config(), FakeReads(159.0, cand(1, 99.0)), [], NOW)  # type: ignore[arg-type]
    assert set(detector.images_needed(ctx)) == {
        "https://my.example/1.jpg",
        "https://rival.example/1.jpg",
    }


def test_a_listing_that_lost_its_currency_for_now_may_still_be_cheaper() -> None:
    reads = FakeReads(159.0, cand(1, 99.0, currency=None), cand(2, 150.0, shop=RIVAL_B.name))
    stored = {101: [PricePoint(NOW - timedelta(days=2), 99.0, "CNY")]}
    plain = reads.price_history
    reads.price_history = lambda ids: {**plain(ids), **stored}  # type: ignore[method-assign]
    assert detect(reads) == [], "not the most expensive on a gap in the data"
    stored[101] = [PricePoint(NOW - timedelta(days=2), 99.0, None)]
    assert detect(reads)[0].detail.to_json()["position"] == "most_expensive", (
        "a listing that never showed a currency is not compared"
    )


def test_a_detector_kept_across_checks_reads_each_check_afresh() -> None:
    detector = PricePosition(config())
    # One context object for every check: the worst case of a later check's context
    # getting the identity of a freed one.
    ctx = DetectContext(config(), FakeReads(159.0), [result(OWN)], NOW)  # type: ignore[arg-type]
    for reads, expected in [(FakeReads(159.0, cand(1, 99.0)), 1), (FakeReads(159.0), 0)] * 2:
        ctx.reads = reads  # type: ignore[assignment]
        list(detector.images_needed(ctx))
        assert len(list(detector.detect(ctx))) == expected


def test_only_prices_in_the_own_currency_are_compared() -> None:
    dollars = cand(1, 9.0, currency="USD", shop=RIVAL_B.name)
    assert detect(FakeReads(159.0, dollars)) == [], "$9 is not compared with ¥159"
    (f,) = detect(FakeReads(159.0, dollars, cand(2, 99.0)))
    d = f.detail.to_json()
    assert [m["currency"] for m in d["matched"]] == ["CNY", "USD"], "listed, not compared"
    assert d["undercut_by"] == 0.3774
    lines = ["".join(s.text for s in x.spans) for x in block(f).lines]
    assert lines[0].startswith("Your price ¥159.00 — 1 matched listing ¥99.00;")
    assert lines[1] == "1 matched listing in another currency not compared"


def test_an_unknown_shop_contributes_nothing() -> None:
    reads = FakeReads(159.0, cand(1, 99.0), cand(2, 150.0, shop=RIVAL_B.name))
    assert detect(reads)[0].detail.to_json()["position"] == "undercut"
    # Rival A (the undercutter) cannot be read: Rival B's ¥150 alone would make the seller
    # the most expensive, but the listing that cannot be seen is cheaper. Nothing is raised.
    for status in ("failed", "partial"):
        unread = [result(OWN), result(RIVAL, status=status), result(RIVAL_B)]
        assert detect(reads, results=unread) == [], status
    failing = FakeReads(159.0, cand(1, 99.0), failing=frozenset({RIVAL.name}))
    assert detect(failing, results=[result(OWN)]) == [], "failing since its last check"
    assert detect(FakeReads(159.0, cand(1, 99.0)), results=[result(OWN)]) != [], (
        "a shop not in this check counts with what was stored"
    )
    unread_b = [result(OWN), result(RIVAL), result(RIVAL_B, status="failed")]
    (f,) = detect(reads, results=unread_b)
    assert f.detail.to_json()["position"] == "undercut", "a known undercut stays one"
    assert [m["shop"] for m in f.detail.to_json()["matched"]] == [RIVAL.name], "B is unknown"
    assert "1 matched listing ¥99.00;" in f.summary


# --- on a real store: one alert per change of position ---------------------------------


class Market:
    """A store with an own listing and one rival listing of the same item, and the keys of
    the alerts recorded so far (the outbox keeps one alert per key)."""

    def __init__(self, url: str) -> None:
        self.cfg = parse_config(
            {
                "watcher": {"database": "sqlite://"},
                "shops": [
                    {"name": "Mine", "role": "own", "kind": "shopify", "url": "https://m.example"},
                    {"name": "Tidewater", "kind": "shopify", "url": "https://t.example"},
                ],
            },
            env={},
        )
        self.store = Store(url)
        self.mine = self.store.registry.ensure_shop("Mine", "shopify", "own", "https://m.example")
        self.rival = self.store.registry.ensure_shop(
            "Tidewater", "shopify", "competitor", "https://t.example"
        )
        self.keys: set[str] = set()

    def check(
        self, own: float, rival: float, *, rival_status: str = "ok", currency: str | None = "CNY"
    ) -> list[str]:
        """Store both prices (as a check would) and return the new alerts' positions."""
        assert self.mine.id and self.rival.id
        seen = self.store.catalog.apply(
            self.mine.id,
            [Listing("m1", "https://m.example/p/1", TITLE, own, "CNY")],
            complete=None,
            own_top=True,
        ).seen
        self.store.catalog.set_own_top(self.mine.id, [seen[0][0]])
        if rival_status == "ok":
            self.store.catalog.apply(
                self.rival.id,
                [Listing("t1", "https://t.example/p/1", "【包邮】" + TITLE, rival, currency)],
                complete=True,
            )
        results = [
            ShopResult(self.cfg.shops[0], self.mine.id),
            ShopResult(self.cfg.shops[1], self.rival.id, status=rival_status),
        ]
        ctx = DetectContext(self.cfg, self.store.reads, results, NOW)
        new = []
        for f in PricePosition(self.cfg).detect(ctx):
            if f.dedup_key not in self.keys:
                self.keys.add(f.dedup_key)
                new.append(f.detail.to_json()["position"])
        return new


def test_one_alert_per_change_of_position(db_url: str) -> None:
    m = Market(db_url)
    assert m.check(159, 169) == []
    assert m.check(159, 150) == ["most_expensive"]
    assert m.check(159, 150) == [], "an unchanged position raises nothing"
    assert m.check(159, 99) == ["undercut"]
    assert m.check(159, 99) == []
    assert m.check(159, 89) == [], "a deeper undercut is the same position"
    assert m.check(159, 89, rival_status="failed") == [], "an unknown shop changes nothing"
    assert m.check(159, 89) == [], "nor does its recovery"
    assert m.check(159, 89, currency=None) == [], "a page that lost its currency for a while"
    assert m.check(159, 89) == [], "is no new position when it comes back"
    assert m.check(159, 169) == [], "back to normal"
    assert m.check(159, 89) == ["undercut"], "a new undercut after a return to normal"
    assert m.check(89, 89) == [], "the seller matched the price"
    assert m.check(159, 89) == ["undercut"], "and went back up"
    assert len(m.keys) == 4
    m.store.close()
