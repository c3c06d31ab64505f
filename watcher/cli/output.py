"""What the commands print: tables on the terminal, JSON lines for scripts.

Every table cell is plain text, never rich markup: titles, summaries and shop names come
from fetched pages, and ``[/]`` or ``[link=…]`` in them must neither crash a table nor turn
into a terminal link. Control characters (terminal escape sequences) are shown as ``�``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from watcher.i18n import ENGLISH, N_, Audience
from watcher.models import AlertBatch, Finding, Severity, kind_names

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from watcher.runner import CheckReport

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "red"}


def console(width: int = 200) -> Console:
    """A console for stdout; piped output (logs, cron mail) gets ``width``-column lines
    instead of 80-column folding."""
    from rich.console import Console  # only the commands that print tables need rich

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else width)


def _json_default(value: object) -> object:
    """Moments as ISO 8601 (``2026-12-01T04:14:04+00:00``, as in the alerts' JSON),
    anything else as its text."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def print_json(obj: Any) -> None:
    """One JSON object per line on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
    sys.stdout.flush()


def cell(value: object, style: str = "") -> Text:
    """One table cell as plain text (no markup), with control characters made visible."""
    from rich.text import Text

    if isinstance(value, Text):
        return value
    text = "" if value is None else str(value)
    return Text(_CONTROL.sub("\ufffd", text), style=style)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A table whose every cell goes through :func:`cell`."""
    from rich.table import Table

    out = Table(title=cell(title), title_justify="left")
    for column in columns:
        out.add_column(cell(column), overflow="fold")
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def findings_table(findings: list[Finding], title: str = "", a: Audience = ENGLISH) -> Table:
    """A table of findings, most important first, in ``a``'s words (``title`` defaults
    to "New findings")."""
    title = title or a._("New findings")
    return table(
        f"{title} ({len(findings)})",
        (a._("severity"), a._("kind"), a._("shop"), a._("summary")),
        (
            (
                cell(severity_word(a, f.severity), SEVERITY_STYLE[str(f.severity)]),
                kind_label(a, f.kind),
                f.shop,
                summary(f, a),
            )
            for f in AlertBatch(findings).sorted()
        ),
    )


def kind_label(a: Audience, kind: str) -> str:
    """A finding kind as the audience reads it: its code in English (what ``kinds = [...]``
    takes), its name otherwise."""
    return kind if a.code == "en" else a._(kind_names(kind).label)


def summary(f: Finding, a: Audience) -> str:
    """A finding's one line: its ``summary`` in English, its rendered heading and first
    line in any other language."""
    from watcher.notify.render import one_line

    return f.summary if a.code == "en" else one_line(f, a)


def severity_word(a: Audience, severity: str) -> str:
    """A severity in ``a``'s words."""
    from watcher.notify.mail import severity_word as word

    try:
        return word(a, Severity(severity))
    except ValueError:
        return severity


def shops_table(
    report: CheckReport, redact: Callable[[str], str] = str, a: Audience = ENGLISH
) -> Table:
    """Per-shop status of a check; ``redact`` masks secrets in the error notes."""
    return table(
        a._("Shops"),
        (
            a._("shop"),
            a._("status"),
            a._("listings"),
            a._("new listings"),
            a._("changed listings"),
            a._("note"),
        ),
        (
            (
                r.shop.name,
                cell(a._(STATUS_WORDS[r.status]), STATUS_STYLE[r.status]),
                r.changes.seen_count,
                r.changes.new_count,
                len(r.changes.changed),
                redact(r.error or ""),
            )
            for r in report.results
        ),
    )


STATUS_WORDS = {"ok": N_("ok"), "partial": N_("partial"), "failed": N_("could not be read")}
