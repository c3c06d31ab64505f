"""Make competitor-controlled text (titles, review texts, shop names, URLs) inert in each
output format.

Every function here takes *plain text* and returns text that the target renders
literally: it cannot open a tag, forge a link, ping a group or break out of the markup it
is placed in. ``clean`` runs first in every escaper, so control characters and
bidirectional overrides never reach a receiver.

Where a platform documents an escape (HTML entities, Slack's ``&amp; &lt; &gt;``, Discord's
backslash) it is used. DingTalk and WeCom document no escape for their markdown, so
syntax characters are replaced with their full-width look-alikes (``［``, ``＜``, ``＠``...),
which read naturally in Chinese text and cannot be parsed as markup.
"""

from __future__ import annotations

import html as _html
import re
from urllib.parse import quote, urlsplit, urlunsplit

# Control characters (Unicode category Cc except tab/newline), lone surrogates, and bidi
# overrides/isolates, which can make a title display as something else ("gpj.exe").
_DROP = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]"
)
_LINE_SEP = re.compile("[\u2028\u2029]")
_SPACES = re.compile(r"[ \t]{2,}|\t")
_WHITESPACE = re.compile(r"\s{2,}|[^\S ]")
_ZWSP = "\u200b"


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


def html_text(text: object, *, multiline: bool = False) -> str:
    """Text for an HTML element or attribute value: ``& < > " '`` become entities."""
    return _html.escape(clean(text, multiline=multiline, strip=False), quote=True)


def slack(text: object, *, multiline: bool = False) -> str:
    """Text for Slack mrkdwn: ``& < >`` become entities, which disarms ``<!channel>``,
    ``<@U…>`` and ``<url|text>`` links; ``@`` gets a zero-width space in case the webhook
    has ``link_names`` on. ``* _ ~ `` `` are left: Slack has no escape for them and they
    can only change emphasis, not add links or pings."""
    s = clean(text, multiline=multiline, strip=False)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("@", "@" + _ZWSP)


_DISCORD_MD = re.compile(r"([\\*_~`|>#\[\]()<\-])")


def discord(text: object, *, multiline: bool = False) -> str:
    """Text for Discord markdown: every markdown character is backslash-escaped and ``@``
    is followed by a zero-width space, so ``@everyone`` reads as text even before
    ``allowed_mentions`` (always ``{"parse": []}``) mutes it."""
    s = _DISCORD_MD.sub(r"\\\1", clean(text, multiline=multiline, strip=False))
    return s.replace("@", "@" + _ZWSP)


def feishu(text: object, *, multiline: bool = False) -> str:
    """Text for a Feishu ``post`` ``{"tag": "text"}`` element. The element renders
    literally; ``<at`` and ``@`` still get a zero-width space so the text cannot become a
    mention if it is ever moved into a ``text`` message."""
    s = clean(text, multiline=multiline, strip=False)
    return s.replace("<", "<" + _ZWSP).replace("@", "@" + _ZWSP)


# Full-width look-alikes for the markdown dialects without a documented escape. Without
# "[" and "]" no link or image can form, so "(", ")" and "!" stay as they are.
_FULLWIDTH = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "#": "＃",
        "@": "＠",
        "\\": "＼",
    }
)


def dingtalk(text: object, *, multiline: bool = False) -> str:
    """Text for DingTalk markdown: syntax characters become full-width look-alikes, so no
    link, image, heading, ``<font>`` tag or ``@mobile`` mention can be formed (the message
    also sends ``at.isAtAll = false`` and no ``atMobiles``)."""
    s = clean(text, multiline=multiline, strip=False).translate(_FULLWIDTH)
    if multiline:
        # A leading "-", "+" or "1." would start a list inside our own layout.
        s = re.sub(r"(?m)^(\s*)([-+=]|\d+\.)", lambda m: m.group(1) + _ZWSP + m.group(2), s)
    return s


def wecom(text: object, *, multiline: bool = False) -> str:
    """Text for WeCom markdown: as :func:`dingtalk` (``<@userid>`` mentions, ``<font>``
    and ``[x](url)`` links all need characters that are replaced)."""
    return dingtalk(text, multiline=multiline)


def plain(text: object, *, multiline: bool = False) -> str:
    """Text for a plain-text part (email): only :func:`clean`."""
    return clean(text, multiline=multiline, strip=False)
