"""Volume: on-balance volume and VWAP."""

from __future__ import annotations

import numpy as np

from domain.indicators._kernels import rolling_sum
from domain.indicators._validation import as_aligned, check_period, check_volume


def obv(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume, TA-Lib's OBV: starts at bar 0's volume, then adds the bar's volume
    when the close rises, subtracts it when the close falls, and holds on an unchanged close.
    No warm-up: every index has a value."""
    c, v = as_aligned(close=close, volume=volume)
    check_volume(v)
    if len(c) == 0:
        return np.empty(0)
    signed = np.empty(len(c))
    signed[0] = v[0]
    signed[1:] = np.sign(np.diff(c)) * v[1:]
    # cumsum adds left to right, as TA-Lib's loop does, so the two agree bit for bit.
    return np.cumsum(signed)


def vwap(
    *, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int | None = None
) -> np.ndarray:
    """Volume-weighted average of the typical price (high + low + close) / 3.

    period=None: cumulative from the first bar (anchor the session by passing that
    session's bars only). period=n: over the last n bars, first value at index n-1.
    NaN wherever the volume summed so far (or over the window) is 0: no trade, no price.
    """
    h, lo, c, v = as_aligned(high=high, low=low, close=close, volume=volume)
    check_volume(v)
    typical_volume = (h + lo + c) / 3.0 * v
    out = np.full(len(h), np.nan)
    if period is None:
        priced, traded = np.cumsum(typical_volume), np.cumsum(v)
        start = 0
    else:
        period = check_period(period, name="period")
        priced, traded = rolling_sum(typical_volume, period), rolling_sum(v, period)
        start = period - 1
        # Decide "no volume" from a count, not from a difference of sums that may leave rounding dust.
        traded = np.where(rolling_sum((v > 0).astype(np.float64), period) > 0, traded, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[start:] = np.where(traded > 0, priced / traded, np.nan)
    return out
