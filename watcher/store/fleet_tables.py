"""Tables of the daemons sharing a database: who is running, and when each shop is due.

Times here are stored with their zone (``timestamptz`` on PostgreSQL) because leases are
compared with the database server's clock, whatever the session's time zone.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table
from sqlmodel import SQLModel


def _when(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


instance = Table(
    "instance",
    SQLModel.metadata,
    Column("id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    # The kernel's boot id: with the host it tells whether a stale row is from this machine.
    Column("boot", String(64), nullable=False, default=""),
    Column("pid", Integer, nullable=False),
    Column("version", String(32), nullable=False, default=""),
    _when("started_at", nullable=False),
    _when("heartbeat_at", nullable=False),
    # The instance's own lease: it is dead once its heartbeat is older than this.
    Column("lease_s", Float, nullable=False),
    Column("checks", Integer, nullable=False, default=0),
)
"""One running ``watcher run`` process, kept alive by its heartbeat."""

schedule = Table(
    "schedule",
    SQLModel.metadata,
    Column("shop", String(255), primary_key=True),
    # The grid time of the next check; due_at is this plus jitter.
    _when("nominal_at", nullable=False),
    _when("due_at", nullable=False),
    # Set only while a check runs.
    Column("owner", String(128)),
    _when("lease_until"),
    _when("claimed_at"),
    # The instance that checked the shop last.
    Column("last_by", String(128)),
    _when("last_started_at"),
    _when("last_finished_at"),
    Column("last_status", String(16)),
    Index("ix_schedule_due", "due_at"),
)
"""When each configured shop is next due, and which instance is checking it now."""

FLEET_TABLES = (instance, schedule)
