"""One markup dialect for every text output: how it escapes, links, bolds and quotes.

An output (a chat format, an email part) describes its markup in one :class:`Markup`
value: its own escaper and a few templates. :meth:`Markup.line` and :meth:`Markup.body`
are the one loop that turns a :class:`~watcher.notify.render.Block` of
:class:`~watcher.readable.Span` runs into that markup. Span text is escaped there, at
the edge, and nowhere else; a span's URL has already passed
:func:`~watcher.readable.safe_url`.

Chat escapers also make fetched text *inert* with :func:`inert_links`: a bare URL or
domain in a review must not become a link the reader can click.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from watcher.readable import Line, Span

if TYPE_CHECKING:
    from watcher.notify.render import Block

ZWSP = "\u200b"
"""Zero-width space: invisible, and not part of a word, a URL or a mention to any parser."""


_SCHEME = re.compile(r"(?i)([a-z][a-z0-9+.-]*):(?=//)")
_HOST_DOT = re.compile(r"(?<=[A-Za-z0-9])\.(?=[A-Za-z])")


def inert_links(text: str) -> str:
    """Text in which no auto-linker finds a URL: a zero-width space after the colon of
    every ``scheme://`` and after every dot that joins two labels of a host name.

    Chat clients link plain text in two ways. Scheme links need ``http://`` (or any
    ``x://``) as one run: Discord's rule is ``https?:\\/\\/[^\\s<]+`` (a zero-width
    space is not ``\\s`` in JavaScript, so a break *after* ``//`` would still be linked),
    and the common linkify libraries and GFM's extended autolinks match the scheme the
    same way. Bare domains (``www.shop.example``, ``shop.example/x``; Slack, Feishu and
    the GFM ``www.`` rule link those too) need a letter right after each dot. A
    zero-width space after the colon and after each such dot defeats both and stays
    invisible, so ``Visit https://evil.example`` reads the same while only our own links
    (built from checked URLs) can be clicked. Numbers (``3.5``) and a dot before a space
    are left alone.
    """
    return _HOST_DOT.sub("." + ZWSP, _SCHEME.sub(r"\1:" + ZWSP, text))


class Escaper(Protocol):
    """Plain text made literal in one markup (newlines kept with ``multiline``)."""

    def __call__(self, text: object, *, multiline: bool = False) -> str: ...


def _same(url: str) -> str:
    return url


@dataclass(frozen=True, slots=True)
class Markup:
    """A text markup dialect.

    ``link`` and ``bold`` are templates over the escaped ``{text}`` (and the ``{url}``,
    passed through ``escape_url``); ``bold_outside`` puts bold around a link rather than
    inside it. Quote lines (free text such as a review) get ``quote_prefix`` before each
    of their lines and ``quote_end`` after; other lines get ``line_prefix``; ``newline``
    joins the lines of a block.
    """

    escape: Escaper
    link: str = "{text}"
    bold: str = "{text}"
    quote_prefix: str = ""
    quote_end: str = ""
    line_prefix: str = ""
    newline: str = "\n"
    escape_url: Callable[[str], str] = _same
    bold_outside: bool = True

    def span(self, span: Span, *, multiline: bool = False) -> str:
        """One span: escaped, linked, and bold (only when there is text to bold)."""
        text = self.escape(span.text, multiline=multiline)
        bold = span.bold and bool(text.strip())
        if bold and not self.bold_outside:
            text = self.bold.format(text=text)
        if span.url:
            text = self.link.format(text=text, url=self.escape_url(span.url))
        if bold and self.bold_outside:
            text = self.bold.format(text=text)
        return text

    def line(self, line: Line) -> str:
        """One line: its spans, set apart as a quote when it is a quote line."""
        out = "".join(self.span(s, multiline=line.quote) for s in line.spans)
        if not line.quote:
            return self.line_prefix + out
        return "\n".join(self.quote_prefix + x for x in out.split("\n")) + self.quote_end

    def strong(self, text: object) -> str:
        """Plain ``text`` escaped and in bold (a title)."""
        return self.bold.format(text=self.escape(text))

    def body(self, block: Block) -> str:
        """The block's heading and detail lines."""
        return self.newline.join([self.line(block.heading), *map(self.line, block.lines)])
