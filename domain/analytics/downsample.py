"""Fewer points for a chart without changing what it shows.

A curve of N points is cut into contiguous buckets of about equal size, and each bucket keeps
its first, last, lowest and highest point, in time order. So the series' first and last
points, every peak and every trough a viewer could see at that resolution (the global max
and min included: each is the extreme of its bucket) survive; only points that lie between
their bucket's extremes go. Simpler than LTTB and, unlike it, never drops the deepest point
of a drawdown, which is the one a risk chart exists to show.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_POINTS = 4  # one bucket's first, last, min and max


def downsample_indices(values: Sequence[float] | np.ndarray, *, max_points: int) -> list[int]:
    """Indices (ascending) of at most `max_points` of `values` to draw; all of them when they fit."""
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be at least {MIN_POINTS}, got {max_points}")
    curve = np.asarray(values, dtype=np.float64)
    n = len(curve)
    if n <= max_points:
        return list(range(n))
    buckets = max_points // MIN_POINTS  # each bucket gives at most four points
    edges = np.linspace(0, n, buckets + 1).round().astype(np.int64)
    keep: set[int] = set()
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        if stop <= start:
            continue
        part = curve[start:stop]
        keep.update((int(start), int(stop) - 1, int(start + np.argmin(part)), int(start + np.argmax(part))))
    return sorted(keep)
