"""URLs from fetched content never reach internal addresses (SSRF), however spelled.

An "internal service" listens on 127.0.0.1 and ::1 and counts its visitors; a trusted
shop server (its origin comes from the config) links and redirects there. Every spelling
of loopback is refused after DNS resolution, on every redirect hop, with and without
credentials; ``allow_private`` lets loopback through (credentials still refused); and
``watcher check`` on the sample marketplace with the ``ssrf`` fault never touches the
internal service."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.e2e import check, write_config
from watcher.demo import Marketplace
from watcher.demo.catalog import FAWN, URBAN
from watcher.errors import BlockedError, FetchError
from watcher.http import Http, HttpSettings
from watcher.netguard import address_problem


class Internal(BaseHTTPRequestHandler):
    """The service fetched content must never reach."""

    protocol_version = "HTTP/1.1"
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Internal.hits.append(self.path)
        body = b"secret"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _serve(srv: ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def internal() -> Iterator[int]:
    """The port the internal service listens on, on 127.0.0.1 and on ::1."""
    v4 = ThreadingHTTPServer(("127.0.0.1", 0), Internal)
    port = v4.server_address[1]
    v6 = _V6Server(("::1", port), Internal)
    for srv in (v4, v6):
        _serve(srv)
    yield port
    for srv in (v4, v6):
        srv.shutdown()
        srv.server_close()


@pytest.fixture(autouse=True)
def _reset() -> None:
    Internal.hits = []


@pytest.fixture(scope="module")
def shop(internal: int) -> Iterator[str]:
    """A trusted shop whose pages redirect to the internal service."""

    class Shop(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            where = {
                "/to-internal": f"http://127.0.0.1:{internal}/latest/meta-data/",
                "/to-decimal": f"http://2130706433:{internal}/",
                "/to-self": "/ok",
            }.get(self.path)
            status, body = (302, b"") if where else (200, b"shop page")
            self.send_response(status)
            if where:
                self.send_header("Location", where)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    _serve(srv)
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "localhost",
    "LOCALHOST.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
]


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_address_classes(address: str, problem: str | None) -> None:
    got = address_problem(ipaddress.ip_address(address))
    assert (got is None) if problem is None else (got is not None and problem in got), got


def test_allow_private_never_opens_link_local_or_multicast() -> None:
    allowed = ("127.0.0.1", "::1", "10.0.0.1", "192.168.0.9", "100.64.1.1", "fd00::1")
    for a in allowed:
        assert address_problem(ipaddress.ip_address(a), allow_private=True) is None, a
    for a in ("169.254.169.254", "0.0.0.0", "224.0.0.1", "fe80::1", "::ffff:169.254.169.254"):
        assert address_problem(ipaddress.ip_address(a), allow_private=True), a


def _http(shop: str) -> Http:
    return Http(HttpSettings(retries=0, timeout=5), trusted=[shop])


@pytest.mark.parametrize("host", SPELLINGS)
async def test_content_urls_never_reach_loopback(shop: str, internal: int, host: str) -> None:
    async with _http(shop) as http:
        with pytest.raises(FetchError) as err:
            await http.get(f"http://{host}:{internal}/admin")
    assert Internal.hits == []
    if host == "0177.0.0.1":  # octal: httpx refuses to parse it at all
        assert isinstance(err.value, BlockedError) and "invalid URL" in str(err.value)
    elif host != "LOCALHOST.":  # a trailing dot may not resolve at all; if it does, refused
        assert isinstance(err.value, BlockedError) and "refusing" in str(err.value)


async def test_redirects_and_credentials_are_checked(shop: str, internal: int) -> None:
    async with _http(shop) as http:
        assert (await http.get(f"{shop}/to-self")).content == b"shop page"
        for path in ("/to-internal", "/to-decimal"):
            with pytest.raises(BlockedError, match="refusing"):
                await http.get(f"{shop}{path}")
        with pytest.raises(BlockedError, match="credentials"):
            await http.get(f"http://user:pw@127.0.0.1:{internal}/")
        port = shop.rsplit(":", 1)[1]
        with pytest.raises(BlockedError, match="credentials"):
            await http.get(f"http://user:pw@127.0.0.1:{port}/ok")  # even on a trusted origin
        assert (await http.get(f"{shop}/ok")).content == b"shop page"
    assert Internal.hits == []


async def test_trusted_origin_keeps_its_default_ports(shop: str) -> None:
    """A configured shop that redirects http:// to https:// is still the configured shop:
    its host on ports 80 and 443 is not checked (nothing listens there: a connect error,
    not a refusal)."""
    async with _http(shop) as http:
        for url in ("http://127.0.0.1/", "https://127.0.0.1/"):
            try:
                await http.get(url)
            except FetchError as e:
                assert not isinstance(e, BlockedError), e


async def test_allow_private_opts_in(shop: str, internal: int) -> None:
    async with _http(shop) as http:
        for host in ("127.0.0.1", "localhost", "[::1]", "127.1"):
            resp = await http.get(f"http://{host}:{internal}/x", allow_private=True)
            assert resp.content == b"secret"
        assert (await http.get(f"{shop}/to-internal", allow_private=True)).content == b"secret"
        with pytest.raises(BlockedError, match="credentials"):
            await http.get(f"http://user:pw@127.0.0.1:{internal}/", allow_private=True)
        # the opt-in is per request: the same origin stays closed to the other shops
        with pytest.raises(BlockedError, match="refusing"):
            await http.get(f"http://127.0.0.1:{internal}/x")
    assert len(Internal.hits) == 5


def _config(market: Marketplace, tmp_path: Path, allow: bool) -> Path:
    path = write_config(
        market, tmp_path / "w.toml", f"sqlite:///{tmp_path / 'w.db'}", watcher="retries = 0"
    )
    if allow:
        text = path.read_text(encoding="utf-8")
        text = text.replace(f'name = "{FAWN}"\n', f'name = "{FAWN}"\nallow_private = true\n')
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("allow", [False, True], ids=["guarded", "allow_private"])
def test_check_with_planted_internal_links(internal: int, tmp_path: Path, allow: bool) -> None:
    """A competitor's photos and next-page link point at the internal service in every
    spelling, and its own photos redirect there: ``watcher check`` completes and the
    service sees no request. With ``allow_private`` on that shop its links go through."""
    with Marketplace() as market:
        market.ssrf_target = f"127.0.0.1:{internal}"
        for name in (FAWN, URBAN):
            market.set_fault(name, "ssrf")
        run = check(_config(market, tmp_path, allow), timeout=120)
    assert run.code in (0, 1), run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    if allow:
        assert Internal.hits, "the opted-in shop's next page was not followed"
    else:
        assert Internal.hits == []
