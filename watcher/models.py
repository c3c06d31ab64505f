"""Plain typed records passed between the stages: fetch -> parse -> store -> detect -> notify."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Self, assert_never

from watcher.i18n import ENGLISH, Audience
from watcher.readable import Line, Span, clean, line, listing_link
from watcher.thumbnail import Thumbnail


class Severity(StrEnum):
    """How urgently a person should look at a finding."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        """Ordering helper: high sorts first."""
        match self:
            case Severity.HIGH:
                return 3
            case Severity.MEDIUM:
                return 2
            case Severity.LOW:
                return 1
            case _:
                assert_never(self)


class FindingKind(StrEnum):
    """The finding kinds (contract: design.md). Each one is defined by one module of
    :mod:`watcher.detectors` (its :class:`KindDetail` and its detector); a test checks
    that every member has exactly one."""

    COPIED_LISTING = "copied_listing"
    NEGATIVE_REVIEW = "negative_review"
    SEASONAL_LAUNCH = "seasonal_launch"
    PRICE_CHANGE = "price_change"
    STOCK_CHANGE = "stock_change"
    LISTING_CHANGED = "listing_changed"
    SHOP_UNREACHABLE = "shop_unreachable"
    PRICE_POSITION = "price_position"


@dataclass(slots=True)
class Review:
    """One review of a listing. ``rating`` is on a 5-star scale (None when it has none)."""

    id: str | None = None
    rating: float | None = None
    text: str = ""
    author: str | None = None
    published_at: datetime | None = None
    stored_key: str | None = None
    """The key it was stored under, when read back from the database."""

    @property
    def key(self) -> str:
        """Stable identity: the source's id, else author+date, else the text.

        Edited text keeps the same key when an id or author/date exist, so an edit is
        never a new review.
        """
        if self.stored_key:
            return self.stored_key
        if self.id:
            return f"id:{self.id}"
        if self.author or self.published_at:
            date = self.published_at.date().isoformat() if self.published_at else ""
            return f"ad:{(self.author or '').strip().lower()}|{date}"
        digest = hashlib.sha1(" ".join(self.text.split()).encode()).hexdigest()[:16]
        return f"tx:{digest}"


@dataclass(slots=True)
class Listing:
    """A normalised product listing, whatever the source kind.

    ``ref`` is the listing's stable id inside its shop (product id, or URL). ``available``
    and ``price`` are None when the source did not say. ``reviews`` is None when reviews
    were not fetched (as opposed to an empty list: fetched, none there).
    """

    ref: str
    url: str
    title: str
    price: float | None = None
    currency: str | None = None
    compare_at: float | None = None
    available: bool | None = None
    images: list[str] = field(default_factory=list)
    rating: float | None = None
    rating_count: int | None = None
    reviews: list[Review] | None = None
    tags: list[str] = field(default_factory=list)
    product_type: str | None = None
    description: str | None = None
    published_at: datetime | None = None
    shop: str | None = None

    @property
    def image(self) -> str | None:
        """The main image URL."""
        return self.images[0] if self.images else None

    def brief(self) -> dict[str, Any]:
        """The listing as it appears in a finding: url, title, price, currency."""
        return {
            "url": self.url,
            "title": self.title,
            "price": self.price,
            "currency": self.currency,
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        if self.reviews is not None:
            data["reviews"] = [
                {
                    **asdict(r),
                    "published_at": r.published_at.isoformat() if r.published_at else None,
                }
                for r in self.reviews
            ]
        return data


@dataclass(slots=True)
class Catalog:
    """All listings of a shop as far as one fetch got. ``complete`` False means partial:
    a listing missing from a partial catalog is unknown, never removed."""

    listings: list[Listing]
    complete: bool
    note: str = ""


# -- finding details -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KindNames:
    """How a finding kind is named in alerts."""

    label: str
    """A heading: ``"Copied listing"``."""
    one: str
    """A count of one: ``"copied listing"``."""
    many: str
    """A count of several: ``"copied listings"``."""
    order: int = 99
    """Place among findings of the same severity (lower first)."""


class Detail(ABC):
    """The ``detail`` of a finding: the kind's own facts, as JSON and as readable lines."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The contract JSON of the detail."""

    @abstractmethod
    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """How the finding reads for audience ``a`` (its words, its time zone): a heading
        line and detail lines."""


_KINDS: dict[str, type[KindDetail]] = {}


class KindDetail(Detail):
    """A finding kind's typed detail: a frozen dataclass defined in the kind's module
    under :mod:`watcher.detectors`, next to the detector that raises it.

    Subclasses set ``kind`` and ``names``, give their fields in contract JSON order
    (:meth:`to_json` writes them as they are; override it when the JSON differs), read
    stored JSON leniently in :meth:`from_json` (a stored alert must never fail to load),
    and say how severe a finding with this detail is. Defining the class registers it.
    """

    kind: ClassVar[FindingKind]
    names: ClassVar[KindNames]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return
        known = _KINDS.get(kind)
        # ``@dataclass(slots=True)`` makes a second class of the same name: it replaces
        # the first. Any other class claiming a registered kind is a mistake.
        same = known is not None and (known.__module__, known.__qualname__) == (
            cls.__module__,
            cls.__qualname__,
        )
        if known is not None and not same:
            raise TypeError(f"finding kind {kind!r} is defined twice: {known} and {cls}")
        _KINDS[kind] = cls

    def to_json(self) -> dict[str, Any]:
        """The contract JSON: the dataclass fields in order, nested ones as objects."""
        data: dict[str, Any] = _plain(self)
        return data

    @classmethod
    @abstractmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The detail from its JSON; wrong or missing values become None/empty."""

    @abstractmethod
    def severity(self) -> Severity:
        """How urgent a finding with this detail is."""

    @classmethod
    def digest_facts(cls, details: Sequence[Self], a: Audience) -> list[str]:
        """What a digest says about many findings of this kind in one shop, beside their
        count (``["median −15 %", "3 down"]``); none by default."""
        return []


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


def kind_detail(kind: str) -> type[KindDetail] | None:
    """The detail class of ``kind`` (None for a kind this version does not define, or
    before :mod:`watcher.detectors` has been imported)."""
    return _KINDS.get(kind)


def kind_names(kind: str) -> KindNames:
    """The names of ``kind``; a kind this version does not define is named after itself."""
    cls = _KINDS.get(kind)
    if cls is not None:
        return cls.names
    words = clean(kind).replace("_", " ")
    return KindNames(words.capitalize(), words, words + "s")


@dataclass(frozen=True, slots=True)
class RawDetail(Detail):
    """The detail of a stored finding whose kind has no :class:`KindDetail` here (an
    alert written by another version): kept as the JSON it was, shown key by key."""

    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The JSON it was read from, unchanged."""
        return dict(self.data)

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """The listing (or the summary) as heading, then one line per key."""
        heading = (
            line(listing_link(finding.listing, bold=True))
            if finding.listing
            else line(Span(clean(finding.summary), bold=True))
        )
        return heading, [line(f"{clean(k)}: {clean(v)}") for k, v in self.data.items()]


def parse_detail(kind: str, data: object) -> Detail:
    """The typed detail of ``kind`` from stored JSON (a :class:`RawDetail` when the kind
    is not defined here)."""
    obj = data if isinstance(data, Mapping) else {}
    cls = _KINDS.get(kind)
    return cls.from_json(obj) if cls is not None else RawDetail(dict(obj))


def typed(finding: Finding) -> Detail:
    """``finding.detail``, parsed into its kind's class if it was read before that kind
    was registered."""
    detail = finding.detail
    if isinstance(detail, RawDetail) and kind_detail(finding.kind) is not None:
        return parse_detail(finding.kind, detail.data)
    return detail


# Lenient readers of stored JSON values, for ``from_json``: a value of the wrong type
# reads as missing. Numbers keep their JSON type (an int stays an int), so a detail read
# back writes the same JSON.


def json_obj(value: object) -> Mapping[str, Any]:
    """An object, else empty."""
    return value if isinstance(value, Mapping) else {}


def json_list(value: object) -> list[Any]:
    """A list, else empty."""
    return value if isinstance(value, list) else []


def json_num(value: object) -> float | None:
    """A number (not a bool), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def json_int(value: object) -> int | None:
    """An integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_str(value: object) -> str | None:
    """A string, else None."""
    return value if isinstance(value, str) else None


# -- findings --------------------------------------------------------------------------


def _kind(value: str) -> FindingKind | str:
    try:
        return FindingKind(value)
    except ValueError:
        return value


@dataclass(slots=True)
class Finding:
    """Something a person should see; the JSON webhook payload's element (contract).

    ``kind`` is a :class:`FindingKind`, or, for an alert stored by another version, a
    kind this one does not define (its ``detail`` is then a :class:`RawDetail`).
    """

    kind: FindingKind | str
    severity: Severity
    shop: str
    listing: dict[str, Any] | None
    summary: str
    detail: Detail
    dedup_key: str
    detected_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The contract JSON shape of the finding."""
        return {
            "kind": str(self.kind),
            "severity": str(self.severity),
            "shop": self.shop,
            "listing": self.listing,
            "summary": self.summary,
            "detail": self.detail.to_json(),
            "dedup_key": self.dedup_key,
            "detected_at": self.detected_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_json`."""
        kind = str(data["kind"])
        return cls(
            kind=_kind(kind),
            severity=Severity(data["severity"]),
            shop=data["shop"],
            listing=data.get("listing"),
            summary=data["summary"],
            detail=parse_detail(kind, data.get("detail")),
            dedup_key=data["dedup_key"],
            detected_at=datetime.fromisoformat(data["detected_at"]),
        )


@dataclass(frozen=True, slots=True)
class Photo:
    """A product photo shown as evidence: where it is on its site (``url``, None when
    unknown) and the small copy watcher kept of it when it was compared."""

    url: str | None
    thumbnail: Thumbnail | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an alert can show beyond its finding: its page on the dashboard (``page``,
    when ``[serve] public_url`` is set) and, for a copy, both photos."""

    page: str | None = None
    own_photo: Photo | None = None
    copy_photo: Photo | None = None


@dataclass(frozen=True, slots=True)
class DigestView:
    """What a digest message says beyond its alerts: the dashboard's ``public_url``
    (links to the full lists; empty when not served), the ``schedule`` it was held for
    (``"08:30"``, ``"1h"``), when it is sent (``at``) and the name of the file with the
    full list the channel attaches (``attached``, email; empty otherwise). Its words and
    times are the batch's audience's."""

    public_url: str = ""
    schedule: str = ""
    at: datetime | None = None
    attached: str = ""


@dataclass(slots=True)
class AlertBatch:
    """The new alerts of one check for one channel, most important first, rendered for
    ``audience`` (language and time zone); ``evidence`` by ``dedup_key``. With ``digest``
    set, the held alerts of a digest channel, read as one summary."""

    findings: list[Finding]
    title: str = "watcher"
    audience: Audience = ENGLISH
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    digest: DigestView | None = None

    def evidence_of(self, finding: Finding) -> Evidence:
        """The evidence gathered for ``finding`` (empty when none was)."""
        return self.evidence.get(finding.dedup_key) or Evidence()

    def sorted(self) -> list[Finding]:
        """Findings ordered by severity (high first), then kind, then shop and summary."""
        return sorted(
            self.findings,
            key=lambda f: (-f.severity.rank, kind_names(f.kind).order, f.shop, f.summary),
        )
