"""Two titles side by side with what differs marked: the evidence page shows what a
copier added to or removed from the seller's title (``【包邮】``, ``2027新款``...)."""

from __future__ import annotations

from difflib import SequenceMatcher

__all__ = ["Segment", "title_diff"]

Segment = tuple[str, bool]
"""A run of text and whether it differs from the other title."""


def _merge(parts: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for text, changed in parts:
        if not text:
            continue
        if out and out[-1][1] == changed:
            out[-1] = (out[-1][0] + text, changed)
        else:
            out.append((text, changed))
    return out


def title_diff(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """Each title as runs of text, the runs not shared with the other title marked.

    Compared character by character (Chinese titles have no spaces) and case-blind, so
    ``Dress`` and ``dress`` read as the same word; whitespace and words that only moved
    are not marked."""
    # one item per character, so indices stay those of the original strings
    matcher = SequenceMatcher(
        None, [c.casefold() for c in a], [c.casefold() for c in b], autojunk=False
    )
    fa, fb = a.casefold(), b.casefold()

    def differs(run: str, other: str) -> bool:
        # a run that only moved (the same words elsewhere in the other title) is not new
        word = run.strip().casefold()
        return bool(word) and word not in other

    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        same = op == "equal"
        left.append((a[i1:i2], not same and differs(a[i1:i2], fb)))
        right.append((b[j1:j2], not same and differs(b[j1:j2], fa)))
    return _merge(left), _merge(right)
