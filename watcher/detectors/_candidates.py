"""Competitor listings whose titles resemble own titles, found a page of candidates at a
time: the copy and price-position detectors both look for "the same item elsewhere", and
a check's memory must not grow with the number of watched shops.

The candidates' titles are read :data:`PAGE` at a time (ids and titles only), each page is
searched with a :class:`~watcher.text.similarity.TitleIndex` built for it alone, and only
the matches are read in full. :class:`TitleIndex` scores each candidate on its own, so the
result is the same as one index over every candidate.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, MutableMapping, Sequence
from typing import Any

from watcher.store.reads import CandidateListing, DetectReads

PAGE = 5000
"""Candidate titles searched at once: ~3 MB of index, whatever the number of shops."""

Hits = list[tuple[CandidateListing, float]]


def similar_candidates(
    reads: DetectReads,
    titles: Sequence[str],
    threshold: float,
    *,
    shops: Collection[str] | None = None,
    always: Collection[int] = (),
    page: int = PAGE,
    shared: MutableMapping[Hashable, Any] | None = None,
) -> list[Hits]:
    """For each of ``titles``, the active competitor listings (of ``shops`` only, when
    given) whose titles are at least ``threshold`` alike, plus the listings of ``always``
    (copy-search results: compared whatever their title), each with its title similarity,
    in listing id order.

    With ``shared`` (a check's :attr:`~watcher.detectors.base.DetectContext.shared`), the
    search covers every shop once and is kept there for the other detectors of the check;
    ``shops`` then only filters what it found, which gives the same answer."""
    # Imported here: numpy and friends cost ~20 MB a check with no own listings skips.
    from watcher.text.similarity import title_similarity

    if not titles:
        return []
    if shared is None:
        found, rows = _search(reads, titles, threshold, shops, page)
    else:
        key = ("similar_candidates", tuple(titles), threshold, page)
        entry = shared.get(key)
        # Kept with the reads it came from: a context whose reads were replaced searches again.
        if entry is None or entry[0] is not reads:
            entry = (reads, *_search(reads, titles, threshold, None, page))
            shared[key] = entry
        found, rows = entry[1], entry[2]
    missing = set(always).difference(rows)
    if missing:
        rows = rows | {c.id: c for c in reads.candidates(sorted(missing))}

    def wanted(lid: int) -> bool:
        return lid in rows and (shops is None or rows[lid].shop in shops)

    out: list[Hits] = []
    for title, hits in zip(titles, found, strict=True):
        mine = {lid: sim for lid, sim in hits.items() if wanted(lid)}
        for lid in always:
            if lid not in mine and wanted(lid):
                mine[lid] = title_similarity(title, rows[lid].title)
        out.append([(rows[lid], mine[lid]) for lid in sorted(mine)])
    return out


def _search(
    reads: DetectReads,
    titles: Sequence[str],
    threshold: float,
    shops: Collection[str] | None,
    page: int,
) -> tuple[list[dict[int, float]], dict[int, CandidateListing]]:
    """Per title, the ids of the listings at least ``threshold`` alike with their
    similarity; and every one of those listings, read in full."""
    from watcher.text.similarity import TitleIndex

    found: list[dict[int, float]] = [{} for _ in titles]
    after = 0
    while batch := reads.candidate_titles(after, page, shops):
        index = TitleIndex([t for _, t in batch])
        for title, hits in zip(titles, found, strict=True):
            for i, sim in index.matches(title, threshold):
                hits[batch[i][0]] = sim
        after = batch[-1][0]
        del index
    wanted = set().union(*found)
    rows = {c.id: c for c in reads.candidates(sorted(wanted))} if wanted else {}
    return found, rows
