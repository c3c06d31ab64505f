"""The command line: parse arguments, load the config, run one command, exit with the
documented code (:class:`~watcher.cli.command.Exit`): 0 success; 1 a shop or fetch failed
(for ``alerts --retry``: a delivery; an alert ``check`` could not deliver stays in the outbox
and is retried, which is no failure of the check); 2 bad configuration or usage.

Each command is a module of :mod:`watcher.cli.commands`. The global options (``--log-level``,
``--log-json``) are accepted before and after the command's name.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, NoReturn

from watcher import logs
from watcher.cli.command import Command, Exit, UsageError
from watcher.errors import ConfigError, WatcherError
from watcher.secrets import Secrets

if TYPE_CHECKING:
    from watcher.config import Config

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors exit 2 with one line
        self.print_usage(sys.stderr)
        print(f"watcher: error: {message}", file=sys.stderr)
        raise SystemExit(Exit.USAGE)


def _version() -> str:
    try:
        return version("watcher")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--log-json`` and ``--log-level``; on a subcommand their default is SUPPRESS, so an
    option given before the command's name is not reset by the subcommand's parser."""
    parser.add_argument(
        "--log-json",
        action="store_true",
        default=default if default is argparse.SUPPRESS else False,
        help="machine-readable JSON log lines on stderr",
    )
    parser.add_argument(
        "--log-level",
        default=default,
        choices=LOG_LEVELS,
        type=str.upper,
        help="log verbosity (default: the config's log_level, or INFO)",
    )


def build_parser(commands: dict[str, type[Command]] | None = None) -> argparse.ArgumentParser:
    """The argument parser of every command."""
    if commands is None:
        from watcher.cli.commands import commands as discovered

        commands = discovered()
    parser = _Parser(
        prog="watcher",
        description="Watch your listings and your competitors; alert when something needs you.",
    )
    parser.add_argument("--version", action="version", version=f"watcher {_version()}")
    _global_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, cls in sorted(commands.items()):
        p = sub.add_parser(name, help=cls.help, description=cls.help)
        if cls.config != "none":
            p.add_argument(
                "--config", required=cls.config == "required", metavar="FILE", help=cls.config_help
            )
        cls().add_arguments(p)
        _global_options(p, argparse.SUPPRESS)
    return parser


def _load(path: str, args: argparse.Namespace, channels: bool) -> Config:
    from watcher.registry import load

    config = load(path, channels=channels)
    logs.setup(
        args.log_level or config.watcher.log_level, json=args.log_json, secrets=config.secrets
    )
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watcher`` console script."""
    from watcher.cli.commands import commands

    found = commands()
    args = build_parser(found).parse_args(argv)
    logs.setup(args.log_level or "INFO", json=args.log_json)
    secrets = Secrets()
    try:
        command = found[args.command]
        config = _load(args.config, args, command.sends) if getattr(args, "config", None) else None
        if config is not None:
            secrets = config.secrets
        return int(command().run(args, config))
    except ConfigError as e:
        print(f"watcher: config error: {secrets.redact(str(e))}", file=sys.stderr)
        return Exit.USAGE
    except UsageError as e:
        print(f"watcher {args.command}: error: {e}", file=sys.stderr)
        return Exit.USAGE
    except WatcherError as e:
        print(f"watcher: {secrets.redact(str(e))}", file=sys.stderr)
        return Exit.FAILED
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # The reader left early (`watcher listings --json | head -1`): no traceback, and
        # none either when the interpreter flushes stdout on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.FAILED


__all__ = ["Exit", "build_parser", "main"]
