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
from urllib.parse import urlencode

import watcher.detectors  # noqa: F401 - registers every kind's detail and names
from watcher.i18n import ENGLISH, Audience
from watcher.models import (
    AlertBatch,
    DigestView,
    Evidence,
    Finding,
    Severity,
    kind_detail,
    kind_names,
    typed,
)
from watcher.readable import Line, Span, clean, line, link, plain_text, safe_url


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
    ``heading`` line and detail ``lines``, and its ``evidence`` (dashboard page, photos)."""

    finding: Finding
    label: str
    shop: str
    heading: Line
    lines: tuple[Line, ...] = field(default=())
    evidence: Evidence = field(default_factory=Evidence)
    members: tuple[Finding, ...] = field(default=())
    """The findings a digest's summary block stands for (empty: just ``finding``)."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding this block delivers."""
        return self.members or (self.finding,)

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


def plural(n: int, kind: str, a: Audience = ENGLISH) -> str:
    """``"1 copied listing"``, ``"2 copied listings"`` (``"2 个同款"``)."""
    names = kind_names(kind)
    return f"{n} {a.lang.ngettext(names.one, names.many, n)}"


def _by_kind(findings: Iterable[Finding]) -> tuple[Counter[str], list[str]]:
    """Counts by kind, and the kinds most important first."""
    counts = Counter(str(f.kind) for f in findings)
    return counts, sorted(counts, key=lambda k: (kind_names(k).order, k))


def counts_text(findings: Iterable[Finding], a: Audience = ENGLISH) -> str:
    """Counts by kind, most important kind first: ``"2 negative reviews, 1 copied listing"``."""
    counts, kinds = _by_kind(findings)
    return a.comma.join(plural(counts[k], k, a) for k in kinds)


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
    """One line for an email subject or a chat header, in the batch's language.

    ``"My Shop: 2 negative reviews, 1 copied listing"``. With several shops the most
    important come first (``"My Shop, Rival A and 2 more shops: …"``); past three kinds
    the rest are summed (``"… and 4 other alerts"``).
    """
    a = batch.audience
    findings = batch.findings
    if not findings:
        return a._("no new alerts")
    if batch.digest is not None:
        return digest_title(batch)
    shops = _importance(findings)
    if len(shops) == 1:
        who = _clip(shops[0], 80)
    else:
        who = a.comma.join(_clip(s, 40) for s in shops[:2])
        if len(shops) > 2:
            who = a.n_(
                "%(shops)s and %(num)d more shop",
                "%(shops)s and %(num)d more shops",
                len(shops) - 2,
                shops=who,
            )
    counts, kinds = _by_kind(findings)
    what = a.comma.join(plural(counts[k], k, a) for k in kinds[:3])
    rest = sum(counts[k] for k in kinds[3:])
    if rest:
        what = a.n_(
            "%(alerts)s and %(num)d other alert",
            "%(alerts)s and %(num)d other alerts",
            rest,
            alerts=what,
        )
    return clean(f"{who}{a.colon}{what}")


def more_note(left_out: Sequence[Finding], a: Audience = ENGLISH) -> str:
    """The note that replaces findings a message had no room for:
    ``"…and 37 more alerts not shown here: 30 price changes, 7 stock changes."``"""
    return a.n_(
        "…and %(num)d more alert not shown here: %(counts)s.",
        "…and %(num)d more alerts not shown here: %(counts)s.",
        len(left_out),
        counts=counts_text(left_out, a),
    )


def block(finding: Finding, a: Audience = ENGLISH, evidence: Evidence | None = None) -> Block:
    """The readable form of one finding for audience ``a``, as its kind's module writes it."""
    heading, lines = typed(finding).lines(finding, a)
    label = a._(kind_names(finding.kind).label)
    ev = evidence or Evidence()
    return Block(finding, label, clean(finding.shop), heading, (*lines, *evidence_lines(ev, a)), ev)


def evidence_lines(ev: Evidence, a: Audience) -> list[Line]:
    """Links to both photos of a copy (yours | the copy's) and to the alert's page on the
    dashboard, when they are known."""
    out = []
    own = safe_url(ev.own_photo.url) if ev.own_photo else None
    theirs = safe_url(ev.copy_photo.url) if ev.copy_photo else None
    if own or theirs:
        parts: list[Span | str] = [a._("Photos:"), " "]
        if own:
            parts.append(Span(a._("yours"), own))
        if own and theirs:
            parts.append(" | ")
        if theirs:
            parts.append(Span(a._("the copy's"), theirs))
        out.append(line(*parts))
    page = safe_url(ev.page)
    if page:
        out.append(line(Span(a._("Open in the dashboard"), page)))
    return out


def blocks(batch: AlertBatch) -> list[Block]:
    """Every finding of ``batch`` as a block, most important first (a digest: grouped,
    storms summarised, see :mod:`watcher.notify.digest`)."""
    if batch.digest is not None:
        return digest_blocks(batch)
    return [block(f, batch.audience, batch.evidence_of(f)) for f in batch.sorted()]


def one_line(finding: Finding, a: Audience = ENGLISH, chars: int = 200) -> str:
    """A finding as one line of plain text (a terminal's summary column): its heading and
    its first detail line."""
    b = block(finding, a)
    parts = [plain_text(b.heading), *(plain_text(x) for x in b.lines[:1] if not x.quote)]
    return _clip(" · ".join(p for p in parts if p), chars)


def fit(
    b: Block,
    render: Callable[[Block], str],
    limit: int,
    measure: Callable[[str], int] = len,
    shortened: str = "(shortened)",
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
        lines = (*small.lines[:n], line(shortened))
        candidate = render(replace(small, lines=lines))
        if measure(candidate) <= limit:
            return candidate
    raise ValueError(f"limit {limit} is too small for any block")


# -- digests ---------------------------------------------------------------------------

COLLAPSE = 4
"""Findings of one kind in one shop a digest shows one by one; more are summarised."""
EXAMPLES = 3
"""Findings a summarised group still shows."""


def dashboard_link(public_url: str, shop: str, kind: str) -> str:
    """The dashboard's alert list of one shop and kind."""
    return f"{public_url.rstrip('/')}/alerts?{urlencode({'shop': shop, 'kind': kind})}"


def groups(batch: AlertBatch) -> list[tuple[str, str, list[Finding]]]:
    """(kind, shop, findings) in order of importance: the most important finding first."""
    out: dict[tuple[str, str], list[Finding]] = {}
    for f in batch.sorted():
        out.setdefault((str(f.kind), f.shop), []).append(f)
    return [(kind, shop, fs) for (kind, shop), fs in out.items()]


EXAMPLE_QUOTE_CHARS = 60
"""How much of a quoted text (a review) an example line of a storm shows."""


def _example(f: Finding, a: Audience) -> Line:
    """One finding on one line: its heading and its first detail line; a quoted text (a
    review) on one line, shortened."""
    b = block(f, a)
    first = b.lines[0] if b.lines else None
    if first is None:
        return Line(b.heading.spans)
    if first.quote:
        text = " ".join("".join(s.text for s in first.spans).split())
        if len(text) > EXAMPLE_QUOTE_CHARS:
            text = text[: EXAMPLE_QUOTE_CHARS - 1].rstrip() + "…"
        return Line((*b.heading.spans, Span(f" — “{text}”")))
    return Line((*b.heading.spans, Span(" — "), *first.spans))


def facts(kind: str, findings: Sequence[Finding], a: Audience = ENGLISH) -> list[str]:
    """The count of a group and what its kind says about many of them."""
    detail = kind_detail(kind)
    said: list[str] = []
    if detail is not None:
        details = [d for d in (typed(f) for f in findings) if isinstance(d, detail)]
        said = detail.digest_facts(details, a)
    return [a.n_("%(num)d alert", "%(num)d alerts", len(findings)), *said]


def summary_block(
    kind: str, shop: str, findings: list[Finding], view: DigestView, a: Audience = ENGLISH
) -> Block:
    """A storm of one kind in one shop as one block (see the module docstring)."""
    n = len(findings)
    lines = [_example(f, a) for f in findings[:EXAMPLES]]
    more = n - len(lines)
    if view.public_url:
        text = a.n_("All %(num)d in the dashboard", "All %(num)d in the dashboard", n)
        lines.append(line(link(text, dashboard_link(view.public_url, shop, kind))))
    elif view.attached:
        text = a.n_(
            "All %(num)d in the attached file %(file)s",
            "All %(num)d in the attached file %(file)s",
            n,
            file=view.attached,
        )
        lines.append(line(text))
    elif more:
        text = a.n_(
            "…and %(num)d more (`watcher alerts` lists them all)",
            "…and %(num)d more (`watcher alerts` lists them all)",
            more,
        )
        lines.append(line(text))
    heading = line(Span(a.comma.join(facts(kind, findings, a)), bold=True))
    label = a._(kind_names(kind).label)
    return Block(findings[0], label, clean(shop), heading, tuple(lines), members=tuple(findings))


def digest_blocks(batch: AlertBatch) -> list[Block]:
    """The blocks of a digest (see :mod:`watcher.notify.digest`): small groups finding by
    finding, a storm of one kind in one shop summarised in one block; all for the batch's
    audience."""
    view = batch.digest or DigestView()
    a = batch.audience
    out: list[Block] = []
    for kind, shop, fs in groups(batch):
        if len(fs) > COLLAPSE:
            out.append(summary_block(kind, shop, fs, view, a))
        else:
            out += [block(f, a, batch.evidence_of(f)) for f in fs]
    return out


def slot_label(view: DigestView, a: Audience = ENGLISH) -> str:
    """What a digest is called by its schedule: a daily one by its time on the local clock
    (``08:30``, as configured), an interval one by the interval and the local time it was
    sent (``1h, 14:00``, in the audience's zone)."""
    if ":" in view.schedule or view.at is None:
        return view.schedule
    return f"{view.schedule}{a.comma}{view.at.astimezone(a.tz):%H:%M}"


def digest_title(batch: AlertBatch) -> str:
    """``Digest (08:30): 52 alerts — Price change 48, Stock change 3, Copied listing 1``,
    in the batch's language."""
    view = batch.digest or DigestView()
    a = batch.audience
    n = len(batch.findings)
    head = a.n_(
        "Digest (%(schedule)s): %(num)d alert",
        "Digest (%(schedule)s): %(num)d alerts",
        n,
        schedule=slot_label(view, a),
    )
    counts: dict[str, int] = {}
    for f in batch.sorted():
        counts[str(f.kind)] = counts.get(str(f.kind), 0) + 1
    kinds = a.comma.join(f"{a._(kind_names(k).label)} {c}" for k, c in counts.items())
    return clean(f"{head} — {kinds}")
