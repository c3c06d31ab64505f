"""``watcher listings``: the stored listings with their latest fields."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from watcher.cli import output
from watcher.cli.command import Command, Exit
from watcher.cli.names import pick
from watcher.i18n import Audience, audience

if TYPE_CHECKING:
    from watcher.config import Config


def _as_json(r: Any) -> dict[str, Any]:
    from watcher.store.db import from_db

    lr = r.ListingRow
    return {
        "shop": r.shop,
        "ref": lr.ref,
        "url": lr.url,
        "title": lr.title,
        "price": lr.price,
        "currency": lr.currency,
        "compare_at": lr.compare_at,
        "available": lr.available,
        "image": lr.image,
        "rating": lr.rating,
        "rating_count": lr.rating_count,
        "first_seen": from_db(lr.first_seen),
        "last_seen": from_db(lr.last_seen),
        "removed_at": from_db(lr.removed_at),
        "watched": lr.own_top is not None,
        "source": lr.source,
    }


def _as_row(r: Any, a: Audience) -> tuple[object, ...]:
    from watcher.store.db import from_db

    lr = r.ListingRow
    price = f"{lr.price:,.2f} {lr.currency or ''}" if lr.price is not None else "?"
    stock = {True: a._("in stock"), False: a._("out of stock"), None: "?"}[lr.available]
    rating = f"{lr.rating:.1f} ({lr.rating_count or 0})" if lr.rating else ""
    return (
        r.shop,
        lr.title,
        price,
        stock,
        rating,
        a.when(from_db(lr.first_seen))[:10],
        a.when(from_db(lr.last_seen)),
    )


class Listings(Command):
    """What watcher has stored about every shop's listings."""

    name = "listings"
    sends = False
    help = "stored listings with their latest fields"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """``--json``, ``--shop``, ``--all``."""
        parser.add_argument("--json", action="store_true", help="one JSON object per listing")
        parser.add_argument(
            "--shop", default=None, metavar="NAME", help="only this shop (case does not matter)"
        )
        parser.add_argument("--all", action="store_true", help="include removed listings")

    def run(self, args: argparse.Namespace, config: Config | None) -> int:
        """Exit 0 (2 for a shop that is not stored)."""
        assert config is not None
        from watcher.store import Store

        store = Store(config.watcher.database)
        try:
            shop_id = None
            if args.shop:
                shops = store.shops()
                (name,) = pick([args.shop], [s.name for s in shops], "stored shop")
                shop_id = next(s.id for s in shops if s.name == name)
            rows = store.listings(shop_id, active=not args.all)
            if args.json:
                for r in rows:
                    output.print_json(_as_json(r))
                return Exit.OK
            a = audience(config.watcher.language, config.watcher.timezone)
            output.console().print(
                output.table(
                    a._("Listings (%(num)s)") % {"num": len(rows)},
                    (
                        a._("shop"),
                        a._("listing"),
                        a._("price"),
                        a._("stock"),
                        a._("rating"),
                        a._("first seen"),
                        a._("last seen (%(zone)s)") % {"zone": a.zone},
                    ),
                    (_as_row(r, a) for r in rows),
                )
            )
            return Exit.OK
        finally:
            store.close()
