"""``watcher demo``: the whole pipeline against the bundled sample marketplace."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from watcher.cli.command import Command

if TYPE_CHECKING:
    from watcher.config import Config


class Demo(Command):
    """No set-up, no network: see every kind of finding in under a minute."""

    name = "demo"
    help = "run the whole pipeline against the bundled sample marketplace"
    config = "none"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--json``."""
        parser.add_argument("--json", action="store_true", help="print findings as JSON lines")

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0."""
        from watcher.demo_run import run_demo

        return run_demo(json_output=args.json)
