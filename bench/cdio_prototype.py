"""``watcher`` with prototype fixes monkeypatched in, to measure them before making them.

Used by ``compare_changedetection.py --prototype``; runs ``watcher.cli.main`` with the
command-line arguments given. Each patch stands for a change outside ``watcher/sources``
that is recommended in ``bench/results/changedetection.md`` (``sniffio`` and ``repr`` were made
in 780a173; their patches are no-ops since):

* ``sniffio``: httpcore asks ``import sniffio`` which library runs it on every lock it
  sets up (several per request). sniffio is not installed (anyio 4.16 no longer depends
  on it), and a failed import searches all of ``sys.path`` each time: about 1.5 ms of CPU
  per request. The fix is the dependency ``sniffio>=1.3`` in pyproject.toml; the patch
  answers "asyncio" the way sniffio would.
* ``copies``: ``CopiedListing._pairs`` (watcher/detectors/copies.py) imports
  ``watcher.text.similarity`` (numpy, rapidfuzz) before it knows whether there is any own
  listing to compare, and ``CopiedListing.detect`` imports ``watcher.images`` (numpy,
  Pillow) before it looks at the pairs: ~20 MB and ~0.3 s for a config without own shops.
  The fix moves the imports under ``if own:`` / after the first pair; the patch returns
  [] early in that case.
* ``repr``: when ``asyncio.run`` ends it restores the SIGINT handler, and
  ``signal.getsignal`` formats a ValueError with the repr of asyncio's handler, which holds
  the main task, whose repr holds ``repr(result)``: the whole ``CheckReport`` (every
  listing with its reviews, every finding) as one string, ~26 MB and ~0.25 s at 500
  listings, growing with the listings. The fix is a short ``__repr__`` on ``CheckReport``
  (watcher/runner.py: ``@dataclass(slots=True, repr=False)`` plus ``__repr__`` giving the
  counts); the patch sets that ``__repr__``.
* ``transport``: httpcore + anyio + h11 cost ~2.5 ms of CPU per
  100 KB response; httpx's client layer alone ~0.3 ms and a plain asyncio-streams
  request ~0.4 ms. :class:`StreamsTransport` is a minimal keep-alive HTTP/1.1 transport
  for ``http://`` on asyncio streams (https still goes to httpx's own transport), given
  to ``watcher.http.Http``'s client. It reads each body whole (a real one must stream so
  the size cap stops early) and has no proxy support: a measurement, not the fix.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx

PATCHES = ("sniffio", "copies", "repr", "transport")


class StreamsTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio streams for http://; https goes to httpx's."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[tuple[Any, Any]]] = {}
        self._tls: httpx.AsyncHTTPTransport | None = None  # made on first https request

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, read the whole response."""
        if request.url.scheme != "http":
            self._tls = self._tls or httpx.AsyncHTTPTransport()
            return await self._tls.handle_async_request(request)
        key = (request.url.host, request.url.port or 80)
        timeout = (request.extensions.get("timeout") or {}).get("read") or 20.0
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        head = [f"{request.method} {target} HTTP/1.1".encode()]
        head += [k + b": " + v for k, v in request.headers.raw]
        data = b"\r\n".join(head) + b"\r\n\r\n" + body
        for attempt in (0, 1):
            idle = self._idle.get(key)
            reused = bool(idle)
            if idle:
                reader, writer = idle.pop()
            else:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(*key), timeout)
            try:
                writer.write(data)
                raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            except (OSError, asyncio.IncompleteReadError) as e:
                writer.close()
                if reused and attempt == 0:
                    continue  # a keep-alive connection the server had closed
                raise httpx.ReadError(str(e), request=request) from None
            break
        lines = raw[:-4].split(b"\r\n")
        version, status = lines[0].split(b" ", 2)[:2]
        headers = [tuple(x.strip() for x in line.split(b":", 1)) for line in lines[1:]]
        low = {k.lower(): v for k, v in headers}
        keep = version == b"HTTP/1.1" and low.get(b"connection", b"").lower() != b"close"
        if request.method == "HEAD" or int(status) in (204, 304):
            content = b""
        elif b"content-length" in low:
            content = await asyncio.wait_for(
                reader.readexactly(int(low[b"content-length"])), timeout
            )
        elif low.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            content = b"".join(parts)
        else:
            content, keep = await reader.read(), False
        if keep:
            self._idle.setdefault(key, []).append((reader, writer))
        else:
            writer.close()
        return httpx.Response(
            int(status), headers=headers, stream=httpx.ByteStream(content), request=request
        )

    async def aclose(self) -> None:
        """Close idle connections."""
        for conns in self._idle.values():
            for _, writer in conns:
                writer.close()
        self._idle.clear()
        if self._tls is not None:
            await self._tls.aclose()


def apply(names: tuple[str, ...] = PATCHES) -> None:
    """Apply the named patches."""
    if "sniffio" in names:
        import httpcore._synchronization as sync

        sync.current_async_library = lambda: "asyncio"  # only asyncio runs watcher
    if "copies" in names:
        from watcher.detectors import copies

        original = copies.CopiedListing._pairs

        def _pairs(self: Any, ctx: Any) -> list[Any]:
            if not ctx.reads.own_top_listings():
                return []
            return original(self, ctx)

        copies.CopiedListing._pairs = _pairs  # type: ignore[method-assign]
        detect = copies.CopiedListing.detect

        def detect_if_pairs(self: Any, ctx: Any) -> Any:
            return detect(self, ctx) if self._pairs(ctx) else []

        copies.CopiedListing.detect = detect_if_pairs  # type: ignore[method-assign]
    if "repr" in names:
        from watcher.runner import CheckReport

        def short(self: Any) -> str:
            return f"CheckReport({len(self.results)} shops, {len(self.findings)} findings)"

        CheckReport.__repr__ = short  # type: ignore[method-assign]
    if "transport" in names:
        from watcher import http

        init = http.Http.__init__

        def with_transport(self: Any, settings: Any = None, transport: Any = None) -> None:
            init(self, settings, transport or StreamsTransport())

        http.Http.__init__ = with_transport  # type: ignore[method-assign]


if __name__ == "__main__":
    wanted = os.environ.get("WATCHER_PROTOTYPE", ",".join(PATCHES))
    apply(tuple(n for n in wanted.split(",") if n))
    from watcher.cli import main

    sys.exit(main(sys.argv[1:]))
