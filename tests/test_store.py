"""Storage on SQLite and PostgreSQL: diffs, removal rules, reviews, dedup, outbox claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.findings import stored
from watcher.errors import StorageError
from watcher.models import Finding, Listing, Review, Severity
from watcher.store import Store
from watcher.store.db import SCHEMA_VERSION, current_version, make_engine, migrate
from watcher.store.guard import guarded


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


def test_hostile_fields_are_cleaned_not_refused(db_url: str) -> None:
    """PostgreSQL refuses a NUL byte, a ref over 512 characters, a currency over 8: the
    store cleans them at ingest instead of failing the shop."""
    store = Store(db_url)
    shop = store.registry.ensure_shop("S", "shopify", "competitor", "https://s.example")
    assert shop.id is not None
    odd = [
        _listing("7" * 600),
        _listing("12\x003", title="Linen\x00 dress"),
        Listing(ref="x", url="https://s.example/x", title="x", currency="CNYCNYCNYCNY"),
        Listing(
            ref="y",
            url="https://s.example/y",
            title="y",
            published_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=14))),
        ),
    ]
    changes = store.catalog.apply(shop.id, odd, complete=True)
    assert len(changes.new) == 4
    rows = {r.row.title: r.row for r in store.listings(shop.id)}
    assert rows["Linen dress"].ref == "123" and rows["x"].currency is None
    assert rows["y"].published_at is None
    assert store.catalog.apply(shop.id, odd, complete=True).new == [], "same identities again"


def test_database_errors_carry_no_sql(db_url: str) -> None:
    store = Store(db_url)

    @guarded
    def refused() -> None:
        with store.engine.begin() as c:
            c.execute(text("INSERT INTO shop (name) VALUES (:n)"), {"n": "secret-row"})

    with pytest.raises(StorageError) as err:
        refused()
    message = str(err.value)
    assert message.startswith("database error: ") and len(message) < 120
    assert "INSERT" not in message and "secret-row" not in message


def test_a_replaced_catalog_is_stored_once_seen_twice(db_url: str) -> None:
    store = Store(db_url)
    shop = store.registry.ensure_shop("S", "html", "competitor", "https://s.example")
    assert shop.id is not None
    store.catalog.apply(shop.id, [_listing(str(i)) for i in range(12)], complete=True)
    replaced = [_listing(f"n{i}") for i in range(12)]
    held = store.catalog.apply(shop.id, replaced, complete=True)
    assert held.suspect and not held.new and not held.removed
    assert store.counts()["listing"] == 12, "nothing stored from a distrusted catalog"
    other = store.catalog.apply(shop.id, [_listing(f"m{i}") for i in range(12)], complete=True)
    assert other.suspect and store.counts()["listing"] == 12
    store.catalog.apply(shop.id, replaced, complete=True)
    trusted = store.catalog.apply(shop.id, replaced, complete=True)
    assert not trusted.suspect and len(trusted.seen) == 12
    assert len(store.listings(shop.id)) == 12 and store.counts()["listing"] == 24


def test_migration_5_gives_listings_their_identity(db_url: str) -> None:
    """A database of release 4 that stored one listing under several tracking links keeps
    the oldest row under the clean identity and retires the others."""
    store = Store(db_url)
    shop = store.registry.ensure_shop("S", "html", "competitor", "https://s.example")
    assert shop.id is not None
    urls = [
        "https://s.example/item/1.html?_pos=1&_sid=a1",
        "https://s.example/item/1.html?_pos=1&_sid=b2",
        "https://s.example/item/2.html?qid=17",
        "https://s.example/item/3.html",
        "https://s.example/item/3.html?utm_source=x",
        "https://s.example/item/4.html?id=4",
    ]
    with store.engine.begin() as c:
        for i, url in enumerate(urls):
            c.execute(
                text(
                    "INSERT INTO listing (shop_id, ref, url, title, source, fingerprint,"
                    " first_seen, last_seen) VALUES (:s, :r, :u, :t, 'catalog', 'f', :n, :n)"
                ),
                {"s": shop.id, "r": url, "u": url, "t": f"t{i}", "n": datetime.now(UTC)},
            )
        c.execute(text("ALTER TABLE shop DROP COLUMN held_digest"))
        c.execute(text("UPDATE meta SET value = '4' WHERE key = 'schema_version'"))
    store.close()
    store = Store(db_url)
    active = {r.row.ref: r.row.title for r in store.listings(shop.id)}
    assert active == {
        "https://s.example/item/1.html": "t0",
        "https://s.example/item/2.html": "t2",
        "https://s.example/item/3.html": "t3",
        "https://s.example/item/4.html?id=4": "t5",
    }
    assert len(store.listings(shop.id, active=False)) == 6
    again = [Listing(ref=url, url=url, title="t0") for url in urls[:1]]
    store.catalog.apply(shop.id, again, complete=None)
    row = next(r.row for r in store.listings(shop.id) if r.row.ref == urls[0].split("?")[0])
    assert row.info_fingerprint is not None, "written on the listing's next check"
