"""Price and stock history as server-rendered SVG: no script, nothing to load, the same
picture in every browser, in print and with JavaScript off.

The price is a step line (a price holds until the next change), the compare-at price a
dashed step line, out-of-stock spans shaded. A step line is defined by its change points
alone, so a year of hourly snapshots draws as the handful of changes it contains; when
there are more changes than pixel columns, each column keeps its entry, lowest, highest
and exit value, so no spike disappears and the path stays at most four points a column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from markupsafe import Markup, escape

from watcher.store.history import State

__all__ = ["Chart", "Series", "change_points", "downsample", "price_chart", "timeline"]

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 14, 30
MAX_MARKERS = 120
"""Change points get a dot (with the price as its tooltip) up to this many."""


@dataclass(frozen=True, slots=True)
class Series:
    """A step function: ``(moment, value)`` change points; None is a gap (unknown)."""

    points: tuple[tuple[datetime, float | None], ...]


_PRICE: Callable[[State], float | None] = attrgetter("price")
_COMPARE: Callable[[State], float | None] = attrgetter("compare_at")


def change_points(
    states: Sequence[State], value: Callable[[State], float | None]
) -> list[tuple[datetime, float | None]]:
    """The moments where ``value`` changes (the first state always counts)."""
    out: list[tuple[datetime, float | None]] = []
    last: object = object()
    for s in states:
        v = value(s)
        if v != last:
            out.append((s.at, v))
            last = v
    return out


def downsample(
    points: Sequence[tuple[float, float | None]], columns: int
) -> list[tuple[float, float | None]]:
    """Thin (x, value) change points so that no pixel column holds more than four: its
    first, lowest, highest and last value, in that order. Gaps (None) are kept as they
    are. Fewer points than ``2 * columns`` are returned unchanged."""
    if len(points) <= 2 * columns:
        return list(points)
    out: list[tuple[float, float | None]] = []
    bucket: list[tuple[float, float | None]] = []
    col = None

    def flush() -> None:
        if len(bucket) <= 4:
            out.extend(bucket)
            return
        x0, x1 = bucket[0][0], bucket[-1][0]
        values = [v for _, v in bucket if v is not None]
        out.append(bucket[0])
        if values:
            out.extend(((x0, min(values)), (x0, max(values))))
        out.append((x1, bucket[-1][1]))

    for x, v in points:
        c = int(x)
        if c != col:
            flush()
            bucket, col = [], c
        bucket.append((x, v))
    flush()
    return out


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _y_range(values: Sequence[float]) -> tuple[float, float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        pad = max(abs(hi) * 0.1, 1.0)
        lo, hi = lo - pad, hi + pad
    step = _nice_step(hi - lo, 4)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _time_ticks(
    start: datetime,
    end: datetime,
    x: Callable[[datetime], float],
    y: float,
    tick_label: Callable[[datetime, timedelta], str],
) -> list[str]:
    """Five time-axis labels from ``start`` to ``end`` at height ``y``."""
    total, out = end - start, []
    for i in range(5):
        t = start + total * (i / 4)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(
            f'<text class="axis" x="{_f(x(t))}" y="{_f(y)}" text-anchor="{anchor}">'
            f"{escape(tick_label(t, total))}</text>"
        )
    return out


@dataclass(frozen=True, slots=True)
class Chart:
    """A rendered chart: the SVG, how many price changes it marks with a dot, and whether
    the line was thinned to the drawn width."""

    svg: Markup
    points: int
    markers: int
    downsampled: bool


def _step_path(
    pts: Sequence[tuple[float, float | None]], x_end: float, y: Callable[[float], float]
) -> str:
    """SVG path of a step line through change points; a None value lifts the pen."""
    parts: list[str] = []
    drawing = False
    for i, (x, v) in enumerate(pts):
        if drawing:
            parts.append(f"H{_f(x)}")
        if v is None:
            drawing = False
            continue
        parts.append(f"V{_f(y(v))}" if drawing else f"M{_f(x)} {_f(y(v))}")
        drawing = True
        if i == len(pts) - 1:
            parts.append(f"H{_f(x_end)}")
    return "".join(parts)


def price_chart(
    states: Sequence[State],
    start: datetime,
    end: datetime,
    *,
    money: Callable[[float], str],
    when: Callable[[datetime], str],
    tick_label: Callable[[datetime, timedelta], str],
    title: str,
    labels: dict[str, str],
) -> Chart:
    """The price history of one listing between ``start`` and ``end``.

    ``money`` formats an axis price, ``when`` a moment for a tooltip, ``tick_label`` a
    time-axis tick given the whole span; ``labels`` holds the translated words
    ``price``, ``compare_at`` and ``out_of_stock``. Every text is escaped here."""
    if end <= start:
        end = start + timedelta(hours=1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    t0 = start.timestamp()
    scale = plot_w / (end.timestamp() - t0)

    def x(t: datetime) -> float:
        return LEFT + max(0.0, min(plot_w, (t.timestamp() - t0) * scale))

    prices = change_points(states, _PRICE)
    compares = change_points(states, _COMPARE)
    known = [v for _, v in prices + compares if v is not None]
    lo, hi, step = _y_range(known) if known else (0.0, 1.0, 0.25)

    def y(v: float) -> float:
        return TOP + (1 - (v - lo) / (hi - lo)) * plot_h

    out: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    # out-of-stock spans first, so the lines draw over them
    oos_start: datetime | None = None
    spans: list[tuple[datetime, datetime]] = []
    for s in states:
        if s.available is False and oos_start is None:
            oos_start = s.at
        elif s.available is not False and oos_start is not None:
            spans.append((oos_start, s.at))
            oos_start = None
    if oos_start is not None:
        spans.append((oos_start, end))
    for a, b in spans:
        xa, xb = x(a), x(b)
        w = max(xb - xa, 1.5)
        out.append(
            f'<rect class="oos" x="{_f(xa)}" y="{TOP}" width="{_f(w)}" height="{plot_h}">'
            f"<title>{escape(labels['out_of_stock'])}: {escape(when(a))} – {escape(when(b))}</title></rect>"
        )
    # grid and price axis
    v = lo
    while v <= hi + step / 2:
        yy = _f(y(v))
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy}" y2="{yy}"/>')
        out.append(
            f'<text class="axis" x="{LEFT - 6}" y="{yy}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(money(v))}</text>"
        )
        v += step
    out += _time_ticks(start, end, x, HEIGHT - 8, tick_label)
    out.append(
        f'<line class="axis-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    x_end = x(end)
    cmp_pts = downsample([(x(t), v) for t, v in compares], plot_w)
    if any(v is not None for _, v in cmp_pts):
        out.append(
            f'<path class="compare" d="{_step_path(cmp_pts, x_end, y)}" fill="none"'
            ' stroke-dasharray="6 4"/>'
        )
    price_pts = [(x(t), v) for t, v in prices]
    thinned = downsample(price_pts, plot_w)
    if any(v is not None for _, v in thinned):
        out.append(f'<path class="price" d="{_step_path(thinned, x_end, y)}" fill="none"/>')
    markers = 0
    real = [(t, v) for t, v in prices if v is not None]
    if len(real) <= MAX_MARKERS:
        for t, v in real:
            assert v is not None
            out.append(
                f'<circle class="point" cx="{_f(x(t))}" cy="{_f(y(v))}" r="3.5">'
                f"<title>{escape(when(t))}: {escape(money(v))}</title></circle>"
            )
            markers += 1
    out.append("</svg>")
    return Chart(Markup("".join(out)), len(real), markers, len(thinned) < len(price_pts))


def timeline(
    rows: Sequence[tuple[str, datetime | None, Sequence[datetime]]],
    start: datetime,
    end: datetime,
    *,
    tick_label: Callable[[datetime, timedelta], str],
    when: Callable[[datetime], str],
    title: str,
    not_started: str,
) -> Markup:
    """A launch timeline: one row per competitor with a dot where it started and a tick
    per item it listed; ``rows`` are (name, started or None, item dates)."""
    if end <= start:
        end = start + timedelta(days=1)
    label_w, row_h, width = 190, 30, WIDTH
    height = TOP + row_h * len(rows) + BOTTOM
    plot_w = width - label_w - RIGHT
    span = (end - start).total_seconds()

    def x(t: datetime) -> float:
        return label_w + max(0.0, min(1.0, (t - start).total_seconds() / span)) * plot_w

    out = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (name, started, items) in enumerate(rows):
        cy = TOP + row_h * i + row_h / 2
        short = name if len(name) <= 24 else name[:23] + "…"
        out.append(
            f'<text class="label" x="{label_w - 10}" y="{_f(cy)}" text-anchor="end"'
            f' dominant-baseline="middle">{escape(short)}</text>'
        )
        out.append(
            f'<line class="lane" x1="{label_w}" x2="{width - RIGHT}" y1="{_f(cy)}" y2="{_f(cy)}"/>'
        )
        if started is None:
            out.append(
                f'<text class="not-started" x="{label_w + 8}" y="{_f(cy)}"'
                f' dominant-baseline="middle">{escape(not_started)}</text>'
            )
            continue
        for t in items:
            xx = _f(x(t))
            out.append(
                f'<line class="item" x1="{xx}" x2="{xx}" y1="{_f(cy - 7)}" y2="{_f(cy + 7)}"/>'
            )
        out.append(
            f'<circle class="start" cx="{_f(x(started))}" cy="{_f(cy)}" r="6">'
            f"<title>{escape(name)}: {escape(when(started))}</title></circle>"
        )
    out += _time_ticks(start, end, x, height - 8, tick_label)
    out.append("</svg>")
    return Markup("".join(out))
