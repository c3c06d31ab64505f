"""The pure diff of stored listings against fetched ones (no database)."""

from __future__ import annotations

from watcher.models import Listing
from watcher.store.diff import (
    INFO_HASHED,
    StoredListing,
    diff_listings,
    fingerprint,
    info_fingerprint,
    listing_values,
    refs_digest,
)


def _listing(ref: str, price: float = 10.0, **kw: object) -> Listing:
    return Listing(
        ref=ref, url=f"https://s.example/p/{ref}", title=f"Item {ref}", price=price, **kw
    )  # type: ignore[arg-type]


def _stored(
    listing: Listing, lid: int, *, removed: bool = False, source: str = "catalog"
) -> StoredListing:
    values = listing_values(listing)
    return StoredListing(
        lid,
        listing.ref,
        fingerprint(values),
        info_fingerprint(values),
        None,
        removed,
        False,
        source,
        None,
    )


def _catalog(n: int, start: int = 0) -> list[Listing]:
    return [_listing(str(i)) for i in range(start, start + n)]


def test_new_changed_unchanged_removed() -> None:
    stored = [_stored(x, i) for i, x in enumerate(_catalog(20), 1)]
    fetched = [_listing("0", price=8.0), *_catalog(18, start=1), _listing("new")]
    diff = diff_listings(stored, fetched, complete=True)
    assert [n.listing.ref for n in diff.new] == ["new"]
    assert [s.listing.ref for s in diff.changed] == ["0"]
    assert diff.changed[0].columns["price"] == 8.0 and "fingerprint" in diff.changed[0].columns
    assert len(diff.unchanged) == 18 and not any(s.columns for s in diff.unchanged)
    assert diff.removed == [20] and not diff.suspect


def test_repeated_refs_first_wins_and_info_fields_update_without_a_change() -> None:
    stored = [_stored(_listing("a"), 1)]
    fetched = [_listing("a", rating=4.5), _listing("a", price=1.0)]
    diff = diff_listings(stored, fetched, complete=None)
    assert len(diff.seen) == 1 and not diff.changed
    columns = diff.seen[0].columns
    assert set(columns) == {*INFO_HASHED, "info_fingerprint"} and columns["rating"] == 4.5
    again = diff_listings([_stored(fetched[0], 1)], fetched, complete=None)
    assert again.seen[0].columns == {}, "nothing to write when nothing changed"


def test_partial_and_single_pages_never_remove() -> None:
    stored = [_stored(x, i) for i, x in enumerate(_catalog(30), 1)]
    for complete in (False, None):
        assert diff_listings(stored, _catalog(1), complete=complete).removed == []


def test_a_catalog_that_lost_most_listings_is_suspect() -> None:
    stored = [_stored(x, i) for i, x in enumerate(_catalog(30), 1)]
    empty = diff_listings(stored, [], complete=True)
    assert empty.suspect and not empty.removed
    few = diff_listings(stored, _catalog(10), complete=True)
    assert few.suspect.startswith("catalog shrank from 30 to 10") and not few.removed
    some = diff_listings(stored, _catalog(24), complete=True)
    assert not some.suspect and len(some.removed) == 6


def test_a_replaced_catalog_is_held_back_until_seen_twice() -> None:
    """Links whose identity changes on every visit must not store a new catalog each
    check; a shop that really replaced its catalog shows the same one twice."""
    stored = [_stored(x, i) for i, x in enumerate(_catalog(12), 1)]
    replaced = _catalog(12, start=100)
    first = diff_listings(stored, replaced, complete=True)
    assert first.suspect and first.new == [] and len(first.held_back) == 12
    assert first.removed == [] and first.digest == refs_digest(x.ref for x in replaced)
    other = diff_listings(stored, _catalog(12, start=200), complete=True, held_before=first.digest)
    assert other.suspect and other.new == [], "a different set is held back again"
    again = diff_listings(stored, replaced, complete=True, held_before=first.digest)
    assert not again.suspect and len(again.new) == 12 and len(again.removed) == 12


def test_search_results_keep_their_seller() -> None:
    found = _listing("x", shop="某某服饰旗舰店")
    diff = diff_listings([], [found], complete=None, source="search")
    assert diff.new[0].values["seller"] == "某某服饰旗舰店"
    catalog = diff_listings([], [found], complete=True)
    assert catalog.new[0].values["seller"] is None
    stored = _stored(found, 1)
    stored.seller = "某某服饰旗舰店"
    assert diff_listings([stored], [found], complete=True).seen[0].columns == {}, (
        "a catalog (no seller) never erases the seller a search found"
    )
