"""The words watcher shows people, in ``[watcher] language``, and its dates in
``[watcher] timezone``.

Messages are written in English in the code and templates (``_("Copied listing")``) and
translated by the gettext catalogs shipped in ``watcher/locale/<lang>/LC_MESSAGES/watcher.po``.
The ``.po`` files are read with Babel when a language is first used: they are the one
source translators edit and reviewers read, so no compiled ``.mo`` can drift from them and
the wheel needs no build step. The price is paid once per process and only for Chinese:
about 40-55 ms (Babel's import and reading ~250 messages, on the 2-core machine under load);
English loads nothing.

    lang = language("zh")
    lang.gettext("Alerts")                              # '提醒'
    lang.ngettext("{n} listing", "{n} listings", 3).format(n=3)
    lang.datetime(alert_time, "Asia/Shanghai")          # '2027-03-01 08:00'

An alert, an email or a terminal table is written for an :class:`Audience` (a language
and a zone: ``audience("zh", "Asia/Shanghai")``); each finding kind's ``lines`` takes one.

Strings to translate are marked with ``_()`` / ``ngettext()`` in Python and with
``{% trans %}`` / ``_()`` in Jinja templates (``a._()`` / ``a.n_()`` on an audience);
``tests/test_i18n.py`` extracts them with
Babel and fails when the Chinese catalog misses one.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "DOMAIN",
    "ENGLISH",
    "LANGUAGES",
    "N_",
    "Audience",
    "Language",
    "audience",
    "catalog_path",
    "language",
]

DOMAIN = "watcher"
LANGUAGES: tuple[str, ...] = ("en", "zh")
"""Supported values of ``[watcher] language``; English is the source language."""

_BABEL_LOCALE = {"en": "en", "zh": "zh_Hans_CN"}


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here (module-level tables)."""
    return message


def catalog_path(code: str) -> str:
    """Where the ``.po`` catalog of a language lives inside the package."""
    return f"locale/{code}/LC_MESSAGES/{DOMAIN}.po"


def _load(code: str) -> _gettext.NullTranslations:
    if code == "en":
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    source = resources.files("watcher").joinpath(catalog_path(code))
    with source.open("rb") as f:
        catalog = read_po(f, locale=_BABEL_LOCALE[code], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


@dataclass(frozen=True, slots=True)
class Language:
    """One UI language: its translations and its way of writing times."""

    code: str
    translations: _gettext.NullTranslations

    def gettext(self, message: str) -> str:
        """``message`` in this language (itself when untranslated)."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for ``n`` in this language."""
        return self.translations.ngettext(singular, plural, n)

    @property
    def babel_locale(self) -> str:
        """The Babel locale identifier (``en``, ``zh_Hans_CN``)."""
        return _BABEL_LOCALE[self.code]

    def datetime(
        self, value: dt.datetime | None, tz: str | ZoneInfo, *, seconds: bool = False
    ) -> str:
        """A moment in the configured zone: ``2027-03-01 08:00`` (both languages read this
        the same way; naive values are taken as UTC). Empty for None."""
        if value is None:
            return ""
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def date(self, value: dt.datetime | None, tz: str | ZoneInfo) -> str:
        """The local calendar date of a moment: ``2027-03-01``."""
        return self.datetime(value, tz)[:10]

    def duration(
        self,
        delta: timedelta,
        *,
        threshold: float = 0.85,
        format: Literal["narrow", "short", "long"] = "long",
    ) -> str:
        """A rounded length of time: ``3 hours`` / ``3小时``."""
        from babel.dates import format_timedelta

        return format_timedelta(delta, threshold=threshold, format=format, locale=self.babel_locale)

    def ago(self, value: dt.datetime | None, now: dt.datetime) -> str:
        """``3 hours ago`` / ``3小时前`` (``in 5 minutes`` for a future moment)."""
        if value is None:
            return ""
        from babel.dates import format_timedelta

        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_timedelta(
            aware - now, add_direction=True, threshold=0.85, locale=self.babel_locale
        )


@cache
def language(code: str) -> Language:
    """The language ``code`` (one of :data:`LANGUAGES`), loaded once per process."""
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {code!r} (one of: {', '.join(LANGUAGES)})")
    return Language(code, _load(code))


@dataclass(frozen=True, slots=True)
class Audience:
    """Who reads an alert: its words (``[watcher] language``) and the zone its moments
    are written in (``[watcher] timezone``). Every output of a finding (chat, email,
    terminal) is rendered for one audience."""

    lang: Language
    tz: ZoneInfo

    @property
    def code(self) -> str:
        """The language code (``en``, ``zh``)."""
        return self.lang.code

    def _(self, message: str) -> str:
        """``message`` in the audience's language."""
        return self.lang.gettext(message)

    def n_(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The singular or plural form for ``n``, with ``%(num)d`` and ``values`` filled in."""
        return self.lang.ngettext(singular, plural, n) % {"num": n, **values}

    @property
    def comma(self) -> str:
        """What separates the items of a list: ``, `` / ``，``."""
        return "，" if self.code == "zh" else ", "

    @property
    def colon(self) -> str:
        """What follows a label: ``: `` / ``：``."""
        return "：" if self.code == "zh" else ": "

    def when(self, value: dt.datetime | None) -> str:
        """A moment in the audience's zone: ``2027-03-01 08:00``."""
        return self.lang.datetime(value, self.tz)

    def day(self, value: object) -> str:
        """The local date of an ISO 8601 moment (``2027-02-28``); a date without a time
        stays as it is, and other text is returned as it is."""
        if not value:
            return ""
        text = str(value).strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        if len(text) <= 10:
            return moment.date().isoformat()
        return self.lang.date(moment, self.tz)

    @property
    def zone(self) -> str:
        """The zone's name (``Asia/Shanghai``)."""
        return self.tz.key


@cache
def audience(code: str = "en", tz: str = "UTC") -> Audience:
    """The audience of language ``code`` in zone ``tz`` (both checked by the config)."""
    return Audience(language(code), ZoneInfo(tz))


ENGLISH = Audience(Language("en", _gettext.NullTranslations()), ZoneInfo("UTC"))
"""English in UTC: the default audience of a rendering that names none."""
