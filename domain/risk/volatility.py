"""Volatility measures (floats: indicator math feeding sizing, converted to Decimal there)."""

from __future__ import annotations

import numpy as np


def _as_series(highs: np.ndarray, lows: np.ndarray, closes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, lo, c = (np.asarray(a, dtype=float) for a in (highs, lows, closes))
    if h.ndim != 1 or lo.ndim != 1 or c.ndim != 1:
        raise ValueError("highs, lows and closes must be one-dimensional")
    if not (len(h) == len(lo) == len(c)):
        raise ValueError(f"highs, lows and closes must have the same length, got {len(h)}, {len(lo)}, {len(c)}")
    return h, lo, c


def true_range(highs: np.ndarray, lows: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Wilder's true range per bar: max(high - low, |high - prev close|, |low - prev close|).

    The first bar has no previous close, so its true range is high - low.
    """
    h, lo, c = _as_series(highs, lows, closes)
    tr = h - lo
    if len(tr) > 1:
        prev = c[:-1]
        tr[1:] = np.maximum.reduce([h[1:] - lo[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return tr


def atr(highs: np.ndarray, lows: np.ndarray, closes: np.ndarray, period: int) -> float:
    """Latest average true range with Wilder's smoothing; NaN with fewer than `period` bars.

    Seeded with the simple mean of the first `period` true ranges, then
    atr_i = (atr_{i-1} * (period - 1) + tr_i) / period.
    """
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period must be an integer >= 1, got {period!r}")
    tr = true_range(highs, lows, closes)
    if len(tr) < period:
        return float("nan")
    value = float(np.mean(tr[:period]))
    for x in tr[period:]:
        value = (value * (period - 1) + float(x)) / period
    return value
