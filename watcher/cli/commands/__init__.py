"""The ``watcher`` subcommands, one module each, discovered by their ``name``."""

from __future__ import annotations

from functools import cache

from watcher.cli.command import Command


@cache
def commands() -> dict[str, type[Command]]:
    """Every command class by its name (``check``, ``run``, ``init``...)."""
    import watcher.cli.commands as package
    from watcher.plugins import discover

    return discover(package, Command, attr="name")


__all__ = ["Command", "commands"]
