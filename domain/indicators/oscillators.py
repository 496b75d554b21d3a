"""Oscillators: RSI, the stochastic oscillator, rolling z-score."""

from __future__ import annotations

import numpy as np

from domain.indicators._kernels import linear_recurrence, pieces, rolling_max, rolling_mean_var, rolling_min, rolling_sum
from domain.indicators._validation import as_aligned, as_series, check_period


def rsi(values: np.ndarray, period: int = 14) -> np.ndarray:
    """Relative strength index with Wilder's smoothing, TA-Lib's RSI.

    Gains and losses are the positive and negative parts of x_t - x_{t-1}. At index
    `period` their averages are the plain means over changes 1..period; afterwards
    avg_t = (avg_{t-1} * (period - 1) + change_t) / period. RSI = 100 * gain / (gain + loss),
    and 0 when both are 0 (a flat history), as TA-Lib does. (TA-Lib 0.4 also returned 0
    when gain + loss was merely below 1e-8, which blanked the RSI of sub-cent coins; the
    TA-Lib 0.8 C library tested against here no longer does, and neither do we.)
    """
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    out = np.full(len(x), np.nan)
    if len(x) <= period:
        return out
    first = np.diff(x[: period + 1])
    average_gain = float(np.sum(np.maximum(first, 0.0))) / period
    average_loss = float(np.sum(np.maximum(-first, 0.0))) / period
    out[period] = _strength(np.array([average_gain]), np.array([average_loss]))[0]
    smoothing = {"decay": (period - 1) / period, "gain": 1.0 / period}  # Wilder: avg += (x - avg) / period
    for begin, end in pieces(period + 1, len(x)):
        change = x[begin:end] - x[begin - 1 : end - 1]
        gains = linear_recurrence(np.maximum(change, 0.0), initial=average_gain, **smoothing)
        falls = np.maximum(np.negative(change, out=change), 0.0, out=change)
        losses = linear_recurrence(falls, initial=average_loss, **smoothing)
        average_gain, average_loss = float(gains[-1]), float(losses[-1])
        out[begin:end] = _strength(gains, losses)
    return out


def _strength(gains: np.ndarray, losses: np.ndarray) -> np.ndarray:
    total = gains + losses
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 100.0 * (gains / total), 0.0)


def stochastic(
    *, high: np.ndarray, low: np.ndarray, close: np.ndarray, k_period: int = 14, k_smooth: int = 3, d_period: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """(slow %K, slow %D), TA-Lib's STOCH with SMA smoothing for both.

    fast %K_t = 100 * (close_t - lowest low) / (highest high - lowest low) over the last
    k_period bars (0 when the range is 0); slow %K = SMA(fast %K, k_smooth);
    slow %D = SMA(slow %K, d_period). Both are NaN before index
    (k_period - 1) + (k_smooth - 1) + (d_period - 1), where %D has its first value.
    """
    h, lo, c = as_aligned(high=high, low=low, close=close)
    k_period = check_period(k_period, name="k_period")
    k_smooth = check_period(k_smooth, name="k_smooth")
    d_period = check_period(d_period, name="d_period")
    slow_k, slow_d = np.full(len(h), np.nan), np.full(len(h), np.nan)
    first = (k_period - 1) + (k_smooth - 1) + (d_period - 1)
    if len(h) <= first:
        return slow_k, slow_d
    highest, lowest = rolling_max(h, k_period), rolling_min(lo, k_period)
    # TA-Lib's operation order, (close - lowest) / (range / 100), so results agree to the last bit more often.
    scaled_range = (highest - lowest) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.where(scaled_range != 0.0, (c[k_period - 1 :] - lowest) / scaled_range, 0.0)
    smooth_k = rolling_sum(fast_k, k_smooth) / k_smooth
    smooth_d = rolling_sum(smooth_k, d_period) / d_period
    slow_k[first:] = smooth_k[d_period - 1 :]
    slow_d[first:] = smooth_d
    return slow_k, slow_d


def zscore(values: np.ndarray, period: int) -> np.ndarray:
    """(x_t - mean) / std over the last `period` values (population std, like Bollinger's).

    A window of identical values gives 0: the price sits exactly at its mean, and 0/0
    would otherwise be NaN in the middle of a series. The first period-1 entries are NaN.
    """
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    out = np.full(len(x), np.nan)
    mean, variance = rolling_mean_var(x, period)
    std = np.sqrt(variance)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[period - 1 :] = np.where(std > 0, (x[period - 1 :] - mean) / std, 0.0)
    return out
