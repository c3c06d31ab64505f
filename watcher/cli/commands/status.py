"""``watcher status``: the running instances, the shops each checks, when each is due."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from watcher.cli import output
from watcher.cli.command import Command, Exit

if TYPE_CHECKING:
    from watcher.config import Config


class Status(Command):
    """What the ``watcher run`` instances on the configured database are doing."""

    name = "status"
    sends = False
    help = "the running instances, the shops each checks, when each shop is due"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--json``."""
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0."""
        assert config is not None
        from watcher import status
        from watcher.i18n import audience

        data = status.collect(config)
        if args.json:
            output.print_json(data)
            return Exit.OK
        console = output.console()
        a = audience(config.watcher.language, config.watcher.timezone)
        for table in status.tables(data, a):
            console.print(table)
        return Exit.OK
