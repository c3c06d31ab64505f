"""The exception tree of watcher.

WatcherError                 base of everything watcher raises on purpose
├── ConfigError              a user's config is wrong; names the key path; exit code 2
├── FetchError               a shop could not be read this time ("unknown", never "removed")
│   ├── BlockedError         robots.txt forbids the path, or a non-http(s) URL
│   ├── TooLargeError        the response passed the size cap (also after decompression)
│   ├── BadResponseError     a status, content type or body we cannot use (incl. captchas)
│   └── TransportError       connect errors and timeouts after all retries
├── ParseError               a page was fetched but holds no usable record
├── StorageError             the database refused a write (disk full, locked); retried later
└── DeliveryError            an alert channel failed; ``retryable`` says whether to try again
"""

from __future__ import annotations

from collections.abc import Sequence


class WatcherError(Exception):
    """Base class of every error watcher raises on purpose."""


class ConfigError(WatcherError):
    """The configuration is invalid; ``path`` names the offending key (``shops[2].url``)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class FetchError(WatcherError):
    """A fetch failed; the shop's state is unknown for this check."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)


class BlockedError(FetchError):
    """The URL may not be fetched: robots.txt forbids it or its scheme is not http(s)."""


class TooLargeError(FetchError):
    """The response body passed the configured size cap."""


class BadResponseError(FetchError):
    """The server answered with something unusable: an error status, HTML instead of JSON, a captcha."""


class TransportError(FetchError):
    """Connection errors or timeouts that outlived every retry."""


class ParseError(WatcherError):
    """A fetched page holds no record watcher can use."""


class StorageError(WatcherError):
    """The database refused an operation (disk full, locked); the check is retried later."""


class DeliveryError(WatcherError):
    """An alert could not be delivered.

    ``retryable`` is False for permanent failures (a 4xx other than 408/429, a rejected
    signature); ``retry_after`` is the delay the receiver asked for, in seconds;
    ``delivered`` holds the dedup keys of the batch's findings that did reach the
    receiver before the failure (earlier messages of a multi-message batch).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        delivered: Sequence[str] = (),
    ) -> None:
        self.retryable = retryable
        self.retry_after = retry_after
        self.delivered = frozenset(delivered)
        super().__init__(message)
