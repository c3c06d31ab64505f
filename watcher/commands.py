"""What each command does, once its arguments and config are parsed (see :mod:`watcher.cli`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from watcher.app import open_app
from watcher.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json
from watcher.config import Config, ShopConfig
from watcher.detectors import ShopResult
from watcher.detectors.reviews import ReviewDetail
from watcher.models import AlertBatch, Finding, Severity
from watcher.runner import CheckReport
from watcher.store import Store
from watcher.store.db import from_db


def _console() -> Console:
    # Piped output (logs, cron mail) gets wide lines instead of 80-column folding.
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def findings_table(findings: list[Finding], title: str = "New findings") -> Table:
    """A table of findings, most important first."""
    table = Table(title=f"{title} ({len(findings)})", title_justify="left", show_lines=False)
    table.add_column("severity")
    table.add_column("kind")
    table.add_column("shop")
    table.add_column("summary", overflow="fold")
    style = {"high": "bold red", "medium": "yellow", "low": "dim"}
    for f in AlertBatch(findings).sorted():
        table.add_row(
            f"[{style[str(f.severity)]}]{f.severity}[/]", f.kind, f.shop, f.summary, style=None
        )
    return table


def shops_table(report: CheckReport) -> Table:
    """Per-shop status of a check."""
    table = Table(title="Shops", title_justify="left")
    for col in ("shop", "status", "listings", "new", "changed", "note"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}[r.status]
        table.add_row(
            r.shop.name,
            f"[{colour}]{r.status}[/]",
            str(len(r.changes.seen)),
            str(len(r.changes.new)),
            str(len(r.changes.changed)),
            r.error or "",
        )
    return table


async def run_check(
    config: Config, shops: list[ShopConfig] | None, *, show_progress: bool
) -> CheckReport:
    """One check with a progress bar on a terminal (plain log lines otherwise)."""
    async with open_app(config, http_cache=False) as app:
        targets = shops if shops is not None else config.shops
        if not show_progress:
            return await app.runner.check(targets)
        total = len(targets) + (len(config.marketplaces) if any(s.own for s in targets) else 0)
        with Progress(
            TextColumn("[bold]checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
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


def cmd_check(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher check``."""
    assert config is not None
    shops = None
    if args.shop:
        names = {s.name for s in config.shops}
        unknown = [n for n in args.shop if n not in names]
        if unknown:
            print(f"watcher: no shop named {unknown[0]!r} in the config", file=sys.stderr)
            return EXIT_USAGE
        shops = [s for s in config.shops if s.name in args.shop]
    report = asyncio.run(
        run_check(config, shops, show_progress=sys.stderr.isatty() and not args.json)
    )
    if args.json:
        for f in AlertBatch(report.findings).sorted():
            print_json(f.to_json())
    else:
        console = _console()
        console.print(shops_table(report))
        console.print(findings_table(report.findings))
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher run``: the daemon."""
    assert config is not None
    from watcher.scheduler import Daemon

    return asyncio.run(Daemon(config).run())


def cmd_alerts(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher alerts [--retry]``."""
    assert config is not None
    store = Store(config.watcher.database)
    try:
        if args.retry:
            n = store.requeue_failed()
            print(f"retrying {n} delivery(ies)", file=sys.stderr)

            async def flush() -> None:
                async with open_app(config, store) as app:
                    report = await app.outbox.flush()
                    for name, count in report.sent.items():
                        print(f"{name}: delivered {count}", file=sys.stderr)
                    for name, err in report.failed.items():
                        print(f"{name}: failed: {err}", file=sys.stderr)

            asyncio.run(flush())
        rows = store.alerts(limit=args.limit)
        if args.json:
            for alert, deliveries in rows:
                print_json(
                    {
                        **json.loads(alert.payload),
                        "deliveries": [
                            {
                                "channel": d.channel,
                                "state": d.state,
                                "attempts": d.attempts,
                                "last_error": d.last_error,
                                "sent_at": from_db(d.sent_at),
                            }
                            for d in deliveries
                        ],
                    }
                )
            return EXIT_OK
        table = Table(title=f"Alerts ({len(rows)} newest)", title_justify="left")
        for col in ("when (UTC)", "severity", "kind", "summary", "deliveries"):
            table.add_column(col, overflow="fold")
        for alert, deliveries in rows:
            state = (
                ", ".join(
                    f"{d.channel}: {d.state}"
                    + (
                        f" ({d.attempts} tries: {d.last_error})"
                        if d.state != "sent" and d.last_error
                        else ""
                    )
                    for d in deliveries
                )
                or "no channel"
            )
            table.add_row(
                f"{alert.created_at:%Y-%m-%d %H:%M}",
                alert.severity,
                alert.kind,
                alert.summary,
                state,
            )
        _console().print(table)
        return EXIT_OK
    finally:
        store.close()


def cmd_listings(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher listings``."""
    assert config is not None
    store = Store(config.watcher.database)
    try:
        shop_id = None
        if args.shop:
            match = [s for s in store.shops() if s.name == args.shop]
            if not match:
                print(f"watcher: no stored shop named {args.shop!r}", file=sys.stderr)
                return EXIT_USAGE
            shop_id = match[0].id
        rows = store.listings(shop_id, active=not args.all)
        if args.json:
            for r in rows:
                lr = r.ListingRow
                print_json(
                    {
                        "shop": r.shop,
                        "ref": lr.ref,
                        "url": lr.url,
                        "title": lr.title,
                        "price": lr.price,
                        "currency": lr.currency,
                        "compare_at": lr.compare_at,
                        "available": lr.available,
                        "image": lr.image,
                        "rating": lr.rating,
                        "rating_count": lr.rating_count,
                        "first_seen": from_db(lr.first_seen),
                        "last_seen": from_db(lr.last_seen),
                        "removed_at": from_db(lr.removed_at),
                        "watched": lr.own_top is not None,
                        "source": lr.source,
                    }
                )
            return EXIT_OK
        table = Table(title=f"Listings ({len(rows)})", title_justify="left")
        for col in ("shop", "title", "price", "stock", "rating", "first seen", "last seen"):
            table.add_column(col, overflow="fold")
        for r in rows:
            lr = r.ListingRow
            price = f"{lr.price:,.2f} {lr.currency or ''}" if lr.price is not None else "?"
            stock = {True: "in stock", False: "out", None: "?"}[lr.available]
            rating = f"{lr.rating:.1f} ({lr.rating_count or 0})" if lr.rating else ""
            table.add_row(
                r.shop,
                lr.title,
                price,
                stock,
                rating,
                f"{lr.first_seen:%Y-%m-%d}",
                f"{lr.last_seen:%Y-%m-%d %H:%M}",
            )
        _console().print(table)
        return EXIT_OK
    finally:
        store.close()


def cmd_status(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher status``."""
    assert config is not None
    from zoneinfo import ZoneInfo

    from watcher import status

    data = status.collect(config)
    if args.json:
        print_json(data)
        return EXIT_OK
    console = _console()
    for table in status.tables(data, ZoneInfo(config.watcher.timezone)):
        console.print(table)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher inspect URL``."""
    from watcher.inspect import inspect_url

    try:
        result = asyncio.run(
            inspect_url(
                args.url,
                kind=args.kind,
                config=config,
                catalog=args.catalog,
                suggest=args.suggest,
            )
        )
    except Exception as e:
        from watcher.errors import FetchError, ParseError

        if isinstance(e, FetchError | ParseError):
            print(f"watcher: {e}", file=sys.stderr)
            return EXIT_FAILED
        raise
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return EXIT_OK


def sample_finding() -> Finding:
    """The finding ``watcher test-alert`` sends."""
    return Finding(
        kind="negative_review",
        severity=Severity.HIGH,
        shop="watcher test",
        listing={
            "url": "https://example.com/products/sample",
            "title": "Sample listing 示例商品",
            "price": 89.0,
            "currency": "CNY",
        },
        summary="Test alert from watcher: if you can read this, this channel works.",
        detail=ReviewDetail(
            rating=1,
            text="This is a test alert. 这是一条测试提醒。",
            author="watcher",
            published_at=datetime.now(UTC).isoformat(),
            reason="rating",
        ),
        dedup_key=f"test-alert:{datetime.now(UTC).isoformat()}",
        detected_at=datetime.now(UTC),
    )


def cmd_test_alert(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher test-alert``: one sample alert to every channel, directly (not stored)."""
    assert config is not None
    if not config.alerts:
        print("watcher: no [[alerts]] configured", file=sys.stderr)
        return EXIT_USAGE
    import httpx

    from watcher.errors import DeliveryError
    from watcher.notify.channels import channel_kinds

    async def send_all() -> int:
        failed = 0
        async with httpx.AsyncClient(timeout=config.watcher.timeout.total_seconds()) as client:
            for a in config.alerts:
                channel = channel_kinds()[a.kind](a.options, client)
                try:
                    await channel.send(AlertBatch([sample_finding()]))
                    print(f"{a.name}: sent", file=sys.stderr)
                except DeliveryError as e:
                    failed += 1
                    print(f"{a.name}: FAILED: {e}", file=sys.stderr)
        return failed

    return EXIT_FAILED if asyncio.run(send_all()) else EXIT_OK


def cmd_demo(args: argparse.Namespace, config: Config | None) -> int:
    """``watcher demo``."""
    from watcher.demo_run import run_demo

    return run_demo(json_output=args.json)


__all__ = [
    "cmd_alerts",
    "cmd_check",
    "cmd_demo",
    "cmd_inspect",
    "cmd_listings",
    "cmd_run",
    "cmd_status",
    "cmd_test_alert",
]
