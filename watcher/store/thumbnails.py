"""Thumbnails of hashed photos: written when the runner hashes an image, read by the
dashboard. Keyed by :meth:`watcher.store.Store.url_key` of the image URL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from watcher.errors import StorageError
from watcher.store.db import utcnow
from watcher.store.tables import SQLModel
from watcher.thumbnail import Thumbnail

THUMBNAIL = SQLModel.metadata.tables["thumbnail"]
ThumbnailRow = THUMBNAIL.c

__all__ = ["Thumbnail", "get", "keys_for", "save", "url_key"]


def url_key(url: str) -> str:
    """The key of an image URL (the same as the image-hash table's)."""
    return hashlib.sha1(url.encode()).hexdigest()


def _error(e: SQLAlchemyError) -> StorageError:
    return StorageError(f"database error: {e.orig if isinstance(e, OperationalError) else e}")


def save(engine: Engine, items: Sequence[tuple[str, Thumbnail]]) -> None:
    """Store (image URL, thumbnail) pairs, replacing older ones of the same URL."""
    if not items:
        return
    now = utcnow()
    try:
        with engine.begin() as c:
            mod = postgresql if c.dialect.name == "postgresql" else sqlite
            for url, t in items:
                values = {
                    "url_key": url_key(url),
                    "content_type": t.content_type,
                    "data": t.data,
                    "width": t.width,
                    "height": t.height,
                    "created_at": now,
                }
                stmt = mod.insert(THUMBNAIL).values(**values)
                c.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["url_key"],
                        set_={k: v for k, v in values.items() if k != "url_key"},
                    )
                )
    except SQLAlchemyError as e:
        raise _error(e) from None


def get(engine: Engine, key: str) -> Thumbnail | None:
    """The thumbnail stored under ``key``, or None."""
    try:
        with engine.connect() as c:
            row = c.execute(
                select(
                    ThumbnailRow.content_type,
                    ThumbnailRow.data,
                    ThumbnailRow.width,
                    ThumbnailRow.height,
                ).where(ThumbnailRow.url_key == key)
            ).first()
    except SQLAlchemyError as e:
        raise _error(e) from None
    if row is None:
        return None
    return Thumbnail(row.content_type, bytes(row.data), row.width, row.height)


def keys_for(engine: Engine, urls: Iterable[str]) -> dict[str, str]:
    """Image URL -> thumbnail key, for the URLs that have a stored thumbnail."""
    wanted = {url_key(u): u for u in urls if u}
    if not wanted:
        return {}
    out: dict[str, str] = {}
    keys = list(wanted)
    try:
        with engine.connect() as c:
            for i in range(0, len(keys), 500):
                for (key,) in c.execute(
                    select(ThumbnailRow.url_key).where(ThumbnailRow.url_key.in_(keys[i : i + 500]))
                ):
                    out[wanted[key]] = key
    except SQLAlchemyError as e:
        raise _error(e) from None
    return out
