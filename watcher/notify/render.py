"""Alerts as a seller reads them: most important first, a link to every listing.

:func:`blocks` turns each finding into a format-neutral :class:`Block`: its kind's label,
the shop, and the heading and detail lines the kind's module writes
(``KindDetail.lines`` in ``watcher/detectors/<kind>.py``). Each output (the email bodies
in :mod:`watcher.notify.mail`, the chat formats in :mod:`watcher.notify.formats`) renders
blocks in its own markup (:mod:`watcher.notify.markup`), escaping hostile text exactly once,
at the edge. :func:`fit` shortens a block to a size limit without breaking markup;
:func:`subject_line` and :func:`more_note` are the header and the "…and N more" note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import assert_never

import watcher.detectors  # noqa: F401 - registers every kind's detail and names
from watcher.models import AlertBatch, Finding, Severity, kind_names, typed
from watcher.readable import Line, Span, clean, line


@dataclass(frozen=True, slots=True)
class SeverityStyle:
    """How a severity looks: a coloured dot and its colour."""

    icon: str
    colour: str


def severity_style(severity: Severity) -> SeverityStyle:
    """Red for high, orange for medium, grey-blue for low."""
    match severity:
        case Severity.HIGH:
            return SeverityStyle("🔴", "#d93025")
        case Severity.MEDIUM:
            return SeverityStyle("🟠", "#e37400")
        case Severity.LOW:
            return SeverityStyle("🔵", "#5f6368")
        case _:
            assert_never(severity)


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
        return severity_style(self.finding.severity).icon

    @property
    def title(self) -> str:
        """``"Copied listing · My Shop"``."""
        return f"{self.label} · {clean(self.shop)}" if self.shop else self.label

    def capped(self, chars: int) -> Block:
        """A copy with every span's text cut to ``chars`` characters (with "…")."""

        def cap(x: Line) -> Line:
            return replace(x, spans=tuple(_cap_span(s, chars) for s in x.spans))

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
    names = kind_names(kind)
    return f"{n} {names.one if n == 1 else names.many}"


def _by_kind(findings: Iterable[Finding]) -> tuple[Counter[str], list[str]]:
    """Counts by kind, and the kinds most important first."""
    counts = Counter(str(f.kind) for f in findings)
    return counts, sorted(counts, key=lambda k: (kind_names(k).order, k))


def counts_text(findings: Iterable[Finding]) -> str:
    """Counts by kind, most important kind first: ``"2 negative reviews, 1 copied listing"``."""
    counts, kinds = _by_kind(findings)
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
    counts, kinds = _by_kind(findings)
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


def block(finding: Finding) -> Block:
    """The readable form of one finding, as its kind's module writes it."""
    heading, lines = typed(finding).lines(finding)
    label = kind_names(finding.kind).label
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
        lines = (*small.lines[:n], line("(shortened)"))
        candidate = render(replace(small, lines=lines))
        if measure(candidate) <= limit:
            return candidate
    raise ValueError(f"limit {limit} is too small for any block")
