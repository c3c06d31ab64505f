"""``shop_unreachable``: a shop failed several checks in a row (``unreachable_after``)."""

from __future__ import annotations

from collections.abc import Iterable

from watcher.detectors.base import DetectContext, Detector
from watcher.models import Finding, Severity


class ShopUnreachable(Detector):
    """One alert per outage, when the count of failed checks reaches the threshold."""

    kind = "shop_unreachable"

    def detect(self, ctx: DetectContext) -> Iterable[Finding]:
        limit = self.config.watcher.unreachable_after
        for result in ctx.results:
            if result.status != "failed" or result.failures < limit or result.failing_since is None:
                continue
            since = result.failing_since.isoformat(timespec="seconds")
            yield Finding(
                kind=self.kind,
                severity=Severity.MEDIUM,
                shop=result.shop.name,
                listing=None,
                summary=f"{result.shop.name} could not be checked {result.failures} times in a row: {result.error}",
                detail={"failures": result.failures, "since": since, "error": result.error},
                dedup_key=f"{self.kind}:{result.shop.name}:{since}",
                detected_at=ctx.now,
            )
