"""The email bodies: a plain-text part and an HTML part, in their own markup dialects.

The HTML part is one card per finding with inline styles only (mail clients drop
``<style>``); every competitor-supplied string is escaped with HTML entities. The text
part shows text as it is (:func:`~watcher.readable.clean` already removed control and
bidi characters) and links as ``title <url>``.
"""

from __future__ import annotations

import html

from watcher.models import AlertBatch
from watcher.notify.markup import Markup
from watcher.notify.render import Block, blocks, severity_style, subject_line
from watcher.readable import clean


def html_text(text: object, *, multiline: bool = False) -> str:
    """Text for an HTML element or attribute value: ``& < > " '`` become entities."""
    return html.escape(clean(text, multiline=multiline, strip=False), quote=True)


def plain(text: object, *, multiline: bool = False) -> str:
    """Text for the plain-text part: as it is (already cleaned)."""
    return str(text)


TEXT = Markup(plain, link="{text} <{url}>", quote_prefix="  > ", line_prefix="  ")
"""``text/plain``: lines indented two spaces, quotes as ``  > ``, links ``title <url>``."""
HTML = Markup(
    html_text,
    link='<a href="{url}" style="color:#1a73e8">{text}</a>',
    bold="<strong>{text}</strong>",
    escape_url=lambda url: html.escape(url, quote=True),
    bold_outside=False,
)
"""HTML with inline styles; bold inside the link, as mail clients style links."""


def render_text(batch: AlertBatch) -> str:
    """The plain-text email body."""
    out = [subject_line(batch), ""]
    for b in blocks(batch):
        out += [f"[{b.severity.value.upper()}] {b.title}", TEXT.body(b), ""]
    out += ["-- ", "Sent by watcher."]
    return "\n".join(out) + "\n"


def _card(b: Block) -> str:
    colour = severity_style(b.severity).colour
    rows = [
        f'<div style="font-size:12px;color:{colour};font-weight:bold;'
        f'text-transform:uppercase;letter-spacing:.04em">{HTML.escape(b.severity.value)} · '
        f"{HTML.escape(b.title)}</div>",
        f'<div style="font-size:16px;margin:4px 0 6px">{HTML.line(b.heading)}</div>',
    ]
    for line in b.lines:
        if line.quote:
            rows.append(
                '<blockquote style="margin:6px 0;padding:6px 10px;border-left:3px solid #ddd;'
                f'background:#fafafa;white-space:pre-wrap">{HTML.line(line)}</blockquote>'
            )
        else:
            rows.append(f'<div style="margin:2px 0">{HTML.line(line)}</div>')
    return (
        f'<div style="border:1px solid #e0e0e0;border-left:4px solid {colour};'
        'border-radius:4px;padding:10px 14px;margin:0 0 12px">' + "".join(rows) + "</div>"
    )


def render_html(batch: AlertBatch) -> str:
    """The HTML email body: one card per finding."""
    title = HTML.escape(subject_line(batch))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>"
        '<body style="margin:0;padding:16px;background:#f5f5f5">'
        '<div style="max-width:680px;margin:0 auto;background:#fff;padding:16px 20px;'
        "border-radius:6px;font-family:-apple-system,'Segoe UI',Roboto,'PingFang SC',"
        "'Microsoft YaHei',sans-serif;font-size:14px;line-height:1.5;color:#202124\">"
        f'<h2 style="font-size:18px;margin:0 0 14px">{title}</h2>'
        + "".join(_card(b) for b in blocks(batch))
        + '<p style="color:#80868b;font-size:12px;margin:16px 0 0">Sent by watcher.</p>'
        "</div></body></html>"
    )
