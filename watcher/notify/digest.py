"""Digests: a channel with ``digest = "08:30"`` (daily, local time in ``[watcher]
timezone``) or ``digest = "1h"`` holds its alerts and sends them as one message.

Holding is the outbox's own retry time: a held delivery is recorded with
``next_attempt_at`` at the channel's next slot (:func:`next_slot`), so a digest is claimed,
leased, retried and recorded like any delivery: it survives restarts and crashes, is sent
once and never lost, and there is no second queue. Kinds in ``immediate`` are due at once.

A digest reads grouped by kind and shop (:func:`watcher.notify.render.digest_blocks`); a
group of more than :data:`~watcher.notify.render.COLLAPSE` findings (a storm: every competitor's prices move on 双11) becomes one
block: its count and the kind's facts (``48 alerts, median −15.0%, 40 down``), a few
examples, and the way to the full list: the dashboard's ``/alerts?shop=…&kind=…`` when
``[serve] public_url`` is set, the attached CSV (:func:`csv_table`) for email.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from watcher.config import DigestSchedule
from watcher.i18n import ENGLISH, Audience
from watcher.models import AlertBatch, DigestView, kind_names
from watcher.notify.render import dashboard_link, digest_title, facts, groups, one_line
from watcher.readable import clean

_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def next_slot(schedule: DigestSchedule, after: datetime, tz: ZoneInfo) -> datetime:
    """The first digest time strictly after ``after`` (aware), in UTC.

    Daily: the next ``HH:MM`` on the local clock. Interval: the local day cut into
    ``every``-long slots from midnight (``1h``: on the hour; ``30m``: :00 and :30)."""
    local = after.astimezone(tz)
    day = local.date()
    if schedule.daily is not None:
        at = datetime.combine(day, schedule.daily, tzinfo=tz)
        if at <= local:
            at = datetime.combine(day + timedelta(days=1), schedule.daily, tzinfo=tz)
        return at.astimezone(UTC)
    every = schedule.every or timedelta(hours=1)
    midnight = datetime.combine(day, time(0))
    wall = local.replace(tzinfo=None)
    slot = midnight + every * ((wall - midnight) // every + 1)
    if slot.date() != day:
        slot = midnight + timedelta(days=1)
    return slot.replace(tzinfo=tz).astimezone(UTC)


def digest_json(batch: AlertBatch) -> dict[str, Any]:
    """The digest's summary for the JSON webhook (the alerts themselves go in full):
    ``{"schedule", "title", "groups": [{"kind", "shop", "count", "facts", "url"}]}``; the
    title and facts in the batch's language."""
    view = batch.digest or DigestView()
    a = batch.audience
    return {
        "schedule": view.schedule,
        "title": digest_title(batch),
        "groups": [
            {
                "kind": kind,
                "shop": shop,
                "count": len(fs),
                "facts": facts(kind, fs, a)[1:],
                "url": dashboard_link(view.public_url, shop, kind) if view.public_url else None,
            }
            for kind, shop, fs in groups(batch)
        ],
    }


def csv_name(view: DigestView, a: Audience = ENGLISH) -> str:
    """``watcher-digest-2027-03-01-0830.csv`` (the time it was sent, in ``a``'s zone)."""
    at = (view.at or datetime.now(UTC)).astimezone(a.tz)
    return f"watcher-digest-{at:%Y-%m-%d-%H%M}.csv"


def _cell(value: object) -> str:
    """A spreadsheet cell that is only text: a fetched title starting with ``=`` must not
    become a formula when the file is opened."""
    text = clean(value)
    return "'" + text if text.startswith(_CSV_FORMULA) else text


def csv_table(batch: AlertBatch) -> bytes:
    """Every finding of the digest, one row each (its summary as its kind's module writes
    it), in the batch's language with its times in the batch's zone (UTF-8 with a BOM, so spreadsheet programs read Chinese right)."""
    # Imported here: the mail module brings the image stack, which `watcher check` loads
    # only when it has photos to compare (the outbox imports this module at start-up).
    from watcher.notify.mail import severity_word

    a = batch.audience
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            a._("Time"),
            a._("Kind"),
            a._("Severity"),
            a._("Shop"),
            a._("Listing"),
            a._("Link"),
            a._("Summary"),
        ]
    )
    for f in batch.sorted():
        listing = f.listing or {}
        w.writerow(
            [
                _cell(a.when(f.detected_at)),
                _cell(a._(kind_names(f.kind).label)),
                _cell(severity_word(a, f.severity)),
                _cell(f.shop),
                _cell(listing.get("title") or ""),
                _cell(listing.get("url") or ""),
                _cell(one_line(f, a, chars=500)),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def view_for(
    view: DigestView, *, schedule: str, attaches: bool, at: datetime, a: Audience = ENGLISH
) -> DigestView:
    """The view of one send: the channel's schedule, the name of the attached full list
    (when the channel attaches one, named in ``a``'s zone) and when it is sent."""
    named = replace(view, schedule=schedule, at=at)
    return replace(named, attached=csv_name(named, a) if attaches else "")
