"""Serving the dashboard with uvicorn: alone (``watcher serve``), next to the daemon in one
event loop (``watcher run --serve``), or on the demo's data (``watcher demo --serve``).

The socket is bound before anything else starts, so a busy port or a refused exposure is
reported at once. uvicorn's own signal handling is switched off: the caller decides how
SIGTERM and SIGINT end things (the daemon finishes its checks first)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import uvicorn
from loguru import logger

from watcher.config import Config
from watcher.store import Store

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DashboardServer",
    "bind",
    "exposure_problem",
    "is_loopback",
    "parse_address",
    "serve_forever",
    "url_of",
]

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8787


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(value: str, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT`` as (host, port); ValueError otherwise."""
    value = value.strip()
    host, port = default_host, value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or value[end + 1 : end + 2] != ":":
            raise ValueError(f"expected [HOST]:PORT, got {value!r}")
        host, port = value[1:end], value[end + 2 :]
    elif ":" in value:
        host, port = value.rsplit(":", 1)
    if not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ValueError(f"expected [HOST:]PORT with a port 0-65535, got {value!r}")
    return host, int(port)


def exposure_problem(host: str, config: Config) -> str | None:
    """Why the dashboard must not listen on ``host`` with this config (None: it may)."""
    if is_loopback(host) or config.serve.password:
        return None
    return (
        f"refusing to serve the dashboard on {host}: without a password it only listens on"
        ' loopback. Set [serve] password = "${WATCHER_DASHBOARD_PASSWORD}" (and put it behind'
        " a TLS proxy), or keep --host 127.0.0.1 and reach it through an SSH tunnel"
        " (ssh -L 8787:127.0.0.1:8787 server)"
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (OSError when it cannot be had)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """The address a browser on this machine uses for ``sock``."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _ToLoguru(logging.Handler):
    """uvicorn's warnings and errors (a crashing page) in watcher's log."""

    def emit(self, record: logging.LogRecord) -> None:
        logger.opt(exception=record.exc_info or None).log(
            "ERROR" if record.levelno >= logging.ERROR else "WARNING",
            "dashboard: {}",
            record.getMessage(),
        )


def _route_uvicorn_logs() -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(h, _ToLoguru) for h in log.handlers):
        log.addHandler(_ToLoguru(logging.WARNING))
        log.propagate = False


class DashboardServer(uvicorn.Server):
    """uvicorn without its signal handlers (the process's owner handles signals)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install nothing: SIGTERM belongs to the daemon (or to :func:`serve_forever`)."""
        yield


def make_server(config: Config, store: Store | None = None) -> DashboardServer:
    """A uvicorn server for the dashboard of ``config``."""
    from watcher.web.app import create_app

    app = create_app(config, store)
    _route_uvicorn_logs()
    return DashboardServer(
        uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=2,
            limit_concurrency=200,
        )
    )


async def serve_forever(
    config: Config,
    sock: socket.socket,
    *,
    store: Store | None = None,
    until: Callable[[], Awaitable[Any]] | None = None,
) -> int:
    """Serve on ``sock`` until SIGTERM/SIGINT, or until ``until()`` returns (its result is
    returned then; 0 after a signal)."""
    server = make_server(config, store)
    # Everything loaded so far lives as long as the process. Frozen, the collector stops
    # walking it on every full collection: a page that builds a year of states (tens of
    # thousands of short-lived objects) spent half its CPU in such walks.
    gc.collect()
    gc.freeze()
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    result: Any = 0
    try:
        if until is not None:
            result = await until()
        else:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
    finally:
        server.should_exit = True
        await serving
    return int(result or 0)
