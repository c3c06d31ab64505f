"""``watcher demo``: the whole pipeline against the bundled sample marketplace, no set-up,
no network: start the marketplace on 127.0.0.1, check, advance the timeline, check again,
and print what was found at each step. With a dashboard socket, the dashboard then stays
up on the demo's data until Ctrl-C."""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from rich.console import Console
from rich.text import Text

from watcher.cli.output import findings_table, print_json, shops_table
from watcher.config import Config, parse_config
from watcher.i18n import Audience, audience
from watcher.runner import CheckReport

STEPS = 3


def run_demo(
    *,
    json_output: bool = False,
    steps: int = STEPS,
    serve: socket.socket | None = None,
    language: str = "en",
) -> int:
    """Run the demo timeline; returns the exit code (0). With ``serve`` (a listening
    socket) the dashboard stays up on the demo's data until Ctrl-C. ``language`` sets the
    words of the printed findings, of the alerts and of the dashboard."""
    from watcher.app import open_app
    from watcher.demo import Marketplace

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp, Marketplace() as market:
        db = f"sqlite:///{Path(tmp) / 'demo.db'}"
        config = parse_config(tomllib.loads(market.config_toml(db)), env={})
        config.watcher.language = "zh" if language == "zh" else "en"
        a = audience(config.watcher.language, config.watcher.timezone)

        async def timeline() -> list[CheckReport]:
            reports = []
            async with open_app(config) as app:
                for step in range(steps + 1):
                    if step:
                        market.advance()
                    if not json_output:
                        console.rule(Text(a._("Step %(step)s") % {"step": step}, style="bold"))
                        for event in market.events(step, a.code):
                            console.print(Text(f"  • {event}"))
                    report = await app.runner.check()
                    reports.append(report)
                    if json_output:
                        for f in report.findings:
                            print_json({"step": step, **f.to_json()})
                    else:
                        console.print(shops_table(report, a=a))
                        title = a._("Findings at step %(step)s") % {"step": step}
                        console.print(findings_table(report.findings, title, a))
            return reports

        reports = asyncio.run(timeline())
        if not json_output:
            total = sum(len(r.findings) for r in reports)
            took = f"{time.monotonic() - started:.1f}"
            done = a.n_(
                "%(num)d finding over %(checks)d checks in %(seconds)ss.",
                "%(num)d findings over %(checks)d checks in %(seconds)ss.",
                total,
                checks=steps + 1,
                seconds=took,
            )
            console.print(Text("\n" + done, style="bold"))
            console.print(
                a._(
                    "Point watcher at your own shops: `watcher init watcher.toml`, edit it,"
                    " then `watcher check --config watcher.toml`."
                ),
                markup=False,
            )
        if serve is not None:
            return _serve(config, serve, console, a)
    return 0


def _serve(config: Config, sock: socket.socket, console: Console, a: Audience) -> int:
    """Keep the dashboard up on the demo's database until Ctrl-C."""
    from watcher.web.server import serve_forever, url_of

    line = a._("Dashboard: %(url)s  (Ctrl-C to stop)") % {"url": url_of(sock)}
    console.print("\n" + line, markup=False)
    sys.stdout.flush()
    return asyncio.run(serve_forever(config, sock))
