"""``watcher inspect URL`` on product pages, as a real process against a real local server:
what it found, why there is no price, the selectors it suggests, and a shop's selectors
applied to any page of the shop's host."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e import env

HOSE = (
    b"<html><head><title>Garden hose 20 m</title></head><body>"
    b"<h1 class='name'>Garden hose 20 m</h1>"
    b"<div class='box'><p>19,99 EUR</p></div><div class='other'><p>24,99 EUR</p></div>"
    b"<button>Add to cart</button></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, status = (HOSE, 200) if self.path.startswith("/p/") else (b"not found", 404)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def inspect(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "inspect", *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out: dict[str, object] = json.loads(proc.stdout)
    return out


def test_no_price_says_why_and_suggests_selectors(base: str) -> None:
    out = inspect(f"{base}/p/hose")
    assert out["kind"] == "html"
    assert out["listing"]["title"] == "Garden hose 20 m"  # type: ignore[index]
    assert out["listing"]["price"] is None  # type: ignore[index]
    assert "19,99 EUR" in str(out["no_price"]) and "24,99 EUR" in str(out["no_price"])
    suggested = out["suggested_selectors"]
    assert suggested["title"] == "h1.name"  # type: ignore[index]
    assert suggested["price"] in ("div.box > p", "div.other > p")  # type: ignore[index]
    assert str(out["suggested_config"]).startswith("[shops.selectors]\n")


def test_shop_selectors_apply_to_any_page_of_its_host(base: str, tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n\n'
        f'[[shops]]\nname = "Hoses"\nkind = "html"\nurl = "{base}/shop/garden"\n\n'
        '[shops.selectors]\nprice = "div.box > p"\n'
    )
    # the product page is not under the configured url, but on the shop's host
    out = inspect(f"{base}/p/hose", "--config", str(config), "--suggest")
    assert (out["listing"]["price"], out["listing"]["currency"]) == (19.99, "EUR")  # type: ignore[index]
    assert out["price_from"] == "selectors"
    assert "no_price" not in out
    assert out["suggested_selectors"]["title"] == "h1.name"  # type: ignore[index]
