"""``watcher serve``: the dashboard on the stored data."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from watcher.cli.command import Command

if TYPE_CHECKING:
    from watcher.config import Config


class Serve(Command):
    """Shops, alerts, price histories and evidence in a browser, until SIGTERM or SIGINT."""

    name = "serve"
    help = "the dashboard: shops, alerts, price history, evidence of copies"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--host`` (loopback by default) and ``--port``."""
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="address to listen on (default 127.0.0.1; others need [serve] password)",
        )
        parser.add_argument("--port", type=int, default=8787, help="port (default 8787)")

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 after a stop signal; 2 when the address is refused or taken."""
        assert config is not None
        from watcher.cli.dashboard import listen
        from watcher.web.server import serve_forever

        host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host
        sock = listen(config, f"{host}:{args.port}")
        return asyncio.run(serve_forever(config, sock))
