"""Storage on SQLite and PostgreSQL: diffs, removal rules, reviews, dedup, outbox claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.findings import stored
from watcher.models import Finding, Listing, Review, Severity
from watcher.store import Store
from watcher.store.db import SCHEMA_VERSION, current_version, make_engine, migrate


def _listing(
    ref: str, price: float = 10.0, title: str | None = None, available: bool = True
) -> Listing:
    return Listing(
        ref=ref,
        url=f"https://s.example/p/{ref}",
        title=title or f"Item {ref}",
        price=price,
        currency="CNY",
        available=available,
        images=[f"https://s.example/{ref}.jpg"],
    )


def _finding(key: str) -> Finding:
    return stored(
        "price_change", Severity.LOW, "S", None, f"summary {key}", {}, key, datetime.now(UTC)
    )


def test_diff_new_changed_removed(db_url: str) -> None:
    store = Store(db_url)
    shop = store.registry.ensure_shop("S", "shopify", "competitor", "https://s.example")
    first = store.catalog.apply(shop.id, [_listing(str(i)) for i in range(20)], complete=True)
    assert len(first.new) == 20 and not first.changed
    snaps = store.counts()["snapshot"]
    same = store.catalog.apply(shop.id, [_listing(str(i)) for i in range(20)], complete=True)
    assert not same.new and not same.changed and not same.removed
    assert store.counts()["snapshot"] == snaps, "an unchanged pass writes no snapshot"
    items = [_listing(str(i)) for i in range(19)]
    items[0] = _listing("0", price=8.0)
    changed = store.catalog.apply(shop.id, items, complete=True)
    assert [c.listing.ref for c in changed.changed] == ["0"]
    assert changed.changed[0].old["price"] == 10.0 and changed.changed[0].new["price"] == 8.0
    assert len(changed.removed) == 1
    assert store.counts()["snapshot"] == snaps + 1


def test_partial_or_empty_catalog_never_removes(db_url: str) -> None:
    store = Store(db_url)
    shop = store.registry.ensure_shop("S", "woocommerce", "competitor", "https://s.example")
    store.catalog.apply(shop.id, [_listing(str(i)) for i in range(30)], complete=True)
    partial = store.catalog.apply(shop.id, [_listing("1")], complete=False)
    assert not partial.removed
    empty = store.catalog.apply(shop.id, [], complete=True)
    assert not empty.removed, "a catalog that lost everything at once is not trusted"
    assert len(store.listings(shop.id)) == 30
    back = store.catalog.apply(shop.id, [_listing(str(i)) for i in range(30)], complete=True)
    assert not back.new, "recovering never raises false 'new' listings"


def test_reviews_baseline_new_and_edited(db_url: str) -> None:
    store = Store(db_url)
    shop = store.registry.ensure_shop("Mine", "shopify", "own", "https://m.example")
    ch = store.catalog.apply(shop.id, [_listing("a")], complete=None, own_top=True)
    lid = ch.new[0][0]
    when = datetime(2026, 11, 1, tzinfo=UTC)
    base = [
        Review(id="1", rating=5, text="good"),
        Review(author="Ann", published_at=when, rating=4, text="ok"),
    ]
    assert store.reviews.apply(lid, base) == []
    edited = [
        Review(id="1", rating=5, text="good, edited"),
        Review(author="Ann", published_at=when, rating=4, text="ok!!"),
    ]
    assert store.reviews.apply(lid, edited) == []
    fresh = store.reviews.apply(lid, [*edited, Review(id="2", rating=1, text="bad")])
    assert [r.id for r in fresh] == ["2"]
    assert store.reviews.apply(lid, [*edited, Review(id="2", rating=1, text="bad")]) == []


def test_findings_dedup_and_outbox_claims(db_url: str) -> None:
    store = Store(db_url)
    accept_all = {"hook": lambda f: True, "mail": lambda f: f.severity == Severity.HIGH}
    added = store.outbox.add_findings([_finding("k1"), _finding("k2")], accept_all)
    assert [f.dedup_key for _, f in added] == ["k1", "k2"]
    assert store.outbox.add_findings([_finding("k1")], accept_all) == []
    other = Store(db_url)  # a second process sharing the database
    assert (
        other.outbox.add_findings([_finding("k2"), _finding("k3")], accept_all)[0][1].dedup_key
        == "k3"
    )
    claimed = store.outbox.claim_due("hook", timedelta(minutes=5))
    assert [f.dedup_key for _, f in claimed] == ["k1", "k2", "k3"]
    assert other.outbox.claim_due("hook", timedelta(minutes=5)) == [], (
        "a claimed delivery is not sent twice"
    )
    assert store.outbox.claim_due("mail", timedelta(minutes=5)) == []
    store.outbox.mark_failed(
        [d for d, _ in claimed],
        "HTTP 500",
        retry_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    again = other.outbox.claim_due("hook", timedelta(minutes=5))
    assert len(again) == 3
    other.outbox.mark_sent([d for d, _ in again])
    assert store.outbox.claim_due("hook", timedelta(minutes=5)) == []
    states = {d.state for _, ds in store.alerts() for d in ds}
    assert states == {"sent"}


def test_migrations_upgrade_an_old_database(db_url: str) -> None:
    engine = make_engine(db_url)
    assert migrate(engine) == SCHEMA_VERSION
    with engine.begin() as c:  # pretend the database was made by release 1
        c.execute(text("DROP INDEX ix_alert_created_at"))
        c.execute(text("DROP INDEX ix_snapshot_pending"))
        c.execute(text("DROP INDEX ix_review_pending"))
        for table, column in (
            ("snapshot", "prev_id"),
            ("snapshot", "previous"),
            ("snapshot", "pending"),
            ("review", "pending"),
        ):
            c.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        c.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()
    store = Store(db_url)
    with store.engine.connect() as c:
        assert current_version(c) == SCHEMA_VERSION
    from sqlalchemy import inspect

    assert "ix_alert_created_at" in {i["name"] for i in inspect(store.engine).get_indexes("alert")}
    assert {"prev_id", "previous", "pending"} <= {
        c["name"] for c in inspect(store.engine).get_columns("snapshot")
    }
