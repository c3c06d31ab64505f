"""``listing_changed``: one of the seller's own watched listings changed title, price,
main image or availability — something they did not expect to change — or was taken down
(its page answered 404 or 410 on checks in a row, see :mod:`watcher.store.watch`) or came
back on sale after that (the ``listed`` change)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Self, assert_never, get_args

from watcher import money
from watcher.detectors.base import DetectContext, Detector, change_key, price_move
from watcher.i18n import N_, Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_int,
    json_obj,
)
from watcher.readable import Line, Span, clean, fill, line, listing_link, safe_url
from watcher.store import Listed

Field = Literal["title", "price", "image", "available", "listed"]
FIELDS: tuple[Field, ...] = get_args(Field)
Value = str | float | bool | None


def _value(value: object) -> Value:
    return value if isinstance(value, str | int | float | bool) else None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after."""

    old: Value
    new: Value


@dataclass(frozen=True, slots=True)
class ListingChangedDetail(KindDetail):
    """``changes``: each changed field (``title``, ``price``, ``image``, ``available``,
    ``listed``: whether the listing is on sale at all) with its ``old`` and ``new`` value;
    ``http_status``: the answer (404 or 410) of a listing taken down, only then present."""

    kind: ClassVar[FindingKind] = FindingKind.LISTING_CHANGED
    names: ClassVar[KindNames] = KindNames(
        "Your listing changed", "listing change", "listing changes", 3
    )

    changes: dict[str, FieldChange] = field(default_factory=dict)
    http_status: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail (a bare value reads as the new one)."""
        changes = {}
        for name, change in json_obj(data.get("changes")).items():
            if isinstance(change, Mapping):
                changes[str(name)] = FieldChange(
                    _value(change.get("old")), _value(change.get("new"))
                )
            else:
                changes[str(name)] = FieldChange(None, _value(change))
        return cls(changes, json_int(data.get("http_status")))

    def to_json(self) -> dict[str, Any]:
        """The contract JSON; ``http_status`` only for a listing taken down (the JSON of
        every other change stays as it was)."""
        data = KindDetail.to_json(self)  # slots=True makes a new class: no bare super()
        if self.http_status is None:
            del data["http_status"]
        return data

    @property
    def taken_down(self) -> bool:
        """True when the listing went from on sale to gone."""
        listed = self.changes.get("listed")
        return listed is not None and listed.new is False

    def severity(self) -> Severity:
        """A listing taken down is high (it sells nothing until it is back); any other
        unexpected change to an own listing is medium."""
        return Severity.HIGH if self.taken_down else Severity.MEDIUM

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """One line per changed field (the summary when there is none)."""
        currency = (finding.listing or {}).get("currency")
        lines = []
        for name, change in self.changes.items():
            known = next((f for f in FIELDS if f == name), None)
            if known is not None:
                lines.append(_field_line(a, known, change, currency, self.http_status))
            else:
                lines.append(_other_line(a, name, change))
        heading = listing_link(finding.listing, bold=True, fallback=a._("(untitled listing)"))
        return line(heading), lines or [line(clean(finding.summary))]


FIELD_NAMES: dict[str, str] = {
    "title": N_("Title"),
    "price": N_("Price"),
    "image": N_("Image"),
    "available": N_("Stock"),
    "listed": N_("Listing"),
}
"""The tracked fields' names, translated when shown."""


def _label(a: Audience, name: str) -> str:
    if name in FIELD_NAMES:
        return a._(FIELD_NAMES[name])
    return clean(name).replace("_", " ").capitalize()


def _field_line(
    a: Audience, name: Field, change: FieldChange, currency: object, status: int | None
) -> Line:
    match name:
        case "price":
            pct = money.percent_change(change.old, change.new)
            values = {
                "move": price_move(a, change.old, change.new, currency),
                "pct": f" ({pct})" if pct else "",
            }
            old, new = change.old, change.new
            if money.is_amount(old) and money.is_amount(new) and new < old:
                return line(a._("▼ Price: %(move)s%(pct)s") % values)
            if money.is_amount(old) and money.is_amount(new) and new > old:
                return line(a._("▲ Price: %(move)s%(pct)s") % values)
            return line(a._("Price: %(move)s%(pct)s") % values)
        case "image":
            return _image_line(a, name, change)
        case "available":
            if isinstance(change.new, bool):
                text = a._("now in stock") if change.new else a._("now out of stock")
                return line(f"{_label(a, name)}{a.colon}{text}")
            return _other_line(a, name, change)
        case "listed":
            if change.new is False and status is not None:
                return line(a._("Listing: on sale → gone (HTTP %(status)d)") % {"status": status})
            if change.new is False:
                return line(a._("Listing: on sale → gone"))
            if change.new is True:
                return line(a._("Listing: gone → back on sale"))
            return _other_line(a, name, change)
        case "title":
            return _other_line(a, name, change)
        case _:
            assert_never(name)


def _image_line(a: Audience, name: str, change: FieldChange) -> Line:
    template = a._("%(field)s: %(new)s (was %(old)s)")
    return line(
        *fill(
            template,
            field=_label(a, name),
            new=Span(a._("new"), safe_url(change.new)),
            old=Span(a._("old"), safe_url(change.old)),
        )
    )


def _other_line(a: Audience, name: str, change: FieldChange) -> Line:
    if name == "images" or (isinstance(change.new, str) and safe_url(change.new)):
        return _image_line(a, name, change)
    return line(
        a._("%(field)s: “%(old)s” → “%(new)s”")
        % {"field": _label(a, name), "old": clean(change.old), "new": clean(change.new)}
    )


class ListingChanged(Detector):
    """Changes to own listings."""

    kind = FindingKind.LISTING_CHANGED

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        for result in ctx.results:
            if not result.shop.own:
                continue
            for ch in result.changes.changed:
                diff: dict[str, FieldChange] = {
                    k: FieldChange(ch.old.get(k), ch.new.get(k))
                    for k in FIELDS
                    if ch.old.get(k) != ch.new.get(k)
                }
                if not diff:
                    continue
                parts = []
                cur = ch.new.get("currency")
                if "price" in diff:
                    parts.append(f"price {money.change(diff['price'].old, diff['price'].new, cur)}")
                if "title" in diff:
                    parts.append("title changed")
                if "image" in diff:
                    parts.append("main image changed")
                if "available" in diff:
                    parts.append("now in stock" if diff["available"].new else "now out of stock")
                detail = ListingChangedDetail(diff)
                yield Finding(
                    kind=self.kind,
                    severity=detail.severity(),
                    shop=result.shop.name,
                    listing=ch.listing.brief(),
                    summary=f"Your listing {ch.listing.title}: {', '.join(parts)}",
                    detail=detail,
                    dedup_key=change_key(
                        self.kind, result.shop.name, ch.listing.ref, ch.prev_snapshot, sorted(diff)
                    ),
                    detected_at=ctx.now,
                )
            for event in result.listed:
                yield _listed_finding(self.kind, result.shop.name, event, ctx.now)


def _listed_finding(kind: FindingKind, shop: str, event: Listed, now: datetime) -> Finding:
    """The finding of a listing taken down or back on sale; its dedup key names the
    takedown (when its page first answered 404/410), so each is raised once."""
    detail = ListingChangedDetail(
        {"listed": FieldChange(not event.listed, event.listed)},
        None if event.listed else event.status,
    )
    title = event.listing.title
    if event.listed:
        summary = f"Your listing {title}: back on sale"
    else:
        summary = f"Your listing {title}: gone from sale (HTTP {event.status})"
    since = event.since.isoformat(timespec="seconds")
    state = "back" if event.listed else "gone"
    return Finding(
        kind=kind,
        severity=detail.severity(),
        shop=shop,
        listing=event.listing.brief(),
        summary=summary,
        detail=detail,
        dedup_key=f"{kind}:{shop}:{event.listing.ref}:{state}:{since}",
        detected_at=now,
    )
