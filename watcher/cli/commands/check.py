"""``watcher check``: one pass over every configured shop."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from watcher.cli import output
from watcher.cli.command import Command, Exit
from watcher.cli.names import pick
from watcher.config import Config, ShopConfig
from watcher.i18n import audience
from watcher.models import AlertBatch

if TYPE_CHECKING:
    from watcher.app import App
    from watcher.detectors import ShopResult
    from watcher.runner import CheckReport


async def run_check(
    config: Config, shops: list[ShopConfig] | None, *, show_progress: bool
) -> CheckReport:
    """One check with a progress bar on a terminal (plain log lines otherwise)."""
    from watcher.app import open_app
    from watcher.store.retention import keep_history

    async with open_app(config, http_cache=False) as app:
        report = await _check(app, config, shops, show_progress=show_progress)
        await keep_history(app.store.retention, config.watcher.keep_history)
        return report


async def _check(
    app: App, config: Config, shops: list[ShopConfig] | None, *, show_progress: bool
) -> CheckReport:
    targets = shops if shops is not None else config.shops
    if not show_progress:
        return await app.runner.check(targets)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    total = len(targets) + (len(config.marketplaces) if any(s.own for s in targets) else 0)
    with Progress(
        TextColumn("[bold]checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=total)

        def progress(event: str, item: ShopResult | ShopConfig) -> None:
            if event == "start" and isinstance(item, ShopConfig):
                bar.update(task, description=item.name)
            elif event == "done":
                bar.advance(task)

        return await app.runner.check(targets, progress=progress)


class Check(Command):
    """Fetch, store, detect and deliver once; print a summary or the new findings."""

    name = "check"
    help = "one pass over every configured shop"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--json`` and ``--shop``."""
        parser.add_argument(
            "--json", action="store_true", help="print each new finding as one JSON line"
        )
        parser.add_argument(
            "--shop",
            action="append",
            default=[],
            metavar="NAME",
            help="check only this shop (repeatable; case does not matter)",
        )

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 when every shop was read, 1 when one failed."""
        assert config is not None
        config.require_shops()
        shops = None
        if args.shop:
            names = pick(args.shop, [s.name for s in config.shops])
            shops = [s for s in config.shops if s.name in names]
        report = asyncio.run(
            run_check(config, shops, show_progress=sys.stderr.isatty() and not args.json)
        )
        if args.json:
            for f in AlertBatch(report.findings).sorted():
                output.print_json(f.to_json())
        else:
            console = output.console()
            a = audience(config.watcher.language, config.watcher.timezone)
            console.print(output.shops_table(report, config.secrets.redact, a))
            console.print(output.findings_table(report.findings, a=a))
        return Exit.FAILED if report.failed else Exit.OK
