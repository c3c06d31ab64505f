"""Storage: tables, engine and migrations, and the parts of the store, one per job
(see :mod:`watcher.store.repo`)."""

from watcher.store.reads import DetectReads
from watcher.store.records import Change, Listed, ListingChanges, PendingEvents
from watcher.store.repo import Store

__all__ = ["Change", "DetectReads", "Listed", "ListingChanges", "PendingEvents", "Store"]
