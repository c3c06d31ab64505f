"""What an alert shows beyond its finding, read from the store when it is delivered: the
alert's page on the dashboard (with ``[serve] public_url``) and, for a copy, both photos
as they were when the copy was found, with the thumbnails kept when they were compared.

Pages: ``/copies/<alert id>`` for a copy, ``/listings/<id>`` for a finding about a stored
listing, ``/alerts?kind=…&shop=…`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from watcher.models import Evidence, Finding, FindingKind, Photo
from watcher.readable import safe_url
from watcher.store import Store
from watcher.store.images import url_key

__all__ = ["EvidenceReads"]


class EvidenceReads:
    """Gathers the :class:`~watcher.models.Evidence` of findings about to be sent."""

    def __init__(self, store: Store, public_url: str = "") -> None:
        self.store = store
        self.base = public_url.rstrip("/")

    def gather(self, findings: Sequence[Finding]) -> dict[str, Evidence]:
        """Evidence by ``dedup_key`` (only for the findings that have some)."""
        history = self.store.history
        ids = history.alert_ids([f.dedup_key for f in findings]) if self.base else {}
        pairs = [
            (f.shop, url)
            for f in findings
            if f.kind != FindingKind.COPIED_LISTING and isinstance(url := _url(f.listing), str)
        ]
        listing_ids = history.listing_ids(pairs) if self.base and pairs else {}
        out: dict[str, Evidence] = {}
        for f in findings:
            own = theirs = None
            if f.kind == FindingKind.COPIED_LISTING:
                own, theirs = self._photos(f)
            page = self._page(f, ids.get(f.dedup_key), listing_ids)
            if page or own or theirs:
                out[f.dedup_key] = Evidence(page, own, theirs)
        return out

    def _page(
        self, f: Finding, alert_id: int | None, listing_ids: dict[tuple[str, str], int]
    ) -> str | None:
        if not self.base:
            return None
        if f.kind == FindingKind.COPIED_LISTING and alert_id is not None:
            return safe_url(f"{self.base}/copies/{alert_id}")
        url = _url(f.listing)
        listing_id = listing_ids.get((f.shop, url)) if url else None
        if listing_id is not None:
            return safe_url(f"{self.base}/listings/{listing_id}")
        return safe_url(f"{self.base}/alerts?{urlencode({'kind': str(f.kind), 'shop': f.shop})}")

    def _photos(self, f: Finding) -> tuple[Photo | None, Photo | None]:
        copy = f.detail.to_json().get("copy")
        copy = copy if isinstance(copy, dict) else {}
        own = self._photo(f.shop, _url(f.listing), f)
        theirs = self._photo(copy.get("shop"), copy.get("url"), f)
        return own, theirs

    def _photo(self, shop: object, url: object, f: Finding) -> Photo | None:
        """The listing's main photo when the finding was made, and its thumbnail."""
        if not isinstance(shop, str) or not isinstance(url, str):
            return None
        history = self.store.history
        rec = history.find_listing(shop, url)
        if rec is None:
            return None
        state = history.state_at(rec.id, f.detected_at)
        image = state.image if state is not None else rec.image
        if not image:
            return None
        thumb = self.store.thumbnails.get(url_key(image))
        return Photo(safe_url(image), thumb)


def _url(listing: object) -> str | None:
    url = listing.get("url") if isinstance(listing, dict) else None
    return url if isinstance(url, str) else None
