"""Perceptual hashes of the image URLs detectors ask for: known ones from the store,
the others fetched and hashed (:func:`watcher.images.fetch_hashes`: the image lane of the
HTTP client, its time budget, decoding off the event loop) and remembered, with why an
image has none (tried again after a while)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import timedelta

from loguru import logger

from watcher.errors import StorageError
from watcher.http import Http
from watcher.store.db import utcnow
from watcher.store.images import ImageStore
from watcher.store.thumbnails import ThumbnailStore
from watcher.thumbnail import Thumbnail

IMAGE_RETRY = timedelta(hours=1)
"""An image that could not be hashed is tried again after this long."""


class ImageHashes:
    """Hashes of image URLs: from the store when known, fetched and hashed otherwise.
    With ``thumbnails``, each photo hashed here also leaves its small copy there (the
    dashboard's evidence of a stolen photo)."""

    def __init__(
        self, store: ImageStore, http: Http, thumbnails: ThumbnailStore | None = None
    ) -> None:
        self.store = store
        self.http = http
        self.thumbnails = thumbnails

    async def hashes(
        self, urls: Iterable[str], *, allow_private: Collection[str] = ()
    ) -> dict[str, str]:
        """url -> hex perceptual hash of every URL that has one (unknown ones are left
        out). ``allow_private``: URLs from shops with ``allow_private = true``."""
        from watcher.images import fetch_hashes

        wanted = set(urls)
        known = self.store.hashes(wanted)
        out = {u: r.hash for u, r in known.items() if r.hash}
        now = utcnow()
        todo = [
            u
            for u in wanted
            if u not in known or (not known[u].hash and now - known[u].fetched_at > IMAGE_RETRY)
        ]
        kept: dict[str, Thumbnail] | None = {} if self.thumbnails is not None else None
        fetched = await fetch_hashes(self.http, todo, allow_private=allow_private, thumbnails=kept)
        out.update({u: h for u, h in fetched.items() if h})
        try:
            self.store.save([(u, h, None if h else "not an image") for u, h in fetched.items()])
            if self.thumbnails is not None and kept:
                self.thumbnails.save(list(kept.items()))
        except StorageError as e:
            logger.warning("could not remember {} image hash(es): {}", len(fetched), e)
        return out
