"""``watcher run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from watcher.cli.command import Command

if TYPE_CHECKING:
    from watcher.config import Config


class Run(Command):
    """Check every shop on its interval until SIGTERM or SIGINT."""

    name = "run"
    help = "the daemon: check every shop on its interval"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--serve [HOST:]PORT``."""
        parser.add_argument(
            "--serve",
            default=None,
            metavar="[HOST:]PORT",
            help="also serve the dashboard from this process (host 127.0.0.1 by default)",
        )

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 after a clean shutdown."""
        assert config is not None
        config.require_shops()
        from watcher.scheduler import Daemon

        if not args.serve:
            return asyncio.run(Daemon(config).run())
        from watcher.cli.dashboard import listen
        from watcher.web.server import serve_forever

        # one event loop: the daemon owns the signals, the dashboard stops with it
        sock = listen(config, args.serve)
        return asyncio.run(serve_forever(config, sock, until=Daemon(config).run))
