"""Performance regressions found by the benchmarks (bench/results/throughput.md).

``asyncio.run`` (CPython 3.11) restores its SIGINT handler in ``Runner.run``'s ``finally``;
``signal.signal``/``getsignal`` try ``Handlers(handler)``, whose ValueError message holds
``repr(functools.partial(..., main_task=task))``, and a finished Task's repr includes
``reprlib.repr(task.result())`` -- which calls the result's full ``repr`` before cutting it
to 30 characters. ``watcher check`` returns its :class:`CheckReport` from that task, so the
dataclass repr of every ShopResult and every Listing of the pass is built once at exit:
+56 MB peak RSS and ~1 s CPU at 20 shops x 500 listings, growing with the catalog size.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from watcher.config import ShopConfig, Url
from watcher.demo import Marketplace
from watcher.demo.catalog import FENGSHANG, URBAN
from watcher.detectors.base import ShopResult
from watcher.http import Http
from watcher.models import Listing
from watcher.runner import CheckReport
from watcher.sources import source_kinds
from watcher.store.repo import ListingChanges

SHOP = ShopConfig(name="S", kind="shopify", url=Url("https://s.example"))


def _report(shops: int, listings: int) -> CheckReport:
    results = []
    for s in range(shops):
        shop = ShopConfig(name=f"S{s}", kind="shopify", url=Url(f"https://s{s}.example"))
        seen = [
            (
                i,
                Listing(
                    ref=str(i),
                    url=f"https://s{s}.example/products/p{i}",
                    title=f"Linen dress {i}",
                    price=10.0 + i,
                    description="A light linen dress for summer. " * 60,
                    images=[f"https://s{s}.example/i/{i}.jpg"],
                ),
            )
            for i in range(listings)
        ]
        results.append(ShopResult(shop=shop, shop_id=s, changes=ListingChanges(seen=seen)))
    return CheckReport(results=results)


def test_check_report_repr_is_short() -> None:
    """The report's repr does not grow with the number of listings."""
    assert len(repr(_report(2, 300))) < 2_000


def test_asyncio_run_returning_a_report_is_cheap() -> None:
    """Returning a big report from asyncio.run costs no more than returning None."""
    report = _report(4, 1_000)

    async def main() -> CheckReport:
        return report

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    asyncio.run(main())
    cpu = time.process_time() - start
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert cpu < 0.1 and grown_mb < 5, f"{cpu:.2f} s CPU, +{grown_mb:.0f} MB peak"


async def test_catalog_pages_read_in_worker_processes_equal_the_in_process_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large check reads its Shopify and WooCommerce catalog pages in worker processes
    (JSON decoding and record building on another core); the listings are exactly those
    read in this process, and a small check starts no worker."""
    from watcher import workers

    workers.shutdown()
    with Marketplace() as market:
        for name in (FENGSHANG, URBAN):
            demo = market.shop(name)
            shop = ShopConfig(
                name=demo.name, kind=demo.kind, url=Url(demo.base), currency=demo.currency
            )
            async with Http(trusted=[demo.base]) as http:
                source = source_kinds()[shop.kind](shop, http)
                monkeypatch.setattr(workers, "WORTH_BYTES", 1 << 40)
                here = await source.catalog()
                assert not workers.started()
                monkeypatch.setattr(workers, "WORTH_BYTES", 0)
                pooled = await source.catalog()
                assert workers.started()
            workers.shutdown()
            assert here.complete and len(here.listings) >= 10
            assert pooled == here


def test_stored_catalog_listings_are_let_go_but_changed_ones_stay() -> None:
    """A check of many catalogs held every listing until the detectors ran (memory growing
    with the number of shops): once stored, only the changed ones are held, the others
    are counted."""
    from watcher.store import Change

    def item(i: int) -> Listing:
        return Listing(ref=str(i), url=f"https://s.example/p{i}", title=f"Dress {i}")

    kept, changed, new = item(1), item(2), item(3)
    changes = ListingChanges(
        seen=[(1, kept), (2, changed), (3, new)],
        new=[(3, new)],
        changed=[Change(2, changed, {"price": 9.0}, {"price": 10.0}, None)],
    )
    changes.let_go_stored()
    assert changes.seen == [(2, changed)] and changes.new == []
    assert (changes.seen_count, changes.new_count) == (3, 1)
    assert repr(ShopResult(shop=SHOP, shop_id=1, changes=changes)).endswith("3 listing(s)>")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (start-up state is per process)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )


def test_check_start_up_imports_no_worker_pool_and_no_image_stack() -> None:
    """`watcher check` starts without the worker pool's machinery or the image stack
    (numpy, Pillow): a small check never pays for them; a large one imports them when
    its photos or pages go to the workers. Nor does it import rich (only tables and the
    progress bar on a terminal need it) or httpx's command-line tool (click, pygments)."""
    code = (
        "import sys, watcher.app, watcher.runner, watcher.cli.commands.check\n"
        "heavy = ('watcher.workers', 'concurrent.futures.process', 'numpy', 'PIL',"
        " 'watcher.images', 'rich', 'click', 'pygments')\n"
        "print([m for m in heavy if sys.modules.get(m) is not None])\n"
    )
    out = _python(code)
    assert out.stdout.strip() == "[]", out.stdout


def test_open_app_takes_start_up_objects_out_of_the_cyclic_collector(tmp_path: Path) -> None:
    """The objects alive once the app is wired (modules, the config, the app) are frozen
    out of the cyclic collector, once per process; garbage made afterwards is still
    collected (in a child process: freezing is for the whole process)."""
    code = (
        "import asyncio, gc, weakref\n"
        "from watcher.app import open_app\n"
        "from watcher.config import parse_config\n"
        f"cfg = parse_config({{'watcher': {{'database': 'sqlite:///{tmp_path}/w.db'}},\n"
        "    'shops': [{'name': 'R', 'kind': 'html', 'url': 'https://r.example'}]}, env={})\n"
        "class Node: pass\n"
        "async def main():\n"
        "    assert gc.get_freeze_count() == 0\n"
        "    async with open_app(cfg):\n"
        "        frozen = gc.get_freeze_count()\n"
        "        a, b = Node(), Node()\n"
        "        a.other, b.other = b, a\n"
        "        alive = weakref.ref(a)\n"
        "        del a, b\n"
        "        gc.collect()\n"
        "        print(frozen, alive() is None)\n"
        "    kept = [Node() for _ in range(20_000)]\n"
        "    async with open_app(cfg):\n"
        "        print(gc.get_freeze_count() < frozen + len(kept))\n"
        "asyncio.run(main())\n"
    )
    out = _python(code)
    first, again = out.stdout.split("\n")[:2]
    frozen, collected = first.split()
    assert int(frozen) > 20_000, out.stdout
    assert collected == "True"
    assert again == "True"


def test_a_config_naming_a_common_currency_loads_without_babel(tmp_path: Path) -> None:
    """A shop's `currency = "USD"` is validated without Babel's currency data (+3 MiB of
    peak memory for every check); a rarer code is still checked against it."""
    config = tmp_path / "w.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "w.db"}"\n'
        '[[shops]]\nname = "A"\nkind = "shopify"\nurl = "https://a.example"\ncurrency = "usd"\n'
        '[[shops]]\nname = "B"\nkind = "shopify"\nurl = "https://b.example"\n'
        'currency = "cny"\n',
        encoding="utf-8",
    )
    code = (
        "import sys\nfrom watcher.registry import load\n"
        f"c = load({str(config)!r})\n"
        "print([s.currency for s in c.shops], 'babel' in sys.modules)\n"
    )
    assert _python(code).stdout.strip() == "['USD', 'CNY'] False"
    config.write_text(config.read_text().replace('"cny"', '"xof"'), encoding="utf-8")
    assert _python(code).stdout.strip() == "['USD', 'XOF'] True"
