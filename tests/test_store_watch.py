"""The own listings' watched pages on SQLite and PostgreSQL: 404/410 answers in a row, kept
across restarts, behind the ``listed`` change of ``listing_changed``."""

from __future__ import annotations

from sqlalchemy import inspect, text

from watcher.models import Listing
from watcher.store import Store
from watcher.store.db import SCHEMA_VERSION, current_version

REF = "https://my.example/products/silk-blouse"


def _own(store: Store) -> tuple[int, int]:
    shop = store.registry.ensure_shop("Mine", "shopify", "own", "https://my.example")
    item = Listing(ref="801", url=REF, title="Silk blouse", price=299.0, currency="CNY")
    changes = store.catalog.apply(shop.id or 0, [item], complete=None, own_top=True)
    return shop.id or 0, changes.seen[0][0]


def test_two_404s_in_a_row_make_a_listing_gone_until_it_is_read_again(db_url: str) -> None:
    store = Store(db_url)
    shop, lid = _own(store)
    assert store.watch.record(shop, {REF: lid}, {}) == []
    assert store.watch.record(shop, {}, {REF: 404}) == [], "one 404 can be a hiccup"
    assert store.watch.record(shop, {}, {}) == [], "an unknown answer records nothing"
    store.close()

    store = Store(db_url)  # a restart keeps the count
    (gone,) = store.watch.record(shop, {}, {REF: 410})
    assert (gone.listing_id, gone.listed, gone.status) == (lid, False, 410)
    assert gone.listing.title == "Silk blouse" and gone.listing.ref == "801"
    (again,) = store.watch.record(shop, {}, {REF: 404})
    assert again.since == gone.since, "the same takedown keeps its time (its dedup key)"

    (back,) = store.watch.record(shop, {REF: lid}, {})
    assert (back.listing_id, back.listed, back.status, back.since) == (lid, True, None, gone.since)
    assert store.watch.record(shop, {REF: lid}, {}) == [], "back is told once"
    assert store.watch.record(shop, {}, {REF: 404}) == [], "a read page reset the count"
    (later,) = store.watch.record(shop, {}, {REF: 404})
    assert later.since > gone.since, "a new takedown is a new event"


def test_a_page_never_read_with_a_product_is_no_takedown(db_url: str) -> None:
    store = Store(db_url)
    shop, _ = _own(store)
    typo = "https://my.example/products/no-such-thing"
    for _ in range(3):
        assert store.watch.record(shop, {}, {typo: 404}) == []


def test_migration_7_adds_the_watched_pages(db_url: str) -> None:
    store = Store(db_url)
    with store.engine.begin() as c:  # a database made by schema 6
        c.execute(text("DROP TABLE listing_watch"))
        c.execute(text("UPDATE meta SET value = '6' WHERE key = 'schema_version'"))
    store.close()
    store = Store(db_url)
    with store.engine.connect() as c:
        assert current_version(c) == SCHEMA_VERSION == 7
    assert inspect(store.engine).has_table("listing_watch")
    shop, lid = _own(store)
    assert store.watch.record(shop, {REF: lid}, {}) == []
