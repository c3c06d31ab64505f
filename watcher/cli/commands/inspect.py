"""``watcher inspect URL``: what watcher extracts from one page."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from watcher.cli.command import Command, Exit, UsageError
from watcher.errors import ConfigError
from watcher.validation import check_url

if TYPE_CHECKING:
    from watcher.config import Config


class Inspect(Command):
    """Fetch one listing or shop page and print the extracted record(s) as JSON: the way to
    try a site or selectors before adding it."""

    name = "inspect"
    help = "fetch one listing or shop page and print what watcher extracts"
    config = "optional"
    config_help = "use this config's settings and the selectors of the shop whose url matches"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """The URL, ``--kind`` and ``--catalog``."""
        parser.add_argument("url")
        parser.add_argument(
            "--kind", default=None, help="shopify | woocommerce | html (guessed when omitted)"
        )
        parser.add_argument(
            "--catalog", action="store_true", help="read the URL as a shop/catalog page"
        )
        parser.add_argument(
            "--suggest",
            action="store_true",
            help="also print the CSS selectors that would read this product page",
        )

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0; 1 when the page could not be fetched or read; 2 for a bad URL or kind."""
        from watcher.inspect import inspect_url
        from watcher.sources import source_kinds

        try:
            check_url(args.url, "URL")
        except ConfigError as e:
            raise UsageError(e.problem) from None
        kinds = source_kinds()
        if args.kind is not None and args.kind not in kinds:
            raise UsageError(f"--kind: unknown kind {args.kind!r} (one of: {', '.join(kinds)})")
        result = asyncio.run(
            inspect_url(
                args.url,
                kind=args.kind,
                config=config,
                catalog=args.catalog,
                suggest=args.suggest,
            )
        )
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return Exit.OK
