"""End to end: an own listing taken down (its page answers 404/410) reaches the seller as
one ``listing_changed`` alert with the ``listed`` change, and its return as one more; real
`watcher check` processes, the sample marketplace and a real webhook receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import check
from tests.receiver import Receiver
from watcher.demo import DemoShop, Marketplace

SECRET = "hook-secret-0wn-g0ne"


@pytest.fixture
def market() -> Iterator[Marketplace]:
    with Marketplace() as m:
        yield m


def _config(path: Path, own: DemoShop, listings: list[str], rx: Receiver) -> Path:
    q = json.dumps
    watched = f"listings = {q(listings)}" if listings else "top = 3"
    path.write_text(
        f"""[watcher]
database = {q(f"sqlite:///{path.parent / 'w.db'}")}
interval = "1h"
jitter = "0s"
retries = 0
timezone = "Asia/Shanghai"

[[shops]]
name = {q(own.name)}
role = "own"
kind = {q(own.kind)}
url = {q(own.url)}
currency = {q(own.currency)}
{watched}

[[alerts]]
kind = "webhook"
name = "hook"
url = {q(rx.url("/hook"))}
secret = "${{HOOK_SECRET}}"
timeout = "2s"
""",
        encoding="utf-8",
    )
    return path


def _listed(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        f for f in findings if f["kind"] == "listing_changed" and "listed" in f["detail"]["changes"]
    ]


def _delivered(rx: Receiver) -> list[dict[str, Any]]:
    return _listed([a for r in rx.requests for a in r.json()["alerts"]])


def test_a_listing_taken_down_alerts_once_and_once_more_when_back(
    market: Marketplace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    own = next(s for s in market.shops if s.role == "own")
    gone, kept = own.data.products[:2]
    urls = [f"{own.base}products/{p.handle}" for p in (gone, kept)]
    page = f"^/products/{gone.handle}([.?/]|$)"
    with Receiver(secret=SECRET) as rx:
        config = _config(tmp_path / "w.toml", own, urls, rx)

        def run(fault: str | None) -> list[dict[str, Any]]:
            market.clear_faults()
            if fault:
                market.set_fault(own.name, fault, paths=page)
            done = check(config)
            assert done.code == (1 if fault else 0), done.stderr  # 1: a partial check
            return _listed(done.findings)

        assert run(None) == []  # the baseline: both on sale
        assert run("404") == [], "one 404 can be a hiccup"
        assert run("500") == [], "a 500 is unknown: it neither counts nor resets"
        assert _delivered(rx) == []

        down = run("404")  # the second 404 in a row of this listing
        assert len(down) == 1
        f = down[0]
        assert (f["severity"], f["shop"], f["listing"]["title"]) == ("high", own.name, gone.title)
        assert f["detail"]["changes"] == {"listed": {"old": True, "new": False}}
        assert f["detail"]["http_status"] == 404
        assert "HTTP 404" in f["summary"]
        assert [a["dedup_key"] for a in _delivered(rx)] == [f["dedup_key"]]
        assert rx.verify_json_signature(rx.requests[-1])

        assert run("410") == [], "still gone: the same takedown never alerts twice"
        assert run("500") == []
        assert run("404") == []
        assert len(_delivered(rx)) == 1

        back = run(None)
        assert len(back) == 1
        b = back[0]
        assert b["severity"] == "medium" and b["listing"]["title"] == gone.title
        assert b["detail"]["changes"] == {"listed": {"old": False, "new": True}}
        assert "http_status" not in b["detail"]
        assert b["dedup_key"] != f["dedup_key"]
        assert [a["dedup_key"] for a in _delivered(rx)] == [f["dedup_key"], b["dedup_key"]]

        assert run(None) == []
        assert run("404") == [], "a page read since resets the count"
        assert run(None) == []
        assert run("404") == [], "…so a later single 404 is a hiccup again"
        assert run("404")[0]["detail"]["http_status"] == 404, "a new takedown alerts again"
        assert len(_delivered(rx)) == 3


@pytest.mark.parametrize("watched", ["top", "only"])
def test_a_taken_down_best_seller_or_only_listing_alerts_too(
    watched: str, market: Marketplace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``top``: a best seller still on the best-selling page whose own page answers 404;
    ``only``: the shop's one configured listing (the takedown is told, and the shop, which
    answers, never becomes "unreachable")."""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    own = next(s for s in market.shops if s.role == "own")
    gone = own.data.best_selling()[0]
    url = f"{own.base}products/{gone.handle}"
    with Receiver(secret=SECRET) as rx:
        config = _config(tmp_path / "w.toml", own, [url] if watched == "only" else [], rx)
        assert check(config).code == 0
        market.set_fault(own.name, "404", paths=f"^/products/{gone.handle}([.?/]|$)")
        first, second, third = check(config), check(config), check(config)
        assert {first.code, second.code, third.code} == {1}
        assert _listed(first.findings) == [] and _listed(third.findings) == []
        fourth = check(config)
        assert not [
            f
            for c in (first, second, third, fourth)
            for f in c.findings
            if f["kind"] == "shop_unreachable"
        ], "a shop that answers 404 for a listing known to be taken down is not unreachable"
        (f,) = _listed(second.findings)
        assert (f["severity"], f["listing"]["title"]) == ("high", gone.title)
        assert f["detail"]["changes"] == {"listed": {"old": True, "new": False}}
        assert [a["dedup_key"] for a in _delivered(rx)] == [f["dedup_key"]]
