"""What the pages compute from a real store (SQLite and PostgreSQL): the evidence of a copy
as it was when found, prices in different currencies, launches of competitors that have
not started, health; and that `watcher check` never loads the web stack."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from watcher.config import Config, parse_config
from watcher.demo import images
from watcher.images import make_thumbnail
from watcher.models import Finding, Listing, Severity, parse_detail
from watcher.store import Store
from watcher.store.images import url_key
from watcher.web import queries

OWN_IMG, NEW_IMG, COPY_IMG = (
    "https://mine.example/cdn/a.jpg",
    "https://mine.example/cdn/b.jpg",
    "https://rival.example/cdn/c.jpg",
)


def _config() -> Config:
    return parse_config(
        {
            "watcher": {"timezone": "Asia/Shanghai"},
            "shops": [
                {"name": "Mine", "role": "own", "kind": "shopify", "url": "https://mine.example/"},
                {"name": "Rival", "kind": "shopify", "url": "https://rival.example/"},
                {"name": "Quiet", "kind": "shopify", "url": "https://quiet.example/"},
            ],
        },
        env={},
    )


def _copy_alert(store: Store, copy_currency: str) -> int:
    own = store.registry.ensure_shop("Mine", "shopify", "own", "https://mine.example/")
    rival = store.registry.ensure_shop("Rival", "shopify", "competitor", "https://rival.example/")
    assert own.id and rival.id
    mine = Listing(
        "1", "https://mine.example/p/1", "Linen Dress 亚麻连衣裙", 100.0, "CNY", images=[OWN_IMG]
    )
    theirs = Listing(
        "9",
        "https://rival.example/p/9",
        "【包邮】Linen Dress 亚麻连衣裙",
        20.0,
        copy_currency,
        images=[COPY_IMG],
    )
    store.catalog.apply(own.id, [mine], complete=None, source="top", own_top=True)
    store.catalog.apply(rival.id, [theirs], complete=True)
    photo = make_thumbnail(images.render("p5"))
    assert photo is not None
    store.thumbnails.save([(OWN_IMG, photo), (NEW_IMG, photo)])
    finding = Finding(
        kind="copied_listing",
        severity=Severity.HIGH,
        shop="Mine",
        listing=mine.brief(),
        summary="copy",
        detail=parse_detail(
            "copied_listing",
            {
                "copy": {**theirs.brief(), "shop": "Rival", "seller": None},
                "title_similarity": 0.93,
                "image_distance": 2,
                "stolen_photo": True,
            },
        ),
        dedup_key="copied_listing:Mine:1:Rival:9",
        detected_at=datetime.now(UTC),
    )
    ((alert_id, _),) = store.outbox.add_findings([finding], {})
    return alert_id


def test_the_evidence_shows_the_photo_as_it_was_and_says_when_currencies_differ(
    db_url: str,
) -> None:
    store = Store(db_url)
    try:
        alert_id = _copy_alert(store, "USD")
        # later the seller changes the photo: the evidence keeps the one that was copied
        own = store.registry.ensure_shop("Mine", "shopify", "own", "https://mine.example/")
        assert own.id
        changed = Listing(
            "1",
            "https://mine.example/p/1",
            "Linen Dress 亚麻连衣裙",
            100.0,
            "CNY",
            images=[NEW_IMG],
        )
        store.catalog.apply(own.id, [changed], complete=None, source="top", own_top=True)
        e = queries.evidence(store, _config(), alert_id)
        assert e is not None
        assert e.own.thumb == url_key(OWN_IMG) != url_key(NEW_IMG)
        assert e.copy.thumb is None  # never hashed, so never kept: no hotlinking either
        assert (e.same_currency, e.cheaper_by) == (False, None)
        assert [t for t, changed in e.copy.title_runs if changed] == ["【包邮】"]
        assert e.own.first_seen is not None and e.copy.first_seen is not None
        assert queries.evidence(store, _config(), alert_id + 1) is None
        groups = queries.copies(store)
        assert [(g.shop, len(g.copies), g.thumb) for g in groups] == [("Mine", 1, url_key(NEW_IMG))]
    finally:
        store.close()


def test_the_evidence_compares_prices_in_one_currency(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/w.db")
    try:
        e = queries.evidence(store, _config(), _copy_alert(store, "CNY"))
        assert e is not None and e.same_currency and e.cheaper_by == 80.0
    finally:
        store.close()


def test_launches_list_the_competitors_that_have_not_started(db_url: str) -> None:
    store = Store(db_url)
    now = datetime.now(UTC)
    try:
        finding = Finding(
            kind="seasonal_launch",
            severity=Severity.MEDIUM,
            shop="Rival",
            listing=None,
            summary="Rival started spring 2027",
            detail=parse_detail(
                "seasonal_launch",
                {
                    "season": "spring",
                    "year": 2027,
                    "items": [
                        {
                            "url": "u1",
                            "title": "Spring coat",
                            "price": 99,
                            "currency": "CNY",
                            "date": (now - timedelta(days=3)).date().isoformat(),
                        },
                        {
                            "url": "u2",
                            "title": "Spring dress",
                            "price": 89,
                            "currency": "CNY",
                            "date": now.date().isoformat(),
                        },
                    ],
                    "competitors_launched": 1,
                    "competitors_tracked": 2,
                    "launched": [
                        {
                            "name": "Rival",
                            "first_date": (now - timedelta(days=3)).date().isoformat(),
                        }
                    ],
                },
            ),
            dedup_key="seasonal_launch:Rival:spring:2027",
            detected_at=now,
        )
        store.outbox.add_findings([finding], {})
        (season,) = queries.launches(store, _config())
        assert (season.season, season.year, season.started, season.tracked) == (
            "spring",
            2027,
            1,
            2,
        )
        first, second = season.competitors
        assert first.shop == "Rival" and first.started is not None
        assert [i.title for i in first.items] == ["Spring coat", "Spring dress"]
        assert (second.shop, second.started, second.items) == ("Quiet", None, [])
    finally:
        store.close()


def test_reviews_flagged_by_the_detector_are_marked(db_url: str) -> None:
    store = Store(db_url)
    try:
        own = store.registry.ensure_shop("Mine", "shopify", "own", "https://mine.example/")
        assert own.id
        mine = Listing("1", "https://mine.example/p/1", "Linen Dress", 100.0, "CNY")
        changes = store.catalog.apply(own.id, [mine], complete=None, source="top", own_top=True)
        lid = changes.new[0][0]
        from watcher.models import Review

        store.reviews.apply(lid, [Review(id="1", rating=5, text="old")])  # the baseline
        store.reviews.apply(
            lid,
            [
                Review(id="2", rating=5, text="五星是给快递的，衣服起球严重"),
                Review(id="3", rating=3, text="一般"),
                Review(id="4", rating=5, text="很好"),
            ],
        )
        finding = Finding(
            kind="negative_review",
            severity=Severity.MEDIUM,
            shop="Mine",
            listing=mine.brief(),
            summary="complaint",
            detail=parse_detail("negative_review", {"rating": 5, "reason": "text"}),
            dedup_key="negative_review:Mine:1:id:2",
            detected_at=datetime.now(UTC),
        )
        store.outbox.add_findings([finding], {})
        page = queries.listing_page(store, _config(), lid, days=0, page=1, now=datetime.now(UTC))
        assert page is not None
        marks = {line.review.key: line.negative for line in page.reviews}
        assert marks == {"id:1": None, "id:2": "text", "id:3": "mixed", "id:4": None}
        assert store.history.listing(lid) is not None
    finally:
        store.close()


def test_a_check_does_not_load_the_web_stack() -> None:
    code = (
        "import sys, watcher.cli, watcher.runner, watcher.app\n"
        "from watcher.cli.commands import commands\n"
        "assert 'serve' in commands()  # every command module imported\n"
        "heavy = [m for m in ('starlette', 'jinja2', 'uvicorn', 'babel', 'watcher.web.app')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
