"""Moving averages (SMA, EMA, WMA) and MACD, over whole arrays.

Outputs have the input's length; bars before the first full window are NaN, so index i
of any output lines up with bar i.
"""

from __future__ import annotations

import numpy as np

from domain.indicators._kernels import linear_recurrence, rolling_sum, rolling_weighted_sum
from domain.indicators._validation import as_series, check_period


def sma(values: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average: the mean of the last `period` values; the first period-1 entries are NaN."""
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    out = np.full(len(x), np.nan)
    rolling_sum(x, period, out=out[period - 1 :])  # written in place: no second 1M-bar array
    out[period - 1 :] /= period
    return out


def last_sma(values: np.ndarray, period: int) -> float:
    """The latest SMA value only (what a live cycle needs, O(period)); NaN with fewer than `period` values."""
    period = check_period(period, name="period")
    if len(values) < period:
        return float("nan")
    return float(np.mean(values[-period:]))


def ema(values: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (period + 1), TA-Lib's EMA.

    Seeded at index period-1 with the SMA of the first `period` values, then
    ema_t = ema_{t-1} + alpha * (x_t - ema_{t-1}).
    """
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    return _ema_seeded_at(x, period=period, seed_index=period - 1)


def _ema_seeded_at(x: np.ndarray, *, period: int, seed_index: int) -> np.ndarray:
    # Seed = mean of the `period` values ending at seed_index. MACD seeds its fast EMA
    # late, on the slow one's first bar, which is why the seed position is a parameter.
    out = np.full(len(x), np.nan)
    if len(x) <= seed_index:
        return out
    alpha = 2.0 / (period + 1)
    seed = float(np.sum(x[seed_index - period + 1 : seed_index + 1])) / period
    out[seed_index] = seed
    out[seed_index + 1 :] = linear_recurrence(x[seed_index + 1 :], decay=1.0 - alpha, gain=alpha, initial=seed)
    return out


def wma(values: np.ndarray, period: int) -> np.ndarray:
    """Linearly weighted moving average: weights 1 (oldest) .. period (newest), divided by
    period * (period + 1) / 2. The first period-1 entries are NaN. TA-Lib's WMA."""
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    out = np.full(len(x), np.nan)
    rolling_weighted_sum(x, period, out=out[period - 1 :])
    out[period - 1 :] /= period * (period + 1) / 2.0
    return out


def macd(values: np.ndarray, *, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, histogram), aligned as TA-Lib's MACD.

    macd = EMA(fast) - EMA(slow), both starting at index slow-1: the fast EMA is seeded
    there with the mean of the `fast` values ending at slow-1 (not at fast-1, as a
    stand-alone EMA would be). signal = EMA(signal) of the macd line, histogram =
    macd - signal. All three are NaN before index slow + signal - 2, the first bar
    with a signal value.
    """
    x = as_series(values, name="values")
    fast = check_period(fast, name="fast")
    slow = check_period(slow, name="slow")
    signal = check_period(signal, name="signal")
    if fast >= slow:
        raise ValueError(f"fast must be smaller than slow, got fast={fast}, slow={slow}")
    line = _ema_seeded_at(x, period=fast, seed_index=slow - 1) - _ema_seeded_at(x, period=slow, seed_index=slow - 1)
    signal_line = np.full(len(x), np.nan)
    signal_line[slow - 1 :] = _ema_seeded_at(line[slow - 1 :], period=signal, seed_index=signal - 1)
    line[: slow + signal - 2] = np.nan
    return line, signal_line, line - signal_line
