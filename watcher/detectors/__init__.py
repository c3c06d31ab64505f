"""Finding kinds: one module per kind, discovered.

A kind's module (``prices.py`` for ``price_change``...) holds everything about the kind:

- its **detail**: a frozen dataclass subclassing :class:`~watcher.models.KindDetail`,
  whose fields are the contract JSON (``to_json``; ``from_json`` reads stored alerts
  leniently), with the kind's ``names`` (label, plural, order among findings of one
  severity), its ``severity`` rule, and ``lines``: how a finding reads, as a heading
  :class:`~watcher.readable.Line` and detail lines that every output format renders;
- its **detector**: a :class:`~watcher.detectors.base.Detector` subclass with the same
  ``kind``, which reads the check's results (and stored state) and yields findings.

Nothing outside the module is keyed by kind: the alert texts, their order, the JSON
payload and the ``kinds = [...]`` filter of a channel all read from here.

Adding a kind ``rating_drop`` (``position.py``, for ``price_position``, is a complete
module of this shape)::

    # watcher/models.py: the contract list of kinds gets one member
    RATING_DROP = "rating_drop"

    # watcher/detectors/rating.py: the new module
    @dataclass(frozen=True, slots=True)
    class RatingDetail(KindDetail):
        kind: ClassVar[FindingKind] = FindingKind.RATING_DROP
        names: ClassVar[KindNames] = KindNames("Rating drop", "rating drop", "rating drops", 8)
        old: float | None
        new: float | None
        @classmethod
        def from_json(cls, data: Mapping[str, Any]) -> Self: ...
        def severity(self) -> Severity: return Severity.MEDIUM
        def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]: ...

    class RatingDrop(Detector):
        kind = FindingKind.RATING_DROP
        def detect(self, ctx: DetectContext) -> Iterable[Finding]: ...

plus its test (``tests/test_detector_rating.py``). ``tests/test_kinds.py`` fails until
every :class:`~watcher.models.FindingKind` member has exactly one detail and one detector.

Importing this package imports every kind module, so every detail class is registered
(stored alerts read back typed) before anything renders a finding.
"""

from __future__ import annotations

import sys
from functools import cache

from watcher.detectors.base import DetectContext, Detector, ShopResult
from watcher.models import FindingKind, KindDetail, kind_detail
from watcher.plugins import discover


@cache
def detector_kinds() -> dict[str, type[Detector]]:
    """Every detector class by the finding kind it raises."""
    return discover(sys.modules[__name__], Detector)


def kind_details() -> dict[FindingKind, type[KindDetail]]:
    """Every finding kind's detail class (after importing every kind module)."""
    detector_kinds()
    return {k: cls for k in FindingKind if (cls := kind_detail(k)) is not None}


detector_kinds()

__all__ = ["DetectContext", "Detector", "ShopResult", "detector_kinds", "kind_details"]
