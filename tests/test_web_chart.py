"""The pieces of the listing and evidence pages that are pure functions: the step chart and
its thinning, the price figures, the title differences."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from watcher.store.history import State
from watcher.web.chart import change_points, downsample, price_chart, timeline
from watcher.web.queries import price_stats
from watcher.web.titlediff import title_diff

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def _state(
    hours: float,
    price: float | None,
    *,
    available: bool | None = True,
    compare: float | None = None,
) -> State:
    return State(T0 + timedelta(hours=hours), "Tee", price, "CNY", compare, available, None)


def _chart(states: list[State], end: datetime) -> tuple[str, int, int, bool]:
    c = price_chart(
        states,
        states[0].at,
        end,
        money=lambda v: f"¥{v:.0f}",
        when=lambda t: t.isoformat(),
        tick_label=lambda t, span: t.strftime("%m-%d"),
        title="Price history of <b>Tee</b>",
        labels={"out_of_stock": "Out of stock"},
    )
    assert isinstance(c.svg, Markup)
    return str(c.svg), c.points, c.markers, c.downsampled


def test_change_points_keep_only_changes() -> None:
    states = [_state(0, 10), _state(1, 10, available=False), _state(2, 12), _state(3, 12)]
    assert [v for _, v in change_points(states, lambda s: s.price)] == [10, 12]


def test_a_small_history_draws_every_change_with_a_dot() -> None:
    states = [
        _state(0, 199),
        _state(24, 159, compare=199),
        _state(48, 159, available=False, compare=199),
        _state(72, 179, available=True),
    ]
    svg, points, markers, thinned = _chart(states, T0 + timedelta(hours=96))
    assert (points, markers, thinned) == (3, 3, False)
    assert svg.count('class="point"') == 3
    assert svg.count('class="oos"') == 1  # the day out of stock, shaded
    assert 'class="compare"' in svg and 'stroke-dasharray="6 4"' in svg
    path = re.search(r'class="price" d="([^"]+)"', svg)
    assert path is not None
    # a step line: horizontal runs and vertical jumps only, 3 levels
    assert path.group(1).count("V") == 2 and path.group(1).count("H") == 3
    assert "<b>" not in svg and "&lt;b&gt;Tee&lt;/b&gt;" in svg  # the title is escaped


def test_a_year_of_hourly_changes_is_thinned_without_losing_extremes() -> None:
    rng = random.Random(5)
    states = [_state(h, round(100 + rng.uniform(-20, 20), 2)) for h in range(24 * 365)]
    states[5000] = _state(5000, 1.0)  # one hour at a mistaken price
    svg, points, markers, thinned = _chart(states, T0 + timedelta(hours=24 * 365))
    assert thinned and markers == 0
    assert points == len(change_points(states, lambda s: s.price)) > 8000
    path = re.search(r'class="price" d="([^"]+)"', svg)
    assert path is not None
    vertices = len(re.findall(r"[MVH]", path.group(1)))
    assert vertices < 4 * 760 * 2  # bounded by the drawn width, not by the history
    # the spike's column still reaches its value: the lowest y drawn is that of ¥1
    ys = [float(y) for y in re.findall(r"V([\d.]+)", path.group(1))]
    assert max(ys) > 245  # at the bottom of the plot (y grows downwards; the rest is far above)
    assert sorted(ys)[-2] < 140


def test_downsample_keeps_first_min_max_last_per_column() -> None:
    pts = [(10 + i / 100, float(v)) for i, v in enumerate([5, 9, 1, 7, 3] * 20)]
    out = downsample(pts, columns=10)
    assert out == [(10.0, 5.0), (10.0, 1.0), (10.0, 9.0), (pts[-1][0], 3.0)]
    few = [(1.0, 1.0), (2.0, None), (3.0, 2.0)]
    assert downsample(few, columns=10) == few


def test_price_figures_are_time_weighted() -> None:
    end = T0 + timedelta(days=40)
    states = [
        State(T0, "Tee", 100, "CNY", None, True, None),
        State(T0 + timedelta(days=30), "Tee", 80, "CNY", None, True, None),
        State(T0 + timedelta(days=31), "Tee", 120, "CNY", None, True, None),
        State(T0 + timedelta(days=35), "Tee", 90, "CNY", None, True, None),
    ]
    s = price_stats(states, end)
    assert s is not None
    assert (s.low, s.high, s.median, s.current) == (80, 120, 100, 90)
    # ¥90 is the lowest since ¥80 ended on day 31
    assert s.lowest_days == 9 and not s.since_tracking
    cheaper = [*states, State(T0 + timedelta(days=36), "Tee", 70, "CNY", None, True, None)]
    s = price_stats(cheaper, end)
    assert s is not None and s.lowest_days == 40 and s.since_tracking
    assert price_stats([State(T0, "Tee", None, None, None, None, None)], end) is None


def test_title_differences_are_marked_and_moved_words_are_not() -> None:
    own = "法式碎花茶歇连衣裙 收腰显瘦 French Floral Tea Dress"
    copy = "【包邮】收腰显瘦 French Floral Tea Dress 法式碎花茶歇连衣裙"
    left, right = title_diff(own, copy)
    assert "".join(t for t, _ in left) == own and "".join(t for t, _ in right) == copy
    assert [t for t, changed in left if changed] == []
    assert [t for t, changed in right if changed] == ["【包邮】"]
    left, right = title_diff("Linen Dress", "linen dress 2027 NEW")
    assert [t for t, c in right if c] == [" 2027 NEW"]


def test_launch_timeline_rows() -> None:
    svg = timeline(
        [("Rival <A>", T0, [T0, T0 + timedelta(days=2)]), ("Rival B", None, [])],
        T0 - timedelta(days=3),
        T0 + timedelta(days=5),
        tick_label=lambda t, span: t.strftime("%m-%d"),
        when=lambda t: t.date().isoformat(),
        title="spring 2027",
        not_started="not started",
    )
    text = str(svg)
    assert text.count('class="start"') == 1 and text.count('class="item"') == 2
    assert "not started" in text and "Rival &lt;A&gt;" in text
