"""The dashboard's listening socket for ``serve``, ``run --serve`` and ``demo --serve``:
bound before anything else starts, so a refused address or a busy port is reported at
once (exit 2: the command line asks for something that cannot be)."""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING

from watcher.cli.command import UsageError

if TYPE_CHECKING:
    from watcher.config import Config


def listen(config: Config, address: str) -> socket.socket:
    """A listening socket on ``[HOST:]PORT``; UsageError when the address is malformed,
    not loopback without ``[serve] password``, or taken. Says where it listens on stderr."""
    from watcher.web.server import bind, exposure_problem, parse_address, url_of

    try:
        host, port = parse_address(address)
    except ValueError as e:
        raise UsageError(str(e)) from None
    problem = exposure_problem(host, config)
    if problem:
        raise UsageError(problem)
    try:
        sock = bind(host, port)
    except OSError as e:
        raise UsageError(f"cannot listen on {address}: {e.strerror or e}") from None
    print(f"watcher: dashboard on {url_of(sock)}", file=sys.stderr, flush=True)
    return sock
