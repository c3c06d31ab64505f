"""Perceptual hashes of image URLs (or why an image has none), kept so a photo is fetched
and hashed once, not on every check."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, select
from sqlmodel import col

from watcher.store.db import chunks, from_db, upsert, utcnow
from watcher.store.guard import guarded
from watcher.store.tables import ImageRow


class StoredImage(NamedTuple):
    """What the store knows of one image URL."""

    url: str
    hash: str | None
    error: str | None
    fetched_at: datetime


def url_key(url: str) -> str:
    """The primary key of an image URL."""
    return hashlib.sha1(url.encode()).hexdigest()


class ImageStore:
    """The ``image`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @guarded
    def hashes(self, urls: Iterable[str]) -> dict[str, StoredImage]:
        """Known images by URL."""
        keys = list({url_key(u) for u in urls})
        out: dict[str, StoredImage] = {}
        q = select(
            col(ImageRow.url), col(ImageRow.hash), col(ImageRow.error), col(ImageRow.fetched_at)
        )
        with self.engine.connect() as c:
            for chunk in chunks(keys):
                for url, hash_, error, fetched in c.execute(
                    q.where(col(ImageRow.url_key).in_(chunk))
                ):
                    when = from_db(fetched)
                    assert when is not None
                    out[url] = StoredImage(url, hash_, error, when)
        return out

    @guarded
    def save(self, items: Sequence[tuple[str, str | None, str | None]]) -> None:
        """Remember images' hashes (or why they have none): (url, hash, error) each."""
        now = utcnow()
        with self.engine.begin() as c:
            for url, hash_, error in items:
                values = {
                    "url_key": url_key(url),
                    "url": url,
                    "hash": hash_,
                    "error": error,
                    "fetched_at": now,
                }
                c.execute(upsert(c.dialect.name, ImageRow, values, ["url_key"]))
