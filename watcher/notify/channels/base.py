"""The Channel interface: one class per alert channel kind, discovered by its ``kind``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import httpx

from watcher.models import AlertBatch


class Channel(ABC):
    """Delivers one batch of alerts somewhere.

    Subclasses declare ``kind`` and a dataclass ``Options`` (validated by
    :func:`watcher.config.build`, so a bad key is reported with its path). ``send`` raises
    :class:`~watcher.errors.DeliveryError` with ``retryable`` set; returning means
    delivered.
    """

    kind: ClassVar[str]
    Options: ClassVar[type[Any]]
    attaches: ClassVar[bool] = False
    """Whether a digest's full list travels as an attached file (email)."""

    def __init__(self, options: Any, client: httpx.AsyncClient) -> None:
        self.options = options
        self.client = client

    @property
    def pause(self) -> float:
        """Seconds to wait between two sends to this channel (its rate limit)."""
        return 0.0

    @abstractmethod
    async def send(self, batch: AlertBatch) -> None:
        """Deliver ``batch``; raise DeliveryError on failure."""
