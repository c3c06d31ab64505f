"""``watcher init [PATH]``: write the commented example config to start from."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.cli.command import Command, Exit, UsageError

if TYPE_CHECKING:
    from watcher.config import Config

EXAMPLE = "example.toml"
"""Shipped inside the package (``watcher/example.toml``); ``config/example.toml`` in the
repository is the same file."""


def example_config() -> str:
    """The commented example config: every key, with its default."""
    return files("watcher").joinpath(EXAMPLE).read_text(encoding="utf-8")


class Init(Command):
    """The first of the two set-up commands; the second is ``watcher check``."""

    name = "init"
    help = "write a commented example config to edit (never overwrites a file)"
    config = "none"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The file to write."""
        parser.add_argument(
            "path", nargs="?", default="watcher.toml", help="where (default: watcher.toml)"
        )

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0; 2 when the file exists or cannot be written."""
        path = Path(args.path)
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(example_config())
        except FileExistsError:
            raise UsageError(f"{str(path)!r} already exists; not overwriting it") from None
        except OSError as e:
            raise UsageError(f"cannot write {str(path)!r}: {e.strerror}") from None
        print(
            f"wrote {path}: name your shop and competitors in it, set the alert channel,"
            f" then run `watcher check --config {path}`",
            file=sys.stderr,
        )
        return Exit.OK
