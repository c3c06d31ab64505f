"""The database URL: checked before anything runs, its password kept out of every message,
and a SQLite file placed where the user meant it.

A relative SQLite path in a config file is taken from the config file's folder, so a cron
job started elsewhere finds the same database; one in ``WATCHER_DATABASE_URL`` is taken from
the current directory, like any path given on the command line. The folder must exist: a
typo in it would otherwise start a fresh, empty database and every listing would look new.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.errors import ConfigError
from watcher.secrets import Secrets

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

_CREDENTIALS = re.compile(r"(?P<head>://[^/?#@:]*:)(?P<password>[^@/?#]*)@")


def password_of(url: str) -> str:
    """The password of ``user:password@host`` in ``url``, also when the rest of the URL is
    malformed; empty when there is none."""
    m = _CREDENTIALS.search(url)
    return m.group("password") if m else ""


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('head')}***@", url)


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or a ``file:`` URI."""
    if not url.database or url.database == ":memory:" or url.query.get("uri"):
        return None
    return Path(url.database).expanduser()


def _check_writable(path: Path, key: str) -> None:
    """The database file can be opened, or its folder can hold a new one."""
    folder = path.parent
    if not folder.exists():
        raise ConfigError(
            key,
            f"the folder {str(folder)!r} does not exist; create it first"
            " (a new database is only made in an existing folder, so a typo cannot start"
            " an empty one)",
        )
    if not folder.is_dir():
        raise ConfigError(key, f"{str(folder)!r} is a file, not a folder")
    if path.is_dir():
        raise ConfigError(key, f"{str(path)!r} is a folder, not a database file")
    if path.exists():
        try:
            with path.open("rb"):
                pass
        except OSError as e:
            raise ConfigError(key, f"cannot open {str(path)!r}: {e.strerror}") from None
        return
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".watcher-probe-"):
            pass
    except OSError as e:
        raise ConfigError(
            key, f"cannot create the database in {str(folder)!r}: {e.strerror}"
        ) from None


def check_database(url: str, key: str, base: Path | None, secrets: Secrets) -> str:
    """Validate the database URL at config key ``key``; returns it with a relative SQLite
    path made absolute against ``base`` (kept relative when ``base`` is None). The password
    is added to ``secrets``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    secrets.add(password_of(url), "the database URL")
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:
        scheme = url.partition(":")[0]
        raise ConfigError(key, f"unknown database kind {scheme!r}") from None
    except (ArgumentError, ValueError):
        raise ConfigError(
            key,
            f"not a database URL: {redact_url(url)!r}"
            " (expected sqlite:///path/to/watcher.db or postgresql+psycopg://user@host/db)",
        ) from None
    if parsed.password:
        secrets.add(str(parsed.password), "the database URL")
    if not parsed.drivername.startswith("sqlite"):
        return url
    path = _sqlite_file(parsed)
    if path is None:
        return url
    if base is not None and not path.is_absolute():
        path = base / path
        url = parsed.set(database=str(path)).render_as_string(hide_password=False)
    _check_writable(path, key)
    return url
