"""Peak memory of fetching and hashing large product photos.

A loopback server serves ``--count`` copies (distinct URLs) of one large image per set; a
fresh child process fetches and hashes them all at once through
:func:`watcher.images.fetch_hashes` (the HTTP client's image lane, the decode gate) and
reports its peak RSS (``VmHWM``). ``--legacy FILE`` runs the pipeline as it was before the gate instead:
every photo fetched on the page lane and hashed with ``asyncio.to_thread`` by the
``image_hash`` of FILE (e.g. ``git show 0902fd4:watcher/images.py > /tmp/images_old.py``).

Sets: ``issue`` (6300x6300 RGB PNG of ~150 KB, as in issue 9: refused from its header),
``rgba`` (3300x3300 RGBA PNG) and ``webp`` (2300x2300), about the largest of their kinds
still hashed, and ``jpeg24`` (6000x4000 progressive JPEG, the costliest JPEG kind).

    .venv/bin/python bench/bench_images.py --count 24 [--max-rss-mb 300]

Prints one JSON line per set; exits 1 when a set's peak passes ``--max-rss-mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SETS = ("issue", "rgba", "webp", "jpeg24")


def _pattern(width: int, height: int, channels: int) -> Any:
    import numpy as np

    x = np.arange(width, dtype=np.uint32)[None, :]
    y = np.arange(height, dtype=np.uint32)[:, None]
    arr = np.empty((height, width, channels), np.uint8)
    for c in range(channels):
        arr[..., c] = (x // (23 + c) + y // (17 + c)) if c < 3 else (x + y) // 8
    return arr


def build(name: str) -> tuple[bytes, str]:
    """The image of set ``name`` and its content type."""
    from PIL import Image

    from watcher.demo.faults import huge_png

    buf = io.BytesIO()
    if name == "issue":
        return huge_png(), "image/png"
    if name == "rgba":  # about the largest PNG with alpha still hashed
        return huge_png(3300, 3300, alpha=True), "image/png"
    if name == "webp":  # about the largest WebP still hashed
        Image.fromarray(_pattern(2300, 2300, 3), "RGB").save(buf, "WEBP", quality=70)
        return buf.getvalue(), "image/webp"
    if name == "jpeg24":
        Image.fromarray(_pattern(6000, 4000, 3), "RGB").save(
            buf, "JPEG", quality=80, progressive=True
        )
        return buf.getvalue(), "image/jpeg"
    raise ValueError(name)


class _Images(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
        name = self.path.split("/")[2] if self.path.count("/") >= 3 else ""
        body, ctype = self.bodies.get(name, (b"", "text/plain"))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(sets: list[str]) -> Iterator[str]:
    """A loopback server with every image of ``sets`` at ``/img/<set>/<n>``."""
    _Images.bodies = {name: build(name) for name in sets}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def rss_kb(field: str = "VmRSS") -> int:
    """This process's current RSS (or its peak, ``VmHWM``) in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _child(base: str, name: str, count: int, legacy: str) -> dict[str, Any]:
    from watcher.http import Http, HttpSettings
    from watcher.images import fetch_hashes

    urls = [f"{base}/img/{name}/{i}" for i in range(count)]
    before = rss_kb()
    start = time.perf_counter()
    async with Http(HttpSettings(timeout=60), trusted=[base]) as http:
        if legacy:
            import importlib.util

            spec = importlib.util.spec_from_file_location("images_legacy", legacy)
            assert spec is not None and spec.loader is not None
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)

            async def one(url: str) -> str | None:
                resp = await http.get(url, max_bytes=8 * 1024 * 1024)
                return await asyncio.to_thread(mod.image_hash, resp.content)

            got = dict(zip(urls, await asyncio.gather(*(one(u) for u in urls)), strict=True))
        else:
            fetched = await fetch_hashes(http, urls)
            got = {u: fetched.get(u, "missing") for u in urls}
    values = list(got.values())
    return {
        "hashed": sum(1 for v in values if v and v != "missing"),
        "refused": values.count(None),
        "missing": values.count("missing"),
        "seconds": round(time.perf_counter() - start, 2),
        "rss_after_imports_mb": round(before / 1024, 1),
        # VmHWM, not wait4's ru_maxrss: that one keeps the parent's size from before exec
        "peak_rss_mb": round(rss_kb("VmHWM") / 1024, 1),
    }


def measure(base: str, name: str, count: int, legacy: str = "") -> dict[str, Any]:
    """Run one set in a fresh child; its summary with ``peak_rss_mb`` added."""
    cmd = [sys.executable, __file__, "--child", base, "--sets", name, "--count", str(count)]
    if legacy:
        cmd += ["--legacy", legacy]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {proc.stdout[-500:]!r}")
    summary: dict[str, Any] = {"set": name, "count": count, "legacy": bool(legacy)}
    summary.update(json.loads(proc.stdout))
    return summary


def main(argv: list[str] | None = None) -> int:
    """Measure each set; exit 1 when one passes ``--max-rss-mb``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--count", type=int, default=24)
    p.add_argument("--legacy", default="", help="an older watcher/images.py to compare with")
    p.add_argument("--max-rss-mb", type=float, default=0.0)
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    if args.child:
        summary = asyncio.run(_child(args.child, sets[0], args.count, args.legacy))
        print(json.dumps(summary))
        return 0
    worst = 0.0
    with serve(sets) as base:
        for name in sets:
            summary = measure(base, name, args.count, args.legacy)
            worst = max(worst, summary["peak_rss_mb"])
            print(json.dumps(summary), flush=True)
    return 1 if args.max_rss_mb and worst > args.max_rss_mb else 0


if __name__ == "__main__":
    sys.exit(main())
