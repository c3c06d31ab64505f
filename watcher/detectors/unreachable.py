"""``shop_unreachable``: a shop failed several checks in a row (``unreachable_after``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from watcher.dates import parse_iso
from watcher.detectors.base import DetectContext, Detector
from watcher.i18n import Audience
from watcher.models import (
    Finding,
    FindingKind,
    KindDetail,
    KindNames,
    Severity,
    json_int,
    json_str,
)
from watcher.readable import Line, Span, clean, line


@dataclass(frozen=True, slots=True)
class UnreachableDetail(KindDetail):
    """``failures`` in a row, failing ``since`` (ISO 8601), the last ``error``."""

    kind: ClassVar[FindingKind] = FindingKind.SHOP_UNREACHABLE
    names: ClassVar[KindNames] = KindNames(
        "Shop unreachable", "unreachable shop", "unreachable shops", 4
    )

    failures: int | None
    since: str | None
    error: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read the stored detail."""
        return cls(
            json_int(data.get("failures")), json_str(data.get("since")), json_str(data.get("error"))
        )

    def severity(self) -> Severity:
        """An unreachable shop is medium."""
        return Severity.MEDIUM

    def lines(self, finding: Finding, a: Audience) -> tuple[Line, list[Line]]:
        """How many checks failed, since when, and the last error."""
        _ = a._
        lines = []
        if self.failures is not None:
            n = self.failures
            lines.append(
                line(a.n_("Failed %(num)d check in a row.", "Failed %(num)d checks in a row.", n))
            )
        since = parse_iso(self.since)
        if since is not None:
            lines.append(line(_("Failing since %(when)s.") % {"when": a.when(since)}))
        if self.error:
            lines.append(line(_("Last error: %(error)s") % {"error": clean(self.error)}))
        heading = _("%(shop)s could not be read") % {"shop": clean(finding.shop)}
        return line(Span(heading, bold=True)), lines


class ShopUnreachable(Detector):
    """One alert per outage, when the count of failed checks reaches the threshold."""

    kind = FindingKind.SHOP_UNREACHABLE

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        limit = self.config.watcher.unreachable_after
        for result in ctx.results:
            if result.status != "failed" or result.failures < limit or result.failing_since is None:
                continue
            since = result.failing_since.isoformat(timespec="seconds")
            n = result.failures
            detail = UnreachableDetail(n, since, result.error)
            yield Finding(
                kind=self.kind,
                severity=detail.severity(),
                shop=result.shop.name,
                listing=None,
                summary=f"{result.shop.name} could not be checked {n} time{'' if n == 1 else 's'} in a row: {result.error}",
                detail=detail,
                dedup_key=f"{self.kind}:{result.shop.name}:{since}",
                detected_at=ctx.now,
            )
