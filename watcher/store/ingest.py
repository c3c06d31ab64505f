"""Fetched listings and reviews made fit to store, in one place every source's records
pass through on their way into the database (:class:`~watcher.store.listings.ListingStore`
and :class:`~watcher.store.reviews.ReviewStore` call it; so can anything else).

Every fetched field is hostile or broken somewhere: a NUL byte (PostgreSQL refuses it),
a lone surrogate from a JSON ``\\ud800`` escape (no database encodes it), a currency code
of twelve letters, a product id of a thousand characters, a date in the year 9999 or 1.
What can be cleaned is cleaned; what cannot is dropped (a field) or skipped (a listing
without an identity), so one bad record never fails a shop.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from loguru import logger

from watcher.dates import in_range
from watcher.models import Listing, Review

FUTURE = timedelta(days=2)
"""How far ahead of now a date may be (time zones, clocks a little fast)."""

REF_CHARS = 512
"""The longest ref stored as it is (the ``listing.ref`` column); longer ones are hashed."""
REVIEW_ID_CHARS = 200
TITLE_CHARS = 1000
URL_CHARS = 4096
TEXT_CHARS = 200
TAG_CHARS = 100
TAGS = 50
IMAGES = 20
DESCRIPTION_CHARS = 5000
REVIEW_CHARS = 10_000
MAX_COUNT = 2**31 - 1
"""``rating_count`` is an INTEGER column."""

TRACKING_PARAMS = frozenset(
    {
        # Shopify search and recommendation links
        "_pos", "_sid", "_ss", "_psq", "_fid", "_v",
        # Amazon
        "qid", "sr", "ref", "ref_", "pf_rd_p", "pf_rd_r", "pd_rd_w", "pd_rd_wg", "pd_rd_r",
        "pd_rd_i", "psc", "crid", "sprefix", "th",
        # Taobao, Tmall, AliExpress, 1688
        "spm", "scm", "pvid", "abbucket", "ns", "ali_refid", "ali_trackid", "algo_pvid",
        "algo_expid", "btsid", "ws_ab_test", "aff_fcid", "aff_fsk", "aff_platform",
        "aff_trace_key", "terminal_id", "gatewayadapt", "_randl_shipto", "sk",
        # JD, Pinduoduo, Xiaohongshu, Bilibili, Douyin
        "pps", "refer_page_name", "refer_page_id", "refer_page_sn", "xsec_token",
        "xsec_source", "share_from_user_hidden", "spm_id_from", "share_token",
        # ad and analytics click ids
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "gad_source", "msclkid",
        "yclid", "ttclid", "twclid", "li_fat_id", "igshid", "igsh", "srsltid", "mc_cid",
        "mc_eid", "_ga", "_gl", "mkt_tok", "s_cid", "icid", "cmpid", "trk", "trkid",
        "trackid", "track_id", "clickid", "click_id", "affiliate_id", "irclickid",
    }
)  # fmt: skip
"""Query parameters that say how a visitor came, not which listing it is (any ``utm_*``,
``hsa_*``, ``pk_*`` and ``mtm_*`` too)."""
TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")

_BAD = re.compile("[\x00\ud800-\udfff]")
_CURRENCY = re.compile("[A-Z]{3}")


def clean_str(value: object, limit: int) -> str | None:
    """A string without NUL or lone surrogates, cut to ``limit``; None for a non-string
    or an empty one."""
    if not isinstance(value, str):
        return None
    s = _BAD.sub("", value) if _BAD.search(value) else value
    return s[:limit] or None


def clean_date(value: object, now: datetime | None = None) -> datetime | None:
    """An aware UTC datetime in the sane range of :func:`watcher.dates.in_range` and no
    later than now + :data:`FUTURE`; None for anything else (naive means UTC)."""
    dt = in_range(value) if isinstance(value, datetime) else None
    if dt is None:
        return None
    utc = dt.astimezone(UTC)
    return utc if utc <= (now or datetime.now(UTC)) + FUTURE else None


def clean_ref(value: object, limit: int = REF_CHARS) -> str | None:
    """An identity string: cleaned, stripped, hashed (``sha256:<hex>``) when longer than
    ``limit``; None when nothing is left."""
    s = clean_str(value, 1 << 30)
    s = s.strip() if s else None
    if not s:
        return None
    if len(s) > limit:
        return "sha256:" + hashlib.sha256(s.encode()).hexdigest()
    return s


def _tracking(key: str) -> bool:
    k = key.lower()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES)


def identity_url(url: str, *, keep_fragment: bool = False) -> str:
    """``url`` without its fragment and tracking parameters (``?_pos=1&_sid=…``,
    ``utm_*``, ``spm``, ``fbclid``…): the same listing reached from a search, a feed or an
    ad has the same identity. Other parameters (``?id=123``) stay, in their order.
    ``keep_fragment`` keeps ``#…``: a review's id is often its page's URL plus
    ``#review-123``, and there the fragment is what tells two reviews apart."""
    if "?" not in url and "#" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme not in ("http", "https"):
        return url
    # Kept parameters stay exactly as written (no re-encoding).
    kept = [p for p in parts.query.split("&") if p and not _tracking(unquote_plus(p.split("=")[0]))]
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit(parts._replace(query="&".join(kept), fragment=fragment))


def clean_currency(value: object) -> str | None:
    """An ISO 4217-shaped code (three letters, upper case) or None."""
    if not isinstance(value, str):
        return None
    s = value.strip().upper()
    return s if _CURRENCY.fullmatch(s) else None


def clean_amount(value: object, *, high: float = math.inf) -> float | None:
    """A finite number from 0 to ``high``, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) and 0 <= f <= high else None


def clean_count(value: object) -> int | None:
    """A count that fits an INTEGER column, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def clean_review(review: Review, now: datetime | None = None) -> Review:
    """``review`` made fit to store (in place); returned for convenience."""
    review.id = clean_ref(review.id, REVIEW_ID_CHARS) if review.id is not None else None
    if review.id is not None and review.id.startswith(("https://", "http://")):
        # A structured-data ``@id`` is the page's URL, tracking parameters and all: the same
        # review read through a new link must keep its identity.
        review.id = clean_ref(identity_url(review.id, keep_fragment=True), REVIEW_ID_CHARS)
    review.rating = clean_amount(review.rating, high=5)
    review.text = clean_str(review.text, REVIEW_CHARS) or ""
    review.author = clean_str(review.author, TEXT_CHARS)
    review.published_at = clean_date(review.published_at, now)
    return review


def clean_listing(listing: Listing, now: datetime | None = None) -> Listing | None:
    """``listing`` made fit to store (in place), or None when it has no usable identity.

    Its identity (``ref``) is what the source gave (the platform's id, sku or productID,
    the canonical link) with tracking parameters removed when it is a URL."""
    ref = clean_ref(listing.ref)
    url = clean_str(listing.url, URL_CHARS)
    if ref is None or url is None:
        return None
    if ref.startswith(("https://", "http://")):
        ref = clean_ref(identity_url(ref)) or ref
    url = identity_url(url)
    listing.ref, listing.url = ref, url
    listing.title = clean_str(listing.title, TITLE_CHARS) or ""
    listing.price = clean_amount(listing.price)
    listing.compare_at = clean_amount(listing.compare_at)
    listing.currency = clean_currency(listing.currency)
    listing.available = listing.available if isinstance(listing.available, bool) else None
    images = listing.images if isinstance(listing.images, list) else []
    listing.images = [u for u in (clean_str(i, URL_CHARS) for i in images[:IMAGES]) if u]
    listing.rating = clean_amount(listing.rating, high=5)
    listing.rating_count = clean_count(listing.rating_count)
    tags = listing.tags if isinstance(listing.tags, list) else []
    listing.tags = [t for t in (clean_str(t, TAG_CHARS) for t in tags[:TAGS]) if t]
    listing.product_type = clean_str(listing.product_type, TEXT_CHARS)
    listing.description = clean_str(listing.description, DESCRIPTION_CHARS)
    listing.published_at = clean_date(listing.published_at, now)
    listing.shop = clean_str(listing.shop, TEXT_CHARS)
    if listing.reviews is not None:
        reviews = listing.reviews if isinstance(listing.reviews, list) else []
        listing.reviews = [clean_review(r, now) for r in reviews if isinstance(r, Review)]
    return listing


def clean_listings(listings: Sequence[Listing], where: object = "") -> list[Listing]:
    """The listings fit to store (cleaned in place); those without an identity are
    skipped with a warning naming ``where`` they came from."""
    now = datetime.now(UTC)
    out: list[Listing] = []
    for item in listings:
        cleaned = clean_listing(item, now) if isinstance(item, Listing) else None
        if cleaned is None:
            logger.warning("{}: skipped a listing without a usable id or URL", where)
            continue
        out.append(cleaned)
    return out
