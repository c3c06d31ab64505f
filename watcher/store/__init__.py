"""Storage: tables, engine and migrations, and the operations on them."""

from watcher.store.repo import Change, ListingChanges, PendingEvents, Store

__all__ = ["Change", "ListingChanges", "PendingEvents", "Store"]
