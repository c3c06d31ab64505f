"""Picking shops by name on the command line: case does not matter, and a miss suggests
the names that come close."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from watcher.cli.command import UsageError


def pick(wanted: Iterable[str], names: Sequence[str], what: str = "shop") -> list[str]:
    """The names in ``names`` that ``wanted`` ask for, matched without regard to case, in
    the order asked. UsageError for a name that matches none, with the close ones."""
    by_fold = {n.casefold(): n for n in names}
    picked: list[str] = []
    for w in wanted:
        name = by_fold.get(w.strip().casefold())
        if name is None:
            raise UsageError(_miss(w, names, what))
        if name not in picked:
            picked.append(name)
    return picked


def _miss(wanted: str, names: Sequence[str], what: str) -> str:
    folded = {n.casefold(): n for n in names}
    close = difflib.get_close_matches(wanted.casefold(), list(folded), n=3, cutoff=0.5)
    message = f"no {what} named {wanted!r}"
    if close:
        return message + f"; did you mean {' or '.join(repr(folded[c]) for c in close)}?"
    if names:
        return message + f" (there are: {', '.join(repr(n) for n in names)})"
    return message
