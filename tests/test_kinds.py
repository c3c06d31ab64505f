"""Finding kinds: one module each, discovered; typed details that write the contract JSON."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.config import FINDING_KINDS
from watcher.detectors import detector_kinds, kind_details
from watcher.models import (
    AlertBatch,
    Finding,
    FindingKind,
    KindDetail,
    RawDetail,
    Severity,
    kind_names,
    typed,
)
from watcher.notify.render import block

# One contract-shaped detail per kind, as the detectors write them (design.md).
CONTRACT: dict[str, dict[str, Any]] = {
    "copied_listing": {
        "copy": {
            "url": "https://m.example/i/9",
            "title": "【包邮】连衣裙",
            "price": 201.0,
            "currency": "CNY",
            "shop": "Market",
            "seller": None,
        },
        "title_similarity": 0.931,
        "image_distance": 0,
        "stolen_photo": True,
    },
    "negative_review": {
        "rating": 1.0,
        "text": "Arrived torn.",
        "author": "Megan B.",
        "published_at": "2026-11-30T14:17:59+00:00",
        "reason": "rating",
    },
    "seasonal_launch": {
        "season": "spring",
        "year": 2027,
        "items": [
            {
                "url": "https://r.example/p/1",
                "title": "早春新款碎花连衣裙",
                "price": 259,
                "currency": "CNY",
                "date": "2026-11-30",
            }
        ],
        "competitors_launched": 1,
        "competitors_tracked": 3,
        "launched": [{"name": "Rival", "first_date": "2026-11-30"}],
    },
    "price_change": {"old": 199.0, "new": 159.0, "currency": "CNY", "change": -0.201},
    "stock_change": {"old": "in stock", "new": "out of stock"},
    "listing_changed": {
        "changes": {
            "title": {"old": "a", "new": "b"},
            "price": {"old": 129.0, "new": 99},
            "available": {"old": True, "new": False},
        }
    },
    "shop_unreachable": {"failures": 3, "since": "2027-01-01T00:00:00+00:00", "error": "HTTP 503"},
    "price_position": {
        "own": {
            "url": "https://s.example/p",
            "title": "真皮卡包",
            "price": 159.0,
            "currency": "CNY",
        },
        "matched": [
            {
                "url": "https://t.example/p/1",
                "title": "真皮卡包 名片夹",
                "price": 99.0,
                "currency": "CNY",
                "shop": "Tidewater",
            }
        ],
        "position": "undercut",
        "undercut_by": 0.3774,
    },
}


def stored(kind: str, detail: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "severity": "medium",
        "shop": "S",
        "listing": {"url": "https://s.example/p", "title": "T", "price": 9.0, "currency": "CNY"},
        "summary": "summary",
        "detail": detail,
        "dedup_key": f"{kind}:1",
        "detected_at": "2027-03-01T08:00:00+08:00",
    }


def test_every_kind_is_defined_by_exactly_one_module() -> None:
    details = kind_details()
    detectors = detector_kinds()
    assert set(details) == set(FindingKind) == set(detectors)
    for kind in FindingKind:
        module = inspect.getmodule(details[kind])
        assert module is inspect.getmodule(detectors[kind]), kind
        assert module is not None and module.__name__.startswith("watcher.detectors.")
        classes = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, KindDetail) and c.__module__ == module.__name__
        ]
        assert classes == [details[kind]], f"{kind}: one detail class per module"
    orders = [kind_names(k).order for k in FindingKind]
    assert len(set(orders)) == len(orders), "kinds of one severity sort in a fixed order"


def test_config_kind_filter_is_the_kind_list() -> None:
    assert set(FINDING_KINDS) == {k.value for k in FindingKind}


def test_a_second_detail_for_a_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="defined twice"):

        class Again(KindDetail):  # pragma: no cover - never instantiated
            kind = FindingKind.PRICE_CHANGE


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_detail_json_round_trips_byte_for_byte(kind: str) -> None:
    data = stored(kind, CONTRACT[kind])
    finding = Finding.from_json(data)
    assert isinstance(finding.detail, kind_details()[FindingKind(kind)])
    assert finding.kind is FindingKind(kind)
    again = finding.to_json()
    assert json.dumps(again, ensure_ascii=False) == json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize("kind", sorted(CONTRACT))
@pytest.mark.parametrize("detail", [None, [], "x", {"copy": "x", "items": 3, "changes": [1]}])
def test_a_malformed_stored_detail_loads_and_renders(kind: str, detail: Any) -> None:
    finding = Finding.from_json(stored(kind, detail))
    b = block(finding)
    assert b.label == kind_names(kind).label
    json.dumps(finding.to_json())


def test_an_unknown_kind_keeps_its_json_and_renders_key_by_key() -> None:
    data = stored("rating_drop", {"rating": 4.1, "was": 4.6})
    finding = Finding.from_json(data)
    assert finding.kind == "rating_drop" and isinstance(finding.detail, RawDetail)
    assert finding.to_json() == data
    b = block(finding)
    assert b.label == "Rating drop"
    assert [x.spans[0].text for x in b.lines] == ["rating: 4.1", "was: 4.6"]


def test_a_raw_detail_of_a_known_kind_is_read_typed() -> None:
    finding = Finding.from_json(stored("price_change", CONTRACT["price_change"]))
    finding.detail = RawDetail(CONTRACT["price_change"])
    assert (
        typed(finding) == Finding.from_json(stored("price_change", CONTRACT["price_change"])).detail
    )


def test_alerts_sort_by_severity_then_kind() -> None:
    now = datetime.now(UTC)
    findings = [
        Finding.from_json({**stored(k, CONTRACT[k]), "severity": str(sev)})
        for k, sev in [
            ("stock_change", Severity.LOW),
            ("price_change", Severity.LOW),
            ("shop_unreachable", Severity.MEDIUM),
            ("negative_review", Severity.MEDIUM),
            ("copied_listing", Severity.MEDIUM),
            ("negative_review", Severity.HIGH),
        ]
    ]
    for f in findings:
        f.detected_at = now
    order = [(str(f.severity), str(f.kind)) for f in AlertBatch(findings).sorted()]
    assert order == [
        ("high", "negative_review"),
        ("medium", "copied_listing"),
        ("medium", "negative_review"),
        ("medium", "shop_unreachable"),
        ("low", "price_change"),
        ("low", "stock_change"),
    ]
