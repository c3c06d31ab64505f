"""Database failures as :class:`~watcher.errors.StorageError`, with a message a person can
read: the driver's text and the SQL statement (with its parameters: fetched data) go to the
log, never into a shop's error, an alert or a chat message."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from loguru import logger
from sqlalchemy.exc import SQLAlchemyError

from watcher.errors import StorageError

P = ParamSpec("P")
R = TypeVar("R")

LOG_CHARS = 4000
"""How much of a driver error (statement and parameters included) the log keeps."""

_KNOWN = (
    ("database is locked", "database is locked"),
    ("disk i/o error", "disk I/O error"),
    ("database or disk is full", "database or disk is full"),
    ("no space left", "database or disk is full"),
    ("unable to open database", "unable to open the database file"),
    ("readonly database", "the database is read-only"),
    ("read-only", "the database is read-only"),
    ("malformed", "the database file is damaged"),
    ("too long", "a value was too long for its column"),
    ("out of range", "a value was out of range for its column"),
    ("nul (0x00)", "a value held a NUL character"),
    ("could not connect", "cannot connect to the database server"),
    ("connection refused", "cannot connect to the database server"),
    ("connection to server", "the connection to the database server failed"),
    ("server closed the connection", "the connection to the database server was lost"),
    ("terminating connection", "the connection to the database server was lost"),
    ("no such table", "a table is missing"),
    ("no such column", "a column is missing"),
    ("does not exist", "a table or column is missing"),
    ("deadlock", "a deadlock with another process; retried on the next check"),
)


def describe(error: SQLAlchemyError) -> str:
    """A short, fixed phrase for a database error: never the statement, never driver text."""
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).lower()
    for needle, phrase in _KNOWN:
        if needle in text:
            return phrase
    return f"{type(orig).__name__ if orig is not None else type(error).__name__}"


def storage_error(error: SQLAlchemyError) -> StorageError:
    """The StorageError for ``error``; the full driver text is logged here."""
    message = describe(error)
    logger.warning("the database refused an operation ({}): {}", message, str(error)[:LOG_CHARS])
    return StorageError(f"database error: {message}")


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn database errors (locked, disk full, connection lost, refused values) raised by
    ``fn`` into StorageError."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as e:
            raise storage_error(e) from None

    return wrapper
