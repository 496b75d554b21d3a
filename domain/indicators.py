"""Indicator math on numpy arrays (floats are fine here: signals, not money)."""

from __future__ import annotations

import numpy as np


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average; the first period-1 entries are NaN."""
    if period < 1:
        raise ValueError("period must be >= 1")
    out = np.full(values.shape, np.nan, dtype=float)
    if len(values) >= period:
        cumulative = np.cumsum(np.insert(values.astype(float), 0, 0.0))
        out[period - 1 :] = (cumulative[period:] - cumulative[:-period]) / period
    return out


def last_sma(values: np.ndarray, period: int) -> float:
    """The latest SMA value only (what a live cycle needs, O(period))."""
    if len(values) < period:
        return float("nan")
    return float(np.mean(values[-period:]))
