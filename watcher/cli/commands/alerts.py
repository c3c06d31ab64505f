"""``watcher alerts``: stored alerts and their delivery state; ``--retry`` redelivers."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from watcher.cli import output
from watcher.cli.command import Command, Exit
from watcher.i18n import N_, Audience, audience
from watcher.models import Finding

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.store import Store


async def _retry(config: Config, store: Store) -> bool:
    """Redeliver every failed or pending delivery now; True when all went through."""
    from watcher.app import open_app

    n = store.requeue_failed()
    print(f"retrying {n} delivery(ies)", file=sys.stderr)
    async with open_app(config, store) as app:
        report = await app.outbox.flush()
    for name, count in report.sent.items():
        print(f"{name}: delivered {count}", file=sys.stderr)
    for name, err in report.failed.items():
        print(f"{name}: failed: {config.secrets.redact(err)}", file=sys.stderr)
    return not report.failed


DELIVERY_WORDS = {"sent": N_("sent"), "pending": N_("pending"), "failed": N_("failed")}


def _delivery_state(deliveries: list[Any], a: Audience, redact: Callable[[str], str]) -> str:
    from watcher.store.db import from_db

    now = datetime.now(UTC)

    def held(d: Any) -> str:
        due = from_db(d.next_attempt_at)
        if d.state != "pending" or d.attempts or due is None or due <= now:
            return ""
        space = "" if a.code == "zh" else " "
        return space + a._("(held for the digest at %(time)s)") % {"time": a.when(due)}

    def state(d: Any) -> str:
        word = a._(DELIVERY_WORDS[d.state]) if d.state in DELIVERY_WORDS else d.state
        if d.state != "sent" and d.last_error:
            tries = a.n_("%(num)d try", "%(num)d tries", d.attempts)
            why = f"{tries}{a.colon}{redact(d.last_error)}"
            return f"{d.channel}{a.colon}{word}" + (f"（{why}）" if a.code == "zh" else f" ({why})")
        return f"{d.channel}{a.colon}{word}{held(d)}"

    return a.comma.join(state(d) for d in deliveries) or a._("no channel takes this alert")


def _summary(summary: str, payload: str, a: Audience) -> str:
    """The stored summary, or the alert rendered in ``a``'s language."""
    if a.code == "en":
        return summary
    try:
        finding = Finding.from_json(json.loads(payload))
    except (ValueError, KeyError, TypeError):
        return summary
    return output.summary(finding, a)


class Alerts(Command):
    """List stored alerts, newest first, with each channel's delivery state."""

    name = "alerts"
    help = "stored alerts and their delivery state"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--retry``, ``--json``, ``--limit``."""
        parser.add_argument(
            "--retry",
            action="store_true",
            help="redeliver failed and pending alerts now (exit 1 if one still fails)",
        )
        parser.add_argument("--json", action="store_true", help="one JSON object per alert")
        parser.add_argument("--limit", type=int, default=50, help="how many (default 50)")

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0; with ``--retry``, 1 when a delivery still failed."""
        assert config is not None
        from watcher.store import Store
        from watcher.store.db import from_db

        store = Store(config.watcher.database)
        try:
            delivered = asyncio.run(_retry(config, store)) if args.retry else True
            rows = store.alerts(limit=args.limit)
            if args.json:
                for alert, deliveries in rows:
                    output.print_json(
                        {
                            **json.loads(alert.payload),
                            "deliveries": [
                                {
                                    "channel": d.channel,
                                    "state": d.state,
                                    "attempts": d.attempts,
                                    "last_error": config.secrets.redact(d.last_error)
                                    if d.last_error
                                    else None,
                                    "sent_at": from_db(d.sent_at),
                                    "due_at": from_db(d.next_attempt_at)
                                    if d.state == "pending"
                                    else None,
                                }
                                for d in deliveries
                            ],
                        }
                    )
            else:
                a = audience(config.watcher.language, config.watcher.timezone)
                output.console().print(
                    output.table(
                        a._("Alerts (%(num)s newest)") % {"num": len(rows)},
                        (
                            a._("when (%(zone)s)") % {"zone": a.zone},
                            a._("severity"),
                            a._("kind"),
                            a._("summary"),
                            a._("deliveries"),
                        ),
                        (
                            (
                                a.when(alert.created_at),
                                output.severity_word(a, alert.severity),
                                output.kind_label(a, alert.kind),
                                _summary(alert.summary, alert.payload, a),
                                _delivery_state(deliveries, a, config.secrets.redact),
                            )
                            for alert, deliveries in rows
                        ),
                    )
                )
            return Exit.OK if delivered else Exit.FAILED
        finally:
            store.close()
