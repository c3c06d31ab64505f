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
        """``--json``, ``--serve [[HOST:]PORT]``, ``--language``."""
        parser.add_argument("--json", action="store_true", help="print findings as JSON lines")
        parser.add_argument(
            "--serve",
            nargs="?",
            const="127.0.0.1:8787",
            default=None,
            metavar="[HOST:]PORT",
            help="then leave the dashboard up on the demo's data (127.0.0.1:8787 by default)",
        )
        parser.add_argument(
            "--language",
            choices=["en", "zh"],
            default="en",
            help="the words of the findings, the alerts and the dashboard",
        )

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0."""
        from watcher.demo_run import run_demo

        sock = None
        if args.serve:
            from watcher.cli.dashboard import listen
            from watcher.config import Config as Settings

            # bound before the timeline runs: a busy port fails at once
            sock = listen(Settings(), args.serve)
        return run_demo(json_output=args.json, serve=sock, language=args.language)
