"""Price history retention (``[watcher] keep_history``) on SQLite and PostgreSQL: exactly the
snapshots superseded before the cutoff go; the latest, the pending and the state in force
at the cutoff stay; a check after pruning raises nothing false and nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from tests.e2e import check, write_config
from tests.receiver import Receiver
from watcher.config import ConfigError, parse_config
from watcher.demo import Marketplace
from watcher.detectors.prices import lowest_in
from watcher.models import Listing
from watcher.store import Store
from watcher.store.retention import CLAIM_KEY, prune_history
from watcher.store.tables import ListingRow, Meta, SnapshotRow

NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)
KEEP = timedelta(days=365)


def _listing(ref: str, price: float) -> Listing:
    return Listing(
        ref=ref,
        url=f"https://s.example/p/{ref}",
        title=f"Item {ref}",
        price=price,
        currency="CNY",
        available=True,
        images=[f"https://s.example/{ref}.jpg"],
    )


def _snapshots(engine: Engine) -> dict[int, tuple[str, float | None, datetime]]:
    """Every snapshot: id -> (listing ref, price, taken_at)."""
    q = (
        select(SnapshotRow.id, ListingRow.ref, SnapshotRow.price, SnapshotRow.taken_at)
        .join(ListingRow, ListingRow.id == SnapshotRow.listing_id)  # type: ignore[arg-type]
        .order_by(SnapshotRow.id)  # type: ignore[arg-type]
    )
    with engine.connect() as c:
        return {int(i): (r, p, t) for i, r, p, t in c.execute(q)}


def _backdate(engine: Engine, ages: dict[int, timedelta], now: datetime = NOW) -> None:
    with engine.begin() as c:
        for sid, age in ages.items():
            c.execute(update(SnapshotRow).where(SnapshotRow.id == sid).values(taken_at=now - age))  # type: ignore[arg-type]


def _world(store: Store) -> tuple[int, dict[str, list[int]]]:
    """Listings a..e with price changes; returns the shop id and each listing's snapshot ids
    in order."""
    shop = store.registry.ensure_shop("S", "shopify", "competitor", "https://s.example")
    prices = {"a": [10, 11, 12, 13], "b": [10, 11, 12], "c": [10, 11, 12], "d": [10, 11], "e": [10]}
    for step in range(4):
        items = [_listing(ref, ps[min(step, len(ps) - 1)]) for ref, ps in prices.items()]
        store.catalog.apply(shop.id, items, complete=True)
    with store.engine.begin() as c:  # their findings recorded
        c.execute(update(SnapshotRow).values(pending=False))
    by_ref: dict[str, list[int]] = {}
    for sid, (ref, _, _) in _snapshots(store.engine).items():
        by_ref.setdefault(ref, []).append(sid)
    return shop.id, by_ref


def test_prune_removes_exactly_the_superseded_history(db_url: str) -> None:
    store = Store(db_url)
    shop_id, snaps = _world(store)
    a, b, c, d = snaps["a"], snaps["b"], snaps["c"], snaps["d"]
    assert [len(a), len(b), len(c), len(d)] == [3, 2, 2, 1] and "e" not in snaps
    day = timedelta(days=1)
    _backdate(
        store.engine,
        {
            # a: two changes before the cutoff, one after: the first goes, the second is the
            # price in force at the cutoff and stays.
            a[0]: 400 * day,
            a[1]: 380 * day,
            a[2]: 10 * day,
            # b: both before the cutoff: the older goes, the latest (the diff base) stays.
            b[0]: 400 * day,
            b[1]: 390 * day,
            # c: both after the cutoff: nothing goes.
            c[0]: 300 * day,
            c[1]: 200 * day,
            # d: its one snapshot, ancient, is its latest.
            d[0]: 900 * day,
        },
    )
    with store.engine.begin() as conn:  # a crash left b's first change unrecorded
        conn.execute(update(SnapshotRow).where(SnapshotRow.id == b[0]).values(pending=True))  # type: ignore[arg-type]
    before = _snapshots(store.engine)
    lid = {r.row.ref: r.row.id for r in store.catalog.rows(shop_id)}
    history_before = store.reads.price_history(list(lid.values()))
    counts = store.counts()

    deleted = asyncio.run(prune_history(store.retention, KEEP, NOW, pause=0, batch=1))

    assert deleted == 1
    after = _snapshots(store.engine)
    assert set(before) - set(after) == {a[0]}, "only a's first change, superseded in time"
    with store.engine.begin() as conn:
        conn.execute(update(SnapshotRow).where(SnapshotRow.id == b[0]).values(pending=False))  # type: ignore[arg-type]
    with store.engine.begin() as conn:  # the last pass was long ago
        conn.execute(update(Meta).where(Meta.key == CLAIM_KEY).values(value="2000"))  # type: ignore[arg-type]
    assert asyncio.run(prune_history(store.retention, KEEP, NOW, pause=0, batch=2)) == 1
    assert set(before) - set(_snapshots(store.engine)) == {a[0], b[0]}
    rest = store.counts()
    assert {k: v for k, v in rest.items() if k != "snapshot"} == {
        k: v for k, v in counts.items() if k != "snapshot"
    }
    final = _snapshots(store.engine)
    latest = {r.row.snapshot_id for r in store.catalog.rows(shop_id)} - {None}
    assert len(latest) == 4 and latest <= set(final), "every listing's latest snapshot stays"
    # The price in force at every moment after the cutoff is unchanged, so is a low_window
    # of up to keep_history.
    history_after = store.reads.price_history(list(lid.values()))
    cutoff = NOW - KEEP
    for ref, i in lid.items():
        old, new = history_before[i], history_after[i]
        for moment in (cutoff, cutoff + day, NOW - 250 * day, NOW - 5 * day, NOW):
            assert _at(old, moment) == _at(new, moment), (ref, moment)
        for window in (30, 200, 365):
            assert lowest_in(old, 9.0, "CNY", NOW, timedelta(days=window)) == lowest_in(
                new, 9.0, "CNY", NOW, timedelta(days=window)
            )
    store.close()


def _at(points: list, moment: datetime) -> float | None:  # type: ignore[type-arg]
    price = None
    for p in sorted(points[1:], key=lambda p: p.at):
        if p.at <= moment:
            price = p.price
    return price if price is not None else points[0].price


def test_a_pass_is_claimed_once_a_day(db_url: str) -> None:
    store = Store(db_url)
    day = timedelta(days=1)
    assert asyncio.run(prune_history(store.retention, timedelta(0), NOW)) is None
    with store.engine.connect() as c:
        assert c.execute(select(Meta).where(Meta.key == CLAIM_KEY)).first() is None  # type: ignore[arg-type]
    assert store.retention.claim(NOW, day)
    assert not store.retention.claim(NOW + timedelta(hours=23), day)
    assert asyncio.run(prune_history(store.retention, KEEP, NOW + timedelta(hours=1))) is None
    assert store.retention.claim(NOW + day, day)
    assert not store.retention.claim(NOW + day, day), "two instances: one wins"
    store.close()


@pytest.mark.parametrize(
    ("watcher", "prices", "message"),
    [
        ({"keep_history": "12h"}, {}, "whole number of days"),
        ({"keep_history": "400d"}, {"low_window": "30d"}, None),
        ({"keep_history": 0}, {"low_window": "3650d"}, None),
        ({"keep_history": "10d"}, {"low_window": "30d"}, "low_window (30d)"),
        ({"keep_history": "10d"}, {"shops": {"R": {"low_window": "14d"}}}, "(14d)"),
    ],
)
def test_keep_history_config(watcher: dict, prices: dict, message: str | None) -> None:  # type: ignore[type-arg]
    data = {
        "watcher": watcher,
        "shops": [{"name": "R", "kind": "shopify", "url": "https://r.example"}],
        "detect": {"prices": prices},
    }
    if message is None:
        parse_config(data, {})
        return
    with pytest.raises(ConfigError) as e:
        parse_config(data, {})
    assert "watcher.keep_history" in str(e.value) and message in str(e.value)


def test_default_keeps_a_year() -> None:
    data = {"shops": [{"name": "R", "kind": "shopify", "url": "https://r.example"}]}
    assert parse_config(data, {}).watcher.keep_history == timedelta(days=365)


def _alerts(rx: Receiver) -> list[dict]:  # type: ignore[type-arg]
    """Every alert the receiver was sent (it answers 200)."""
    return [a for r in list(rx.requests) for a in r.json()["alerts"]]


def test_check_after_pruning_raises_nothing_false_or_twice(
    db_url: str, tmp_path: Path, rx: Receiver
) -> None:
    """End to end: price changes on the sample marketplace, their history aged past
    keep_history, ``watcher check`` prunes it, and the next checks raise exactly the new
    changes, from the right old prices, and never an old one again."""
    with Marketplace.scale(2, 40) as market:
        hook = f'[[alerts]]\nkind = "webhook"\nname = "hook"\nurl = "{rx.url("/hook")}"\n'
        config = write_config(market, tmp_path / "w.toml", db_url, extra=hook)
        assert check(config).code == 0
        for _ in range(4):
            market.advance()
            run = check(config)
            assert run.code == 0, run.stderr
        store = Store(db_url)
        before = _snapshots(store.engine)
        refs = {ref for ref, _, _ in before.values()}
        assert len(before) > len(refs), "some listings changed more than once"
        now = datetime.now(UTC)
        _backdate(store.engine, {i: timedelta(days=400) for i in before}, now)
        with store.engine.begin() as c:  # the last pass was yesterday
            c.execute(text("UPDATE meta SET value = '2000' WHERE key = :k"), {"k": CLAIM_KEY})
        delivered = len(_alerts(rx))

        quiet = check(config)
        assert quiet.code == 0 and quiet.findings == [], "nothing new, nothing again"
        after = _snapshots(store.engine)
        assert len(after) == len(refs), "one snapshot per changed listing is left"
        latest = {r.row.snapshot_id for r in store.listings(active=False)} - {None}
        assert set(after) == latest
        assert len(_alerts(rx)) == delivered

        prices = {r.row.url: r.row.price for r in store.listings(active=False)}
        market.advance()
        moved = check(config)
        assert moved.code == 0, moved.stderr
        assert moved.findings, "the step moved some prices"
        for f in moved.findings:
            assert f["kind"] == "price_change", f
            assert f["detail"]["old"] == prices[f["listing"]["url"]], f
        keys = [a["dedup_key"] for a in _alerts(rx)]
        assert len(keys) == len(set(keys)), "no alert delivered twice"
        again = check(config)
        assert again.findings == []
        store.close()


def test_a_stopping_daemon_ends_the_pass(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    _, snaps = _world(store)
    _backdate(store.engine, {i: timedelta(days=1000 - i) for s in snaps.values() for i in s})
    before = set(_snapshots(store.engine))
    stop = asyncio.Event()
    stop.set()
    assert asyncio.run(prune_history(store.retention, KEEP, NOW, pause=0, stop=stop)) == 0
    assert set(_snapshots(store.engine)) == before
    with store.engine.begin() as c:
        c.execute(update(Meta).where(Meta.key == CLAIM_KEY).values(value="2000"))  # type: ignore[arg-type]
    assert asyncio.run(prune_history(store.retention, KEEP, NOW, pause=0)) == 4, (
        "a: 2, b: 1, c: 1; d has one"
    )
    store.close()
