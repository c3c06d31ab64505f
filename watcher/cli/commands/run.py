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

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 after a clean shutdown."""
        assert config is not None
        config.require_shops()
        from watcher.scheduler import Daemon

        return asyncio.run(Daemon(config).run())
