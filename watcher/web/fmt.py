"""How the pages write moments, prices and codes in the configured language and zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from watcher import money as _money
from watcher.i18n import Audience, Language
from watcher.models import Finding, kind_names
from watcher.web import labels

__all__ = ["Formatter"]


@dataclass(frozen=True, slots=True)
class Formatter:
    """Formatting for one language and time zone (available as ``fmt`` in templates)."""

    lang: Language
    tz: ZoneInfo

    def _(self, message: str) -> str:
        return self.lang.gettext(message)

    def money(self, amount: Any, currency: Any = None) -> str:
        """``¥159.00``; ``?`` when unknown (:func:`watcher.money.money`)."""
        return _money.money(amount, currency)

    def when(self, value: datetime | None, *, seconds: bool = False) -> str:
        """``2027-03-01 08:00`` in the configured zone."""
        return self.lang.datetime(value, self.tz, seconds=seconds)

    def date(self, value: datetime | None) -> str:
        """``2027-03-01`` in the configured zone."""
        return self.lang.date(value, self.tz)

    def iso(self, value: datetime | None) -> str:
        """ISO 8601 in the configured zone (for ``<time datetime>`` and exports)."""
        if value is None:
            return ""
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(self.tz).isoformat()

    def ago(self, value: datetime | None, now: datetime | None = None) -> str:
        """``3 hours ago``."""
        return self.lang.ago(value, now or datetime.now(UTC))

    def duration(self, delta: timedelta) -> str:
        """``3 days``."""
        return self.lang.duration(delta)

    def tick(self, moment: datetime, span: timedelta) -> str:
        """A time-axis label, as precise as the axis' span needs."""
        local = moment.astimezone(self.tz)
        if span <= timedelta(minutes=10):
            return local.strftime("%H:%M:%S")
        if span <= timedelta(days=2):
            return local.strftime("%H:%M")
        if span <= timedelta(days=200):
            return local.strftime("%m-%d")
        return local.strftime("%Y-%m")

    def summary(self, english: str, payload: dict[str, Any]) -> str:
        """An alert's one-line summary in this language and zone, written from its stored
        finding (``payload``) the way alerts are; the stored English ``english`` when the
        language is English or the payload cannot be read (an alert of an older release)."""
        if self.lang.code == "en":
            return english
        from watcher.notify.render import one_line

        try:
            finding = Finding.from_json(payload)
            return one_line(finding, Audience(self.lang, self.tz), chars=400)
        except (KeyError, TypeError, ValueError):
            return english

    def kind(self, code: str) -> str:
        """A finding kind's name, as its module gives it, in this language."""
        return self._(kind_names(code).label)

    def severity(self, code: str) -> str:
        """A severity's name."""
        return self._(labels.SEVERITIES[code]) if code in labels.SEVERITIES else code

    def season(self, code: str) -> str:
        """A season's name."""
        return self._(labels.SEASONS[code]) if code in labels.SEASONS else code

    def delivery(self, code: str) -> str:
        """A delivery state's name."""
        return self._(labels.DELIVERY[code]) if code in labels.DELIVERY else code

    def role(self, code: str) -> str:
        """A shop role's name."""
        return self._(labels.ROLES[code]) if code in labels.ROLES else code

    def shop_status(self, code: str) -> str:
        """A shop status's name."""
        return self._(labels.SHOP_STATUS[code]) if code in labels.SHOP_STATUS else code

    def stars(self, rating: float | None) -> str:
        """``★★☆☆☆``; empty without a rating."""
        if rating is None:
            return ""
        full = max(0, min(5, round(rating)))
        return "★" * full + "☆" * (5 - full)

    def percent(self, ratio: float | None) -> str:
        """``87%``."""
        return "" if ratio is None else f"{ratio * 100:.0f}%"
