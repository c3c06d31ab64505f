"""The command line: parse arguments, call the app, print, exit with the documented codes.

Exit codes: 0 success; 1 a shop (or fetch) failed; 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from loguru import logger

from watcher import logs
from watcher.config import Config, ConfigError
from watcher.errors import StorageError, WatcherError
from watcher.secrets import Secrets

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # usage errors exit 2 with one line, like config errors
        self.print_usage(sys.stderr)
        print(f"watcher: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = _Parser(
        prog="watcher",
        description="Watch your listings and your competitors; alert when something needs you.",
    )
    p.add_argument(
        "--log-json", action="store_true", help="machine-readable JSON log lines on stderr"
    )
    p.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default from config, INFO)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="one pass over every configured shop")
    c.add_argument("--config", required=True, metavar="FILE")
    c.add_argument("--json", action="store_true", help="print each new finding as one JSON line")
    c.add_argument(
        "--shop",
        action="append",
        default=[],
        metavar="NAME",
        help="check only this shop (repeatable)",
    )

    r = sub.add_parser("run", help="the daemon: check every shop on its interval")
    r.add_argument("--config", required=True, metavar="FILE")

    d = sub.add_parser("demo", help="run the whole pipeline against the bundled sample marketplace")
    d.add_argument("--json", action="store_true", help="print findings as JSON lines")

    a = sub.add_parser("alerts", help="stored alerts and their delivery state")
    a.add_argument("--config", required=True, metavar="FILE")
    a.add_argument("--retry", action="store_true", help="redeliver failed and pending alerts now")
    a.add_argument("--json", action="store_true")
    a.add_argument("--limit", type=int, default=50)

    i = sub.add_parser(
        "inspect", help="fetch one listing or shop page and print what watcher extracts"
    )
    i.add_argument("url")
    i.add_argument(
        "--kind", default=None, help="shopify | woocommerce | html (guessed when omitted)"
    )
    i.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="use this config's settings and the selectors of the shop whose url matches",
    )
    i.add_argument("--catalog", action="store_true", help="read the URL as a shop/catalog page")
    i.add_argument(
        "--suggest",
        action="store_true",
        help="also print the CSS selectors that would read this product page",
    )

    li = sub.add_parser("listings", help="stored listings with their latest fields")
    li.add_argument("--config", required=True, metavar="FILE")
    li.add_argument("--json", action="store_true")
    li.add_argument("--shop", default=None, metavar="NAME")
    li.add_argument("--all", action="store_true", help="include removed listings")

    st = sub.add_parser(
        "status", help="the running instances, the shops each checks, when each shop is due"
    )
    st.add_argument("--config", required=True, metavar="FILE")
    st.add_argument("--json", action="store_true", help="one JSON object")

    t = sub.add_parser("test-alert", help="send one sample alert to every channel")
    t.add_argument("--config", required=True, metavar="FILE")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``watcher`` console script."""
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level or "INFO", json=args.log_json)
    secrets = Secrets()
    try:
        config: Config | None = None
        if getattr(args, "config", None):
            from watcher.registry import load

            config = load(args.config)
            secrets = config.secrets
            logs.setup(
                args.log_level or config.watcher.log_level, json=args.log_json, secrets=secrets
            )
        from watcher import commands

        handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
        return int(handler(args, config))
    except ConfigError as e:
        print(f"watcher: config error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as e:
        print(f"watcher: database error: {secrets.redact(str(e))}", file=sys.stderr)
        return EXIT_FAILED
    except WatcherError as e:
        print(f"watcher: {secrets.redact(str(e))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def print_json(obj: Any) -> None:
    """One JSON object per line on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    logger.remove()
    sys.exit(main())
