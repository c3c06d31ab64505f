"""``watcher status``: the ``watcher run`` instances on the configured database, the shops
each is checking now (holds a lease on) or checked last, and when each shop is next due."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from watcher import when
from watcher.cli import output
from watcher.config import Config
from watcher.store import Store
from watcher.store.fleet import FleetStore, Instance, Slot


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def collect(config: Config) -> dict[str, Any]:
    """The status as plain data (what ``--json`` prints)."""
    store = Store(config.watcher.database)
    try:
        fleet = FleetStore(store.engine)
        now = fleet.now()
        instances = fleet.instances()
        names = [s.name for s in config.shops]
        slots = {s.shop: s for s in fleet.schedule(names)}
    finally:
        store.close()
    return {
        "now": now.isoformat(),
        "instances": [_instance(i, slots.values()) for i in instances],
        "shops": [_shop(name, slots.get(name), now) for name in _by_due(names, slots)],
    }


def _by_due(names: list[str], slots: dict[str, Slot]) -> list[str]:
    scheduled = sorted((n for n in names if n in slots), key=lambda n: slots[n].due_at)
    return scheduled + [n for n in names if n not in slots]


def _instance(i: Instance, slots: Any) -> dict[str, Any]:
    return {
        "id": i.id,
        "host": i.host,
        "pid": i.pid,
        "version": i.version,
        "alive": i.alive,
        "started_at": _iso(i.started_at),
        "heartbeat_at": _iso(i.heartbeat_at),
        "checks": i.checks,
        "checking": sorted(s.shop for s in slots if s.owner == i.id),
        "checked_last": sorted(s.shop for s in slots if s.last_by == i.id),
    }


def _shop(name: str, slot: Slot | None, now: datetime) -> dict[str, Any]:
    if slot is None:
        return {"shop": name, "scheduled": False}
    return {
        "shop": name,
        "scheduled": True,
        "due_at": _iso(slot.due_at),
        "due_in_s": round((slot.due_at - now).total_seconds(), 1),
        "checking_by": slot.owner,
        "checking_since": _iso(slot.claimed_at),
        "lease_until": _iso(slot.lease_until),
        "last_by": slot.last_by,
        "last_started_at": _iso(slot.last_started_at),
        "last_finished_at": _iso(slot.last_finished_at),
        "last_status": slot.last_status,
    }


def tables(data: dict[str, Any], tz: ZoneInfo) -> list[Table]:
    """The human view of :func:`collect`'s data; every cell is plain text (shop names
    and hosts are never read as terminal markup)."""
    now = datetime.fromisoformat(data["now"])
    alive = [i for i in data["instances"] if i["alive"]]
    inst = output.table(
        f"Instances ({len(alive)} alive)",
        ("instance", "state", "started", "heartbeat", "checks", "checking now", "last of"),
        (
            (
                i["id"],
                output.cell("alive", "green") if i["alive"] else output.cell("gone", "red"),
                when.local(datetime.fromisoformat(i["started_at"]), tz),
                when.ago(datetime.fromisoformat(i["heartbeat_at"]), now),
                str(i["checks"]),
                ", ".join(i["checking"]) or "-",
                f"{len(i['checked_last'])} shop(s)" if i["checked_last"] else "-",
            )
            for i in data["instances"]
        ),
    )
    if not alive:
        inst.caption = output.cell("no `watcher run` is running on this database")
        inst.caption_justify = "left"
    shops = output.table(
        f"Shops ({len(data['shops'])})",
        ("shop", "next check", "checking now", "last check"),
        (_shop_row(s, now, tz) for s in data["shops"]),
    )
    return [inst, shops]


def _shop_row(s: dict[str, Any], now: datetime, tz: ZoneInfo) -> tuple[str, ...]:
    if not s["scheduled"]:
        return (s["shop"], "not scheduled yet (no `watcher run` started)", "-", "-")
    last = "-"
    if s["last_finished_at"]:
        ago = when.ago(datetime.fromisoformat(s["last_finished_at"]), now)
        last = f"{s['last_status']}, {ago} by {s['last_by']}"
    return (
        s["shop"],
        when.due(datetime.fromisoformat(s["due_at"]), now, tz),
        s["checking_by"] or "-",
        last,
    )
