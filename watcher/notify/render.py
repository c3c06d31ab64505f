"""Alerts as a seller reads them: most important first, a link to every listing.

Rendering has two steps. :func:`blocks` turns each finding into a format-neutral
:class:`Block` (a heading and lines made of :class:`Span` runs of *unescaped* text with
optional links). Each output format (email text/HTML here, chat formats in
``watcher.notify.formats``) turns spans into its own markup with its own escaper, so
hostile text is escaped exactly once, at the edge. :func:`fit` shortens a block to a
size limit without breaking markup.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from watcher.models import AlertBatch, Finding, Severity
from watcher.notify.escape import clean, html_text, safe_url

MAX_ITEMS = 8
"""Items of a seasonal launch listed by name; the rest are counted."""

_NOUNS: dict[str, tuple[str, str]] = {
    "copied_listing": ("copied listing", "copied listings"),
    "negative_review": ("negative review", "negative reviews"),
    "seasonal_launch": ("seasonal launch", "seasonal launches"),
    "listing_changed": ("listing change", "listing changes"),
    "shop_unreachable": ("unreachable shop", "unreachable shops"),
    "price_change": ("price change", "price changes"),
    "stock_change": ("stock change", "stock changes"),
}
_LABELS = {
    "copied_listing": "Copied listing",
    "negative_review": "Negative review",
    "seasonal_launch": "Seasonal launch",
    "listing_changed": "Your listing changed",
    "shop_unreachable": "Shop unreachable",
    "price_change": "Price change",
    "stock_change": "Stock change",
}
_KIND_ORDER = list(_NOUNS)
_SYMBOLS = {
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "HKD": "HK$",
    "TWD": "NT$",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "SGD": "S$",
}
_NO_DECIMALS = {"JPY", "KRW"}
SEVERITY_ICON = {Severity.HIGH: "🔴", Severity.MEDIUM: "🟠", Severity.LOW: "🔵"}


@dataclass(frozen=True, slots=True)
class Span:
    """A run of plain (unescaped) text; ``url`` (already checked by ``safe_url``) makes it
    a link."""

    text: str
    url: str | None = None
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a block. ``quote`` lines hold free text (a review) and may contain
    newlines."""

    spans: tuple[Span, ...]
    quote: bool = False

    @property
    def plain(self) -> str:
        """The line's text without markup."""
        return "".join(s.text for s in self.spans)


@dataclass(frozen=True, slots=True)
class Block:
    """One finding, ready for any format: ``label`` ("Copied listing"), ``shop``, a
    ``heading`` line and detail ``lines``."""

    finding: Finding
    label: str
    shop: str
    heading: Line
    lines: tuple[Line, ...] = field(default=())

    @property
    def severity(self) -> Severity:
        """The finding's severity."""
        return self.finding.severity

    @property
    def icon(self) -> str:
        """A coloured dot for the severity."""
        return SEVERITY_ICON.get(self.finding.severity, "•")

    @property
    def title(self) -> str:
        """``"Copied listing · My Shop"``."""
        return f"{self.label} · {clean(self.shop)}" if self.shop else self.label

    def capped(self, chars: int) -> Block:
        """A copy with every span's text cut to ``chars`` characters (with "…")."""

        def cap(line: Line) -> Line:
            return replace(line, spans=tuple(_cap_span(s, chars) for s in line.spans))

        return replace(self, heading=cap(self.heading), lines=tuple(cap(x) for x in self.lines))

    def longest_span(self) -> int:
        """Length of the longest span text."""
        spans = [*self.heading.spans, *(s for x in self.lines for s in x.spans)]
        return max((len(s.text) for s in spans), default=0)


def _cap_span(span: Span, chars: int) -> Span:
    if len(span.text) <= chars:
        return span
    return replace(span, text=span.text[: max(chars - 1, 0)].rstrip() + "…")


def plural(n: int, kind: str) -> str:
    """``"1 copied listing"``, ``"2 copied listings"``."""
    one, many = _NOUNS.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    return f"{n} {one if n == 1 else many}"


def counts_text(findings: Iterable[Finding]) -> str:
    """Counts by kind, most important kind first: ``"2 negative reviews, 1 copied listing"``."""
    counts = Counter(f.kind for f in findings)
    kinds = sorted(counts, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else 99, k))
    return ", ".join(plural(counts[k], k) for k in kinds)


def _importance(findings: Sequence[Finding]) -> list[str]:
    shops: list[str] = []
    for f in AlertBatch(list(findings)).sorted():
        if f.shop not in shops:
            shops.append(f.shop)
    return shops


def _clip(text: str, chars: int) -> str:
    text = clean(text)
    return text if len(text) <= chars else text[: chars - 1] + "…"


def subject_line(batch: AlertBatch) -> str:
    """One line for an email subject or a chat header.

    ``"My Shop: 2 negative reviews, 1 copied listing"``. With several shops the most
    important come first (``"My Shop, Rival A and 2 more shops: …"``); past three kinds
    the rest are summed (``"… and 4 other alerts"``).
    """
    findings = batch.findings
    if not findings:
        return "no new alerts"
    shops = _importance(findings)
    if len(shops) == 1:
        who = _clip(shops[0], 80)
    else:
        who = ", ".join(_clip(s, 40) for s in shops[:2])
        if len(shops) > 2:
            who += f" and {len(shops) - 2} more shop{'s' if len(shops) > 3 else ''}"
    counts = Counter(f.kind for f in findings)
    kinds = sorted(counts, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else 99, k))
    what = ", ".join(plural(counts[k], k) for k in kinds[:3])
    rest = sum(counts[k] for k in kinds[3:])
    if rest:
        what += f" and {rest} other alert{'s' if rest > 1 else ''}"
    return clean(f"{who}: {what}")


def more_note(left_out: Sequence[Finding]) -> str:
    """The note that replaces findings a message had no room for:
    ``"…and 37 more alerts not shown here: 30 price changes, 7 stock changes."``"""
    n = len(left_out)
    word = "alert" if n == 1 else "alerts"
    return f"…and {n} more {word} not shown here: {counts_text(left_out)}."


def money(amount: Any, currency: Any = None) -> str:
    """``¥89.00``, ``$5.50``, ``89.00 XYZ``; ``?`` when unknown."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return "?" if amount is None else clean(amount)
    code = clean(currency).upper() if currency else ""
    digits = 0 if code in _NO_DECIMALS else 2
    number = f"{amount:,.{digits}f}"
    symbol = _SYMBOLS.get(code)
    if symbol:
        return f"-{symbol}{number[1:]}" if number.startswith("-") else f"{symbol}{number}"
    return f"{number} {code}".strip()


def percent_change(old: Any, new: Any) -> str | None:
    """``"−20.2%"`` / ``"+5.0%"``; None when it cannot be computed."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new)):
        return None
    if old == 0:
        return None
    pct = (new - old) / old * 100
    sign = "+" if pct > 0 else "−" if pct < 0 else "±"
    return f"{sign}{abs(pct):.1f}%"


def stars(rating: Any) -> str:
    """``"★★☆☆☆ 2/5"``; ``"no rating"`` when there is none."""
    if isinstance(rating, bool) or not isinstance(rating, int | float):
        return "no rating"
    full = max(0, min(5, round(rating)))
    shown = f"{rating:g}"
    return "★" * full + "☆" * (5 - full) + f" {shown}/5"


def _date(value: Any) -> str:
    if not value:
        return ""
    text = clean(value)
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return text


def _link(brief: Any, fallback: str = "(untitled listing)", *, bold: bool = False) -> Span:
    brief = brief if isinstance(brief, dict) else {}
    title = clean(brief.get("title")) or fallback
    return Span(title, safe_url(brief.get("url")), bold)


def _stock(value: Any) -> str:
    if value is True:
        return "in stock"
    if value is False:
        return "sold out"
    if value is None:
        return "unknown"
    return clean(value)


def _line(*parts: Span | str, quote: bool = False) -> Line:
    return Line(tuple(p if isinstance(p, Span) else Span(p) for p in parts if p), quote)


def _copied(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    own = f.listing or {}
    copy = d.get("copy") if isinstance(d.get("copy"), dict) else {}
    heading = _line(_link(own, bold=True))
    currency = copy.get("currency") or own.get("currency")
    copy_line: list[Span | str] = [
        "Copy: ",
        _link(copy),
        f" — {money(copy.get('price'), currency)}",
    ]
    if copy.get("shop"):
        copy_line.append(f" at {clean(copy.get('shop'))}")
    mine, theirs = own.get("price"), copy.get("price")
    if all(isinstance(v, int | float) for v in (mine, theirs)):
        diff = mine - theirs
        if abs(diff) < 0.005:
            copy_line.append(" (same price)")
        else:
            word = "cheaper" if diff > 0 else "dearer"
            copy_line += [" (", Span(f"{money(abs(diff), currency)} {word}", bold=True), ")"]
    facts: list[Span | str] = [f"Your price: {money(mine, own.get('currency'))}"]
    sim = d.get("title_similarity")
    if isinstance(sim, int | float):
        facts.append(f" · title similarity {sim * 100:.0f}%")
    dist = d.get("image_distance")
    if dist is None:
        facts.append(" · photo not compared")
    elif f.severity is Severity.HIGH:
        facts += [" · ", Span("PHOTO STOLEN", bold=True), f" (image distance {dist})"]
    else:
        facts.append(f" · photo differs (image distance {dist})")
    return heading, [_line(*copy_line), _line(*facts)]


def _review(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    heading = _line(Span(stars(d.get("rating"))), " on ", _link(f.listing, bold=True))
    text = clean(d.get("text"), multiline=True)
    lines = [_line(text, quote=True) if text else _line("(no text)")]
    who = clean(d.get("author")) or "anonymous"
    when = _date(d.get("published_at"))
    lines.append(_line(f"— {who}" + (f", {when}" if when else "")))
    if d.get("reason") == "text":
        lines.append(_line("Flagged by its wording."))
    return heading, lines


_SEASONS = {"spring": "spring", "summer": "summer", "autumn": "autumn", "winter": "winter"}


def _launch(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    season = _SEASONS.get(str(d.get("season")), clean(d.get("season")))
    year = clean(d.get("year"))
    when = f"{season} {year}".strip()
    heading = _line(Span(f"{clean(f.shop)} has started {when}", bold=True))
    lines: list[Line] = []
    done, tracked = d.get("competitors_launched"), d.get("competitors_tracked")
    if isinstance(done, int) and isinstance(tracked, int):
        verb = "has" if done == 1 else "have"
        lines.append(_line(f"{done} of {tracked} competitors {verb} started {when}."))
    launched = d.get("launched") if isinstance(d.get("launched"), list) else []
    names = []
    for entry in launched:
        if isinstance(entry, dict):
            first = _date(entry.get("first") or entry.get("date") or entry.get("first_date"))
            names.append(clean(entry.get("name")) + (f" (since {first})" if first else ""))
    if names:
        lines.append(_line("Started: " + ", ".join(names)))
    items = d.get("items") if isinstance(d.get("items"), list) else []
    for item in items[:MAX_ITEMS]:
        brief = item if isinstance(item, dict) else {}
        lines.append(
            _line("• ", _link(brief), f" — {money(brief.get('price'), brief.get('currency'))}")
        )
    if len(items) > MAX_ITEMS:
        lines.append(_line(f"…and {len(items) - MAX_ITEMS} more new items"))
    return heading, lines


def _price(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    cur = (f.listing or {}).get("currency")
    text = f"{money(d.get('old'), cur)} → {money(d.get('new'), cur)}"
    pct = percent_change(d.get("old"), d.get("new"))
    return _line(_link(f.listing, bold=True)), [_line(text + (f" ({pct})" if pct else ""))]


def _stock_change(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    text = f"{_stock(d.get('old'))} → {_stock(d.get('new'))}"
    return _line(_link(f.listing, bold=True)), [_line(text)]


def _changed(f: Finding) -> tuple[Line, list[Line]]:
    changes = f.detail.get("changes") if isinstance(f.detail.get("changes"), dict) else {}
    cur = (f.listing or {}).get("currency")
    lines = []
    for name, change in changes.items():
        change = change if isinstance(change, dict) else {"old": None, "new": change}
        old, new = change.get("old"), change.get("new")
        label = clean(name).replace("_", " ").capitalize()
        if name == "price":
            pct = percent_change(old, new)
            lines.append(
                _line(
                    f"{label}: {money(old, cur)} → {money(new, cur)}" + (f" ({pct})" if pct else "")
                )
            )
        elif name in ("image", "images") or (isinstance(new, str) and safe_url(new)):
            lines.append(
                _line(
                    f"{label}: ",
                    Span("new", safe_url(new)),
                    " (was ",
                    Span("old", safe_url(old)),
                    ")",
                )
            )
        else:
            lines.append(_line(f"{label}: “{clean(old)}” → “{clean(new)}”"))
    return _line(_link(f.listing, bold=True)), lines or [_line(clean(f.summary))]


def _unreachable(f: Finding) -> tuple[Line, list[Line]]:
    d = f.detail
    n = d.get("failures")
    lines = []
    if isinstance(n, int):
        lines.append(_line(f"Failed {n} checks in a row."))
    if d.get("error"):
        lines.append(_line("Last error: " + clean(d.get("error"))))
    return _line(Span(f"{clean(f.shop)} could not be read", bold=True)), lines


def _other(f: Finding) -> tuple[Line, list[Line]]:
    heading = (
        _line(_link(f.listing, bold=True))
        if f.listing
        else _line(Span(clean(f.summary), bold=True))
    )
    lines = [_line(f"{clean(k)}: {clean(v)}") for k, v in f.detail.items()]
    return heading, lines


_KINDS: dict[str, Callable[[Finding], tuple[Line, list[Line]]]] = {
    "copied_listing": _copied,
    "negative_review": _review,
    "seasonal_launch": _launch,
    "price_change": _price,
    "stock_change": _stock_change,
    "listing_changed": _changed,
    "shop_unreachable": _unreachable,
}


def block(finding: Finding) -> Block:
    """The readable form of one finding."""
    heading, lines = _KINDS.get(finding.kind, _other)(finding)
    label = _LABELS.get(finding.kind, finding.kind.replace("_", " ").capitalize())
    return Block(finding, label, clean(finding.shop), heading, tuple(lines))


def blocks(batch: AlertBatch) -> list[Block]:
    """Every finding of ``batch`` as a block, most important first."""
    return [block(f) for f in batch.sorted()]


def fit(
    b: Block, render: Callable[[Block], str], limit: int, measure: Callable[[str], int] = len
) -> str:
    """``render(b)`` made to fit ``limit`` (as counted by ``measure``).

    Long texts are shortened first (every span cut to the longest length that fits, with
    "…"); if even that is too big, trailing lines are dropped and a "(shortened)" line says
    so. Markup stays valid because cutting happens before escaping.
    """
    text = render(b)
    if measure(text) <= limit:
        return text
    lo, hi, best = 20, b.longest_span(), None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = render(b.capped(mid))
        if measure(candidate) <= limit:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best
    small = b.capped(20)
    for n in range(len(small.lines) - 1, -1, -1):
        lines = (*small.lines[:n], _line("(shortened)"))
        candidate = render(replace(small, lines=lines))
        if measure(candidate) <= limit:
            return candidate
    raise ValueError(f"limit {limit} is too small for any block")


# -- email ---------------------------------------------------------------------------


def render_text(batch: AlertBatch) -> str:
    """The plain-text email body."""
    out = [subject_line(batch), ""]
    for b in blocks(batch):
        out.append(f"[{b.severity.value.upper()}] {b.title}")
        out.append("  " + _plain_line(b.heading))
        for line in b.lines:
            if line.quote:
                out.extend("  > " + x for x in line.plain.split("\n"))
            else:
                out.append("  " + _plain_line(line))
        out.append("")
    out.append("-- ")
    out.append("Sent by watcher.")
    return "\n".join(out) + "\n"


def _plain_line(line: Line) -> str:
    parts = []
    for s in line.spans:
        parts.append(f"{s.text} <{s.url}>" if s.url else s.text)
    return "".join(parts)


_COLOURS = {Severity.HIGH: "#d93025", Severity.MEDIUM: "#e37400", Severity.LOW: "#5f6368"}


def _html_line(line: Line) -> str:
    parts = []
    for s in line.spans:
        text = html_text(s.text, multiline=line.quote)
        if s.bold:
            text = f"<strong>{text}</strong>"
        if s.url:
            text = f'<a href="{html.escape(s.url, quote=True)}" style="color:#1a73e8">{text}</a>'
        parts.append(text)
    return "".join(parts)


def render_html(batch: AlertBatch) -> str:
    """The HTML email body: one card per finding, inline styles only (mail clients drop
    ``<style>``), every competitor-supplied string escaped."""
    cards = []
    for b in blocks(batch):
        colour = _COLOURS.get(b.severity, "#5f6368")
        rows = [
            f'<div style="font-size:12px;color:{colour};font-weight:bold;'
            f'text-transform:uppercase;letter-spacing:.04em">{html_text(b.severity.value)} · '
            f"{html_text(b.title)}</div>",
            f'<div style="font-size:16px;margin:4px 0 6px">{_html_line(b.heading)}</div>',
        ]
        for line in b.lines:
            if line.quote:
                rows.append(
                    '<blockquote style="margin:6px 0;padding:6px 10px;border-left:3px solid #ddd;'
                    f'background:#fafafa;white-space:pre-wrap">{_html_line(line)}</blockquote>'
                )
            else:
                rows.append(f'<div style="margin:2px 0">{_html_line(line)}</div>')
        cards.append(
            f'<div style="border:1px solid #e0e0e0;border-left:4px solid {colour};'
            'border-radius:4px;padding:10px 14px;margin:0 0 12px">' + "".join(rows) + "</div>"
        )
    title = html_text(subject_line(batch))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>"
        '<body style="margin:0;padding:16px;background:#f5f5f5">'
        '<div style="max-width:680px;margin:0 auto;background:#fff;padding:16px 20px;'
        "border-radius:6px;font-family:-apple-system,'Segoe UI',Roboto,'PingFang SC',"
        "'Microsoft YaHei',sans-serif;font-size:14px;line-height:1.5;color:#202124\">"
        f'<h2 style="font-size:18px;margin:0 0 14px">{title}</h2>'
        + "".join(cards)
        + '<p style="color:#80868b;font-size:12px;margin:16px 0 0">Sent by watcher.</p>'
        "</div></body></html>"
    )
