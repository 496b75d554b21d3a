"""Inline SVG line charts drawn in Python, so a report needs no JavaScript or network.

Long curves are thinned before drawing: a million bars cannot all be pixels, and a plain
every-k-th sample would step over the bars where a drawdown bottomed out.
"""

from __future__ import annotations

from html import escape

import math
from collections.abc import Callable, Sequence

import numpy as np

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 28  # margins: room for the axis labels
BLUE, GREEN, RED = "#2557a7", "#137333", "#b3261e"
# Presentation attributes rather than page CSS: PDF converters and mail clients that drop or
# ignore <style> then still draw lines, not black filled shapes.
TEXT = 'font-size="11" font-family="sans-serif" fill="#667"'


def downsample(values: np.ndarray, *, max_points: int = 2_000) -> np.ndarray:
    """Indices of the points worth drawing, in bar order: every point of a short curve; of a long
    one the lowest and highest point of each of max_points / 2 buckets, plus both ends."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // 2)
    bucket = (np.arange(n) * buckets) // n
    order = np.lexsort((values, bucket))  # by bucket, then value
    starts = np.flatnonzero(np.diff(bucket[order], prepend=-1))
    ends = np.append(starts[1:], n) - 1
    keep = np.concatenate((order[starts], order[ends], [0, n - 1]))
    return np.unique(keep)


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering low..high."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def line_chart(
    *,
    values: np.ndarray,
    x_labels: Sequence[tuple[int, str]],
    y_format: Callable[[float], str],
    css_class: str,
    colour: str = BLUE,
    markers: Sequence[tuple[int, float, str]] = (),
    area: bool = False,
    max_points: int = 2_000,
    events: Sequence[tuple[int, str]] = (),
) -> str:
    """One chart: values against bar index; markers are (bar index, y, "buy" | "sell"); events
    are (bar index, text), drawn as a dashed vertical line with the text as its tooltip (a bot's
    trading state changing, for instance).

    area fills between the curve and zero (the underwater chart). Coordinates are rounded to a
    tenth of a pixel, which keeps a 2,000-point path near 25 kB.
    """
    n = len(values)
    keep = downsample(values, max_points=max_points)
    y = values[keep]
    low, high = float(np.min(y)), float(np.max(y))
    if area:
        low, high = min(low, 0.0), max(high, 0.0)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    low, high = low - pad, high + (0.0 if area and high == 0 else pad)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(i: np.ndarray | int) -> np.ndarray:
        return LEFT + np.asarray(i, dtype=np.float64) * (plot_w / max(n - 1, 1))

    def py(v: np.ndarray | float) -> np.ndarray:
        return TOP + (high - np.asarray(v, dtype=np.float64)) * (plot_h / (high - low))

    parts = [f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img">']
    for tick in nice_ticks(low, high):
        ty = float(py(tick))
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'stroke="#e6e8ef"/>'
                     f'<text class="ylabel" x="{LEFT - 6}" y="{ty + 4:.1f}" {TEXT} text-anchor="end">'
                     f'{y_format(tick)}</text>')
    for k, (i, label) in enumerate(x_labels):
        # the end labels lean inwards so the chart's edges do not clip them
        anchor = "start" if k == 0 else "end" if k == len(x_labels) - 1 else "middle"
        parts.append(f'<text class="xlabel" x="{float(px(i)):.1f}" y="{HEIGHT - 8}" {TEXT} text-anchor="{anchor}">'
                     f'{label}</text>')
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(keep), py(y), strict=True))
    if area:
        zero = float(py(0.0))
        parts.append(f'<path class="area" d="M{float(px(keep[0])):.1f},{zero:.1f} L{points} '
                     f'L{float(px(keep[-1])):.1f},{zero:.1f}Z" fill="{colour}" fill-opacity="0.18"/>')
    parts.append(f'<polyline class="line" points="{points}" fill="none" stroke="{colour}" stroke-width="1.2"/>')
    for side, shape, fill in (("buy", "l-4.5,8h9z", GREEN), ("sell", "l-4.5,-8h9z", RED)):
        # One path per side however many fills: a marker is a few bytes, and fills on the same
        # pixel are drawn once, so a million bars of fills stay a few hundred kB at most.
        spots = sorted({(round(float(px(i))), round(float(py(v)))) for i, v, s in markers if s == side})
        if spots:
            d = "".join(f"M{x},{yy + (2 if side == 'buy' else -2)}{shape}" for x, yy in spots)
            parts.append(f'<path class="marker {side}" d="{d}" fill="{fill}">'
                         f'<title>{len(spots)} {side} marks</title></path>')
    for i, text in events:
        x = float(px(min(max(int(i), 0), max(n - 1, 0))))
        parts.append(f'<line class="event" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                     f'stroke="{RED}" stroke-dasharray="4,3"><title>{escape(text)}</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def x_ticks(labels: np.ndarray, *, count: int = 6) -> list[tuple[int, str]]:
    """About `count` evenly spaced (bar index, label) pairs along the x axis."""
    n = len(labels)
    if n == 0:
        return []
    idx = sorted({int(round(k)) for k in np.linspace(0, n - 1, min(count, n))})
    return [(i, str(labels[i])) for i in idx]
