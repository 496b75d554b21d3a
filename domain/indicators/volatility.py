"""Volatility: true range, ATR, Bollinger bands, realized volatility, chandelier stops."""

from __future__ import annotations

import math

import numpy as np

from domain.indicators._kernels import linear_recurrence, pieces, rolling_max, rolling_mean_var, rolling_min
from domain.indicators._validation import as_aligned, as_series, check_non_negative, check_period, check_positive


def true_range(*, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """max(high - low, |high - previous close|, |low - previous close|), TA-Lib's TRANGE.

    NaN at index 0: the first bar has no previous close.
    """
    h, lo, c = as_aligned(high=high, low=low, close=close)
    return _true_range(h, lo, c)


def _true_range(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    out = np.full(len(h), np.nan)
    if len(h) > 1:
        # In place, one scratch array: this feeds ATR, ADX and chandelier on long series.
        prev, tr = c[:-1], out[1:]
        scratch = np.empty(len(h) - 1)
        np.subtract(h[1:], lo[1:], out=tr)
        np.maximum(tr, np.abs(np.subtract(h[1:], prev, out=scratch), out=scratch), out=tr)
        np.maximum(tr, np.abs(np.subtract(lo[1:], prev, out=scratch), out=scratch), out=tr)
    return out


def atr(*, high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average true range with Wilder's smoothing, TA-Lib's ATR.

    First value at index `period`: the mean of the true ranges of bars 1..period; then
    atr_t = (atr_{t-1} * (period - 1) + tr_t) / period.
    """
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, name="period")
    return _wilder_atr(h, lo, c, period)


def _wilder_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int) -> np.ndarray:
    out = np.full(len(h), np.nan)
    if len(h) <= period:
        return out
    value = float(np.sum(_true_range(h[: period + 1], lo[: period + 1], c[: period + 1])[1:])) / period
    out[period] = value
    for begin, end in pieces(period + 1, len(h)):
        # Bars begin-1 .. end-1: the true range needs the close before `begin`.
        tr = _true_range(h[begin - 1 : end], lo[begin - 1 : end], c[begin - 1 : end])[1:]
        out[begin:end] = linear_recurrence(tr, decay=(period - 1) / period, gain=1.0 / period, initial=value)
        value = float(out[end - 1])
    return out


def bollinger(values: np.ndarray, *, period: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(middle, upper, lower): middle = SMA(period), bands = middle +/- k * population std
    of the same window (TA-Lib BBANDS with nbdevup = nbdevdn = k, matype SMA).

    The std comes from pairwise-merged window moments, not E[x^2] - E[x]^2, so a window of
    identical values has std exactly 0 and a nearly flat one loses no digits to cancellation.
    """
    x = as_series(values, name="values")
    period = check_period(period, name="period")
    k = check_non_negative(k, name="k")
    middle, upper, lower = (np.full(len(x), np.nan) for _ in range(3))
    mean, variance = rolling_mean_var(x, period)
    width = k * np.sqrt(variance)
    middle[period - 1 :] = mean
    upper[period - 1 :] = mean + width
    lower[period - 1 :] = mean - width
    return middle, upper, lower


def realized_volatility(values: np.ndarray, *, period: int, periods_per_year: float = 252) -> np.ndarray:
    """Annualised standard deviation of log returns over the last `period` returns.

    r_t = ln(x_t / x_{t-1}); value_t = std(r_{t-period+1} .. r_t, ddof=1) * sqrt(periods_per_year).
    The sample (ddof=1) std is used because the window is a sample of the return process;
    so period >= 2, and the first value is at index `period` (it needs period + 1 prices).
    Prices must be positive. periods_per_year: 252 for daily bars, 252 * 390 for US-equity
    minutes, 365 * 24 * 60 for 24/7 crypto minutes.
    """
    x = as_series(values, name="values")
    period = check_period(period, name="period", minimum=2)
    periods_per_year = check_positive(periods_per_year, name="periods_per_year")
    if len(x) and not float(x.min()) > 0:
        raise ValueError(f"values must be > 0 for log returns, got {float(x.min())!r} at index {int(x.argmin())}")
    out = np.full(len(x), np.nan)
    returns = np.log(x[1:] / x[:-1])
    _, variance = rolling_mean_var(returns, period)
    out[period:] = np.sqrt(variance * (period / (period - 1))) * math.sqrt(periods_per_year)
    return out


def chandelier(
    *, high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 22, multiple: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """(long_stop, short_stop): highest high of the last `period` bars - multiple * ATR(period),
    and lowest low + multiple * ATR(period). ATR is Wilder's (see atr), so the first value
    is at index `period`."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, name="period")
    multiple = check_non_negative(multiple, name="multiple")
    long_stop, short_stop = np.full(len(h), np.nan), np.full(len(h), np.nan)
    if len(h) <= period:
        return long_stop, short_stop
    reach = multiple * _wilder_atr(h, lo, c, period)[period:]
    long_stop[period:] = rolling_max(h, period)[1:] - reach
    short_stop[period:] = rolling_min(lo, period)[1:] + reach
    return long_stop, short_stop
