"""Donchian channel (the parabolic SAR and directional movement have their own modules)."""

from __future__ import annotations

import numpy as np

from domain.indicators._kernels import rolling_max, rolling_min
from domain.indicators._validation import as_aligned, check_period


def donchian(*, high: np.ndarray, low: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upper, middle, lower): highest high and lowest low of the last `period` bars,
    the current bar included, and their midpoint. First value at index period-1.

    Because the current bar is inside its own channel, a breakout rule compares a bar's
    close with the previous bar's channel (upper[t-1]), not with upper[t]."""
    h, lo = as_aligned(high=high, low=low)
    period = check_period(period, name="period")
    upper, middle, lower = (np.full(len(h), np.nan) for _ in range(3))
    rolling_max(h, period, out=upper[period - 1 :])
    rolling_min(lo, period, out=lower[period - 1 :])
    middle[period - 1 :] = (upper[period - 1 :] + lower[period - 1 :]) / 2.0
    return upper, middle, lower
