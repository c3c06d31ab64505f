"""Thumbnails of hashed photos (the ``thumbnail`` table): written when a check hashes a
photo (:mod:`watcher.imaging`), read by the dashboard. Keyed like the image hashes
(:func:`watcher.store.images.url_key` of the image URL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, select
from sqlmodel import col

from watcher.store.db import chunks, upsert, utcnow
from watcher.store.guard import guarded
from watcher.store.images import url_key
from watcher.store.tables import ThumbnailRow
from watcher.thumbnail import Thumbnail

__all__ = ["ThumbnailStore"]


class ThumbnailStore:
    """The ``thumbnail`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def save(self, items: Sequence[tuple[str, Thumbnail]]) -> None:
        """Keep (image URL, thumbnail) pairs, replacing older ones of the same URL."""
        if not items:
            return
        now = utcnow()
        with self.engine.begin() as c:
            for url, t in items:
                values = {
                    "url_key": url_key(url),
                    "content_type": t.content_type,
                    "data": t.data,
                    "width": t.width,
                    "height": t.height,
                    "created_at": now,
                }
                c.execute(upsert(c.dialect.name, ThumbnailRow, values, ["url_key"]))

    @guarded
    def get(self, key: str) -> Thumbnail | None:
        """The thumbnail stored under ``key``, or None."""
        q = select(
            col(ThumbnailRow.content_type),
            col(ThumbnailRow.data),
            col(ThumbnailRow.width),
            col(ThumbnailRow.height),
        ).where(col(ThumbnailRow.url_key) == key)
        with self.engine.connect() as c:
            row = c.execute(q).first()
        if row is None:
            return None
        return Thumbnail(row.content_type, bytes(row.data), row.width, row.height)

    @guarded
    def keys_for(self, urls: Iterable[str]) -> dict[str, str]:
        """Image URL -> thumbnail key, for the URLs that have a stored thumbnail."""
        wanted = {url_key(u): u for u in urls if u}
        out: dict[str, str] = {}
        with self.engine.connect() as c:
            for chunk in chunks(list(wanted)):
                q = select(col(ThumbnailRow.url_key)).where(col(ThumbnailRow.url_key).in_(chunk))
                for (key,) in c.execute(q):
                    out[wanted[key]] = key
        return out
