"""Cleaning of fetched text: tags, entities, control characters, length."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)
_SPACE = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Markup that a shop's template leaves in a text field: a known HTML element, bare or with
# name="value" attributes. "<350ml>", "<for 4-6 yrs>" and "a<b and c>d" are not markup.
_HTML_TAG = re.compile(
    r"</?(?:p|br|b|i|em|strong|span|div|ul|ol|li|a|font|u|small|sup|sub|h[1-6]|img|hr|"
    r"blockquote|table|tr|td|th|tbody|thead|section|article|header|footer|center|q|s|del|ins)"
    r"""(?:\s+[a-z][a-z0-9:-]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))*\s*/?>""",
    re.I,
)


# Unicode categories Cc, Cf and Cs (controls, format characters such as bidi overrides and
# zero-width spaces, lone surrogates) except \t and \n, as ranges (Unicode 14).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891"
    "\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff"
    "\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]+"
)


def strip_controls(text: str) -> str:
    """Remove control, format and surrogate characters (bidi overrides, zero-width...)
    except newlines and tabs."""
    return _CONTROLS.sub("", text)


def clean_text(text: object, limit: int = 20_000) -> str:
    """A single fetched string made safe to store: controls stripped, spaces collapsed,
    cut to ``limit`` characters."""
    if text is None:
        return ""
    s = strip_controls(str(text)[: limit * 2])
    s = _SPACE.sub(" ", s)
    s = _BLANK_LINES.sub("\n", s)
    return s.strip()[:limit]


def strip_known_tags(text: str) -> str:
    """``text`` without the HTML elements a template left in it (``<p>``, ``<br/>``,
    ``<a href="...">``); anything else in angle brackets is what the shop wrote."""
    if "<" not in text:
        return text
    return _HTML_TAG.sub(" ", text)


def strip_html(fragment: object, limit: int = 20_000) -> str:
    """Plain text of an HTML fragment (tags dropped, entities decoded)."""
    if fragment is None:
        return ""
    s = str(fragment)[: limit * 4]
    s = re.sub(r"<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", s, flags=re.I)
    s = _TAG.sub(" ", s)
    return clean_text(html.unescape(s), limit)
