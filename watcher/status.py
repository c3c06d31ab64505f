"""``watcher status``: the ``watcher run`` instances on the configured database, the shops
each is checking now (holds a lease on) or checked last, and when each shop is next due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table

from watcher import when
from watcher.cli import output
from watcher.config import Config
from watcher.i18n import Audience
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


def tables(data: dict[str, Any], a: Audience) -> list[Table]:
    """The human view of :func:`collect`'s data in ``a``'s words and zone; every cell is
    plain text (shop names and hosts are never read as terminal markup)."""
    now = datetime.fromisoformat(data["now"])
    alive = [i for i in data["instances"] if i["alive"]]
    inst = output.table(
        a._("Instances (%(num)s alive)") % {"num": len(alive)},
        (
            a._("instance"),
            a._("state"),
            a._("started"),
            a._("heartbeat"),
            a._("checks"),
            a._("checking now"),
            a._("last of"),
        ),
        (
            (
                i["id"],
                output.cell(a._("alive"), "green")
                if i["alive"]
                else output.cell(a._("gone"), "red"),
                when.local(datetime.fromisoformat(i["started_at"]), a.tz),
                _ago(datetime.fromisoformat(i["heartbeat_at"]), now, a),
                str(i["checks"]),
                a.comma.join(i["checking"]) or "-",
                a.n_("%(num)d shop", "%(num)d shops", len(i["checked_last"]))
                if i["checked_last"]
                else "-",
            )
            for i in data["instances"]
        ),
    )
    if not alive:
        inst.caption = output.cell(a._("no `watcher run` is running on this database"))
        inst.caption_justify = "left"
    shops = output.table(
        a._("Shops (%(num)s)") % {"num": len(data["shops"])},
        (a._("shop"), a._("next check"), a._("checking now"), a._("last check")),
        (_shop_row(s, now, a) for s in data["shops"]),
    )
    return [inst, shops]


def _ago(moment: datetime, now: datetime, a: Audience) -> str:
    return a._("%(span)s ago") % {"span": when.span(now - moment)}


def _due(moment: datetime, now: datetime, a: Audience) -> str:
    if moment <= now:
        return a._("now (due since %(when)s)") % {"when": when.local(moment, a.tz)}
    return a._("at %(when)s (in %(span)s)") % {
        "when": when.local(moment, a.tz),
        "span": when.span(moment - now),
    }


def _shop_row(s: dict[str, Any], now: datetime, a: Audience) -> tuple[str, ...]:
    if not s["scheduled"]:
        return (s["shop"], a._("not scheduled yet (no `watcher run` started)"), "-", "-")
    last = "-"
    if s["last_finished_at"]:
        status = s["last_status"] or ""
        last = a._("%(status)s, %(ago)s by %(instance)s") % {
            "status": a._(output.STATUS_WORDS[status]) if status in output.STATUS_WORDS else status,
            "ago": _ago(datetime.fromisoformat(s["last_finished_at"]), now, a),
            "instance": s["last_by"],
        }
    return (
        s["shop"],
        _due(datetime.fromisoformat(s["due_at"]), now, a),
        s["checking_by"] or "-",
        last,
    )
