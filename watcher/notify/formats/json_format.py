"""The ``json`` format (contract): ``{"version": 1, "alerts": [finding, ...]}``.

Signed when a secret is set (design.md, "Contract, second round"):

- ``X-Watcher-Timestamp: <unix seconds>``, when the request was made;
- ``X-Watcher-Signature-V2: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``: a
  receiver recomputes it, compares in constant time, and rejects a timestamp more than a
  few minutes from its clock, so a captured request cannot be replayed later;
- ``X-Watcher-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (first round, kept
  for existing receivers; it does not protect against replays).

A digest (a channel with ``digest``) adds ``"digest": {"schedule", "title", "groups":
[{"kind", "shop", "count", "facts", "url"}]}`` beside every alert in full.

One request per batch; a batch over ``MAX_BYTES`` is split into several requests, each
a complete payload, marked ``X-Watcher-Part: 2/3``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import ClassVar

from watcher.models import AlertBatch
from watcher.notify.digest import digest_json
from watcher.notify.formats.base import Message, WebhookFormat, dumps, paginate

MAX_BYTES = 1_000_000


def signature(secret: str, body: bytes) -> str:
    """The ``X-Watcher-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_v2(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Watcher-Signature-V2`` header value for ``body`` sent at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class JsonFormat(WebhookFormat):
    """The documented JSON payload; any 2xx reply means delivered."""

    name = "json"
    signs = True
    max_messages: ClassVar[int] = 10**6
    max_bytes: ClassVar[int] = MAX_BYTES

    def messages(self, batch: AlertBatch) -> list[Message]:
        """One payload, or several when the body would pass ``max_bytes``."""
        findings = batch.sorted()
        alerts = [f.to_json() for f in findings]
        sizes = [len(dumps(a)) for a in alerts]
        pages, _ = paginate(sizes, budget=self.max_bytes - 64, separator=2)
        out = []
        extra = {"digest": digest_json(batch)} if batch.digest is not None else {}
        for n, idx in enumerate(pages, start=1):
            body = dumps({"version": 1, "alerts": [alerts[i] for i in idx], **extra})
            headers = {"Content-Type": "application/json"}
            if len(pages) > 1:
                headers["X-Watcher-Part"] = f"{n}/{len(pages)}"
            if self.secret:
                now = int(time.time())
                headers["X-Watcher-Signature"] = signature(self.secret, body)
                headers["X-Watcher-Timestamp"] = str(now)
                headers["X-Watcher-Signature-V2"] = signature_v2(self.secret, now, body)
            out.append(Message(body, headers, shown=[findings[i] for i in idx]))
        return out
