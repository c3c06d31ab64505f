"""Cleaning of fetched text: tags, entities, control characters, length."""

from __future__ import annotations

import html
import re
import unicodedata

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def strip_controls(text: str) -> str:
    """Remove control and format characters (bidi overrides, zero-width...) except newlines
    and tabs."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def clean_text(text: object, limit: int = 20_000) -> str:
    """A single fetched string made safe to store: controls stripped, spaces collapsed,
    cut to ``limit`` characters."""
    if text is None:
        return ""
    s = strip_controls(str(text)[: limit * 2])
    s = _SPACE.sub(" ", s)
    s = _BLANK_LINES.sub("\n", s)
    return s.strip()[:limit]


def strip_html(fragment: object, limit: int = 20_000) -> str:
    """Plain text of an HTML fragment (tags dropped, entities decoded)."""
    if fragment is None:
        return ""
    s = str(fragment)[: limit * 4]
    s = re.sub(r"<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", s, flags=re.I)
    s = _TAG.sub(" ", s)
    return clean_text(html.unescape(s), limit)
