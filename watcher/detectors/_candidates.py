"""Competitor listings whose titles resemble own titles, found a page of candidates at a
time: the copy and price-position detectors both look for "the same item elsewhere", and
a check's memory must not grow with the number of watched shops.

The candidates' titles are read :data:`PAGE` at a time (ids and titles only), each page is
searched with a :class:`~watcher.text.similarity.TitleIndex` built for it alone, and only
the matches are read in full. :class:`TitleIndex` scores each candidate on its own, so the
result is the same as one index over every candidate.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

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
) -> list[Hits]:
    """For each of ``titles``, the active competitor listings (of ``shops`` only, when
    given) whose titles are at least ``threshold`` alike, plus the listings of ``always``
    (copy-search results: compared whatever their title), each with its title similarity,
    in listing id order."""
    # Imported here: numpy and friends cost ~20 MB a check with no own listings skips.
    from watcher.text.similarity import TitleIndex, title_similarity

    if not titles:
        return []
    found: list[dict[int, float]] = [{} for _ in titles]
    after = 0
    while batch := reads.candidate_titles(after, page, shops):
        index = TitleIndex([t for _, t in batch])
        for title, hits in zip(titles, found, strict=True):
            for i, sim in index.matches(title, threshold):
                hits[batch[i][0]] = sim
        after = batch[-1][0]
        del index
    wanted = set(always).union(*found)
    rows = {c.id: c for c in reads.candidates(sorted(wanted))} if wanted else {}
    out: list[Hits] = []
    for title, hits in zip(titles, found, strict=True):
        for lid in always:
            row = rows.get(lid)
            if lid not in hits and row is not None and (shops is None or row.shop in shops):
                hits[lid] = title_similarity(title, row.title)
        out.append([(rows[lid], hits[lid]) for lid in sorted(hits) if lid in rows])
    return out
