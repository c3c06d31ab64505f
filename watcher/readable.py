"""What a finding reads as, before any output format: lines of :class:`Span` runs.

Each finding kind (``watcher/detectors/<kind>.py``) turns its detail into a heading
:class:`Line` and detail lines; each output (email, every chat format under
``watcher.notify``) turns spans into its own markup with its own escaper, so hostile text
is escaped exactly once, at the edge. Span text is *plain, unescaped* text that already
passed :func:`clean`; a span's ``url`` already passed :func:`safe_url`.

Pure: only the standard library, so kinds and outputs can both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# Control characters (Unicode category Cc except tab/newline), lone surrogates, and bidi
# overrides/isolates, which can make a title display as something else ("gpj.exe").
_DROP = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)
_LINE_SEP = re.compile("[\u2028\u2029]")
_SPACES = re.compile(r"[ \t]{2,}|\t")
_WHITESPACE = re.compile(r"\s{2,}|[^\S ]")


def clean(text: object, *, multiline: bool = False, strip: bool = True) -> str:
    """Plain text with control characters and bidi overrides removed.

    With ``multiline`` newlines survive (``\\r\\n`` and ``\\r`` become ``\\n``, at most one
    blank line in a row); otherwise every run of whitespace becomes one space, so a title
    cannot add lines to a message. ``strip=False`` keeps one leading/trailing space (for
    text runs that sit next to a link).
    """
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _DROP.sub("", _LINE_SEP.sub(" ", s))
    if not multiline:
        flat = _WHITESPACE.sub(" ", s)
        return flat.strip() if strip else flat
    lines = [_SPACES.sub(" ", line).strip(" ") for line in s.split("\n")]
    s = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", s)


# Characters that may end or split a link target in some format: percent-encode them.
_URL_SAFE = "/:?#&=%+,;@!$~-._"
_HOST = re.compile(r"[A-Za-z0-9_.-]+")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")


def safe_url(url: object) -> str | None:
    """An http(s) URL that is safe inside any format's link syntax, or None.

    Other schemes (``javascript:``, ``data:``...) are refused. Characters that end a link
    in some format (``) | > < ] [ " ' `` and spaces) are percent-encoded, so the URL stays
    the same address but cannot break out of ``[t](u)``, ``<u|t>`` or ``href="u"``.
    """
    if not isinstance(url, str):
        return None
    raw = clean(url)
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc:
        # user:pass@host is a classic way to show one host and visit another.
        return None
    try:
        host, port = parts.hostname or "", parts.port
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    if ":" in host:
        if not _IPV6.fullmatch(host):
            return None
        host = f"[{host}]"
    elif not _HOST.fullmatch(host):
        return None
    netloc = f"{host}:{port}" if port is not None else host

    def enc(part: str) -> str:
        return quote(part, safe=_URL_SAFE)

    return urlunsplit(
        (parts.scheme.lower(), netloc, enc(parts.path), enc(parts.query), enc(parts.fragment))
    )


@dataclass(frozen=True, slots=True)
class Span:
    """A run of plain (unescaped) text; ``url`` (already checked by :func:`safe_url`)
    makes it a link."""

    text: str
    url: str | None = None
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a finding's text. ``quote`` lines hold free text (a review) and may
    contain newlines."""

    spans: tuple[Span, ...]
    quote: bool = False


def line(*parts: Span | str, quote: bool = False) -> Line:
    """A line from spans and plain strings (empty strings are left out)."""
    return Line(tuple(p if isinstance(p, Span) else Span(p) for p in parts if p), quote)


_FIELD = re.compile(r"%\((\w+)\)[sd]")


def fill(template: str, **values: Span | str | int | float) -> list[Span | str]:
    """A (translated) template whose ``%(name)s`` fields become the given spans (links,
    bold text) or plain text, in the template's own word order; ``%%`` is a percent sign.
    Plain values must already be clean."""
    out: list[Span | str] = []
    pos = 0
    for m in _FIELD.finditer(template):
        out.append(template[pos : m.start()].replace("%%", "%"))
        value = values[m.group(1)]
        out.append(value if isinstance(value, Span) else str(value))
        pos = m.end()
    out.append(template[pos:].replace("%%", "%"))
    return [p for p in out if p]


def plain_text(x: Line) -> str:
    """A line's text without its links and emphasis."""
    return "".join(s.text for s in x.spans)


def link(
    title: object, url: object, *, fallback: str = "(untitled listing)", bold: bool = False
) -> Span:
    """``title`` (cleaned; ``fallback`` when empty) as a link to ``url`` when it is safe."""
    return Span(clean(title) or fallback, safe_url(url), bold)


def listing_link(
    brief: Mapping[str, Any] | None, *, bold: bool = False, fallback: str = "(untitled listing)"
) -> Span:
    """A listing brief (``title``, ``url``, as in a finding's ``listing``) as a link."""
    brief = brief if isinstance(brief, Mapping) else {}
    return link(brief.get("title"), brief.get("url"), fallback=fallback, bold=bold)
