"""What a command is: one class in one module of :mod:`watcher.cli.commands`, discovered by
its ``name``; and the exit codes every command shares."""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar, Literal

from watcher.errors import WatcherError

if TYPE_CHECKING:
    from watcher.config import Config


class Exit(IntEnum):
    """The exit codes of ``watcher``."""

    OK = 0
    FAILED = 1
    """A shop, a fetch or a delivery failed (the rest was still done)."""
    USAGE = 2
    """Bad configuration or bad command line."""
    INTERRUPTED = 130


class UsageError(WatcherError):
    """The command line asks for something that cannot be: exit code 2."""


class Command(ABC):
    """One ``watcher`` subcommand.

    ``config`` says whether it takes ``--config FILE``: ``required``, ``optional`` or
    ``none``. The config is loaded, checked against the plugins and used to set up logging
    before :meth:`run` is called.
    """

    name: ClassVar[str]
    help: ClassVar[str]
    config: ClassVar[Literal["required", "optional", "none"]] = "required"
    config_help: ClassVar[str] = "the TOML config file"
    sends: ClassVar[bool] = True
    """Whether the command may deliver alerts. One that never does (``status``,
    ``listings``) loads the config without its ``[[alerts]]``, so it runs from a shell
    that lacks the channels' secrets."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027 - optional
        """Add the command's own options (``--config`` and the global ones are added for
        it)."""

    @abstractmethod
    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Do the command; returns the exit code (an :class:`Exit`)."""
