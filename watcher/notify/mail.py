"""The email bodies: a plain-text part and an HTML part, in their own markup dialects.

The HTML part is one card per finding with inline styles only (mail clients drop
``<style>``); every competitor-supplied string is escaped with HTML entities. The text
part shows text as it is (:func:`~watcher.readable.clean` already removed control and
bidi characters) and links as ``title <url>``.
"""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, datetime

from watcher.i18n import N_, Audience
from watcher.images import mail_thumbnail
from watcher.models import AlertBatch, Finding, Severity
from watcher.notify.markup import Markup
from watcher.notify.render import Block, blocks, severity_style, subject_line
from watcher.readable import clean, safe_url
from watcher.thumbnail import Thumbnail


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


def severity_word(a: Audience, severity: Severity) -> str:
    """``high`` / ``高`` (the words the dashboard uses)."""
    return a._(SEVERITIES[severity])


SEVERITIES: dict[Severity, str] = {
    Severity.HIGH: N_("high"),
    Severity.MEDIUM: N_("medium"),
    Severity.LOW: N_("low"),
}


def photo_cid(finding: Finding, role: str) -> str:
    """The Content-ID of one inline photo of ``finding`` (``role``: ``own`` or ``copy``):
    the same in the HTML that shows it and in the part that carries it."""
    digest = hashlib.sha1(finding.dedup_key.encode()).hexdigest()[:20]
    return f"{role}-{digest}@watcher"


def inline_photos(batch: AlertBatch) -> list[tuple[str, Thumbnail]]:
    """(Content-ID, JPEG thumbnail) of every photo the HTML part shows inline."""
    out = []
    for f in batch.sorted():
        ev = batch.evidence_of(f)
        for role, photo in (("own", ev.own_photo), ("copy", ev.copy_photo)):
            small = mail_thumbnail(photo.thumbnail) if photo and photo.thumbnail else None
            if small is not None:
                out.append((photo_cid(f, role), small))
    return out


def render_text(batch: AlertBatch) -> str:
    """The plain-text email body."""
    a = batch.audience
    out = [subject_line(batch), ""]
    for b in blocks(batch):
        out += [f"[{severity_word(a, b.severity).upper()}] {b.title}", TEXT.body(b), ""]
    out += ["-- ", a._("Sent by watcher at %(when)s (%(zone)s).") % _sent(a)]
    return "\n".join(out) + "\n"


def _sent(a: Audience) -> dict[str, str]:
    return {"when": a.when(datetime.now(UTC)), "zone": a.zone}


def _photos(b: Block, a: Audience, shown: set[str]) -> str:
    """Both photos side by side (own | copy), as inline parts, when they were kept."""
    ev = b.evidence
    cells = []
    for role, photo, caption in (
        ("own", ev.own_photo, a._("Your photo")),
        ("copy", ev.copy_photo, a._("The copy's photo")),
    ):
        if photo is None or photo.thumbnail is None or photo_cid(b.finding, role) not in shown:
            continue
        t = photo.thumbnail
        img = (
            f'<img src="cid:{photo_cid(b.finding, role)}" width="{t.width}" height="{t.height}" '
            f'alt="{HTML.escape(caption)}" style="display:block;max-width:240px;height:auto">'
        )
        url = safe_url(photo.url)
        if url:
            img = f'<a href="{html.escape(url, quote=True)}">{img}</a>'
        cells.append(
            f'<td style="padding:0 12px 0 0;vertical-align:top">{img}'
            f'<div style="font-size:12px;color:#5f6368">{HTML.escape(caption)}</div></td>'
        )
    if not cells:
        return ""
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0">'
        f"<tr>{''.join(cells)}</tr></table>"
    )


def _card(b: Block, a: Audience, shown: set[str]) -> str:
    colour = severity_style(b.severity).colour
    rows = [
        f'<div style="font-size:12px;color:{colour};font-weight:bold;'
        f'text-transform:uppercase;letter-spacing:.04em">'
        f"{HTML.escape(severity_word(a, b.severity))} · {HTML.escape(b.title)}</div>",
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
    rows.append(_photos(b, a, shown))
    return (
        f'<div style="border:1px solid #e0e0e0;border-left:4px solid {colour};'
        'border-radius:4px;padding:10px 14px;margin:0 0 12px">' + "".join(rows) + "</div>"
    )


def render_html(batch: AlertBatch) -> str:
    """The HTML email body: one card per finding; a copy's photos inline
    (``cid:`` references to the parts :func:`inline_photos` lists)."""
    a = batch.audience
    title = HTML.escape(subject_line(batch))
    lang = "zh-CN" if a.code == "zh" else a.code
    footer = HTML.escape(a._("Sent by watcher at %(when)s (%(zone)s).") % _sent(a))
    shown = {cid for cid, _ in inline_photos(batch)}
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head>"
        '<body style="margin:0;padding:16px;background:#f5f5f5">'
        '<div style="max-width:680px;margin:0 auto;background:#fff;padding:16px 20px;'
        "border-radius:6px;font-family:-apple-system,'Segoe UI',Roboto,'PingFang SC',"
        "'Microsoft YaHei',sans-serif;font-size:14px;line-height:1.5;color:#202124\">"
        f'<h2 style="font-size:18px;margin:0 0 14px">{title}</h2>'
        + "".join(_card(b, a, shown) for b in blocks(batch))
        + f'<p style="color:#80868b;font-size:12px;margin:16px 0 0">{footer}</p>'
        "</div></body></html>"
    )
