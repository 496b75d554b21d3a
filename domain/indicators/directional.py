"""Wilder's directional movement: +DI, -DI and ADX, as TA-Lib computes them.

+DM_t = high_t - high_{t-1} when that rise is positive and larger than the fall
low_{t-1} - low_t; -DM_t likewise for the fall; otherwise 0. +DM, -DM and the true
range are smoothed as running sums, not averages: the sum over bars 1..period-1, then
s_t = s_{t-1} - s_{t-1} / period + v_t from bar `period` on. +DI = 100 * s(+DM) / s(TR).

Divisions by 0 are decided by exact zero tests, so the result does not depend on the price
unit (TA-Lib 0.4 used an absolute 1e-8 threshold and lost the ADX of sub-cent coins; the
TA-Lib 0.8 C library tested against here agrees with us at any scale).
"""

from __future__ import annotations

import numpy as np

from domain.indicators._kernels import linear_recurrence, pieces
from domain.indicators._validation import as_aligned, check_period
from domain.indicators.volatility import _true_range


def _moves(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """+DM, -DM and true range of bars 1..len-1 (each needs the bar before)."""
    up = h[1:] - h[:-1]
    down = lo[:-1] - lo[1:]
    # "positive and larger than the other" is "larger than max(other, 0)": one comparison fewer.
    plus = np.where(up > np.maximum(down, 0.0), up, 0.0)
    minus = np.where(down > np.maximum(up, 0.0), down, 0.0)
    return plus, minus, _true_range(h, lo, c)[1:]


def _directional_indices(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """+DI and -DI for bars period..n-1; 0 where the smoothed true range is 0 (no range, no direction)."""
    n = len(h)
    plus_di, minus_di = np.empty(n - period), np.empty(n - period)
    sums = [float(np.sum(m)) for m in _moves(h[:period], lo[:period], c[:period])]
    for begin, end in pieces(period, n):
        window = slice(begin - 1, end)
        smoothed = [
            linear_recurrence(move, decay=1.0 - 1.0 / period, gain=1.0, initial=total)
            for move, total in zip(_moves(h[window], lo[window], c[window]), sums, strict=True)
        ]
        sums = [float(s[-1]) for s in smoothed]
        plus_dm, minus_dm, tr = smoothed
        ranged = tr != 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            plus_di[begin - period : end - period] = np.where(ranged, 100.0 * (plus_dm / tr), 0.0)
            minus_di[begin - period : end - period] = np.where(ranged, 100.0 * (minus_dm / tr), 0.0)
    return plus_di, minus_di


def plus_di(*, high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """+DI = 100 * smoothed +DM / smoothed TR, TA-Lib's PLUS_DI for period >= 2. First value at index `period`.

    (TA-Lib's period=1 special case drops the factor 100; ours keeps one formula.)"""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, name="period")
    out = np.full(len(h), np.nan)
    if len(h) > period:
        out[period:] = _directional_indices(h, lo, c, period)[0]
    return out


def minus_di(*, high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """-DI = 100 * smoothed -DM / smoothed TR, TA-Lib's MINUS_DI for period >= 2. First value at index `period`."""
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, name="period")
    out = np.full(len(h), np.nan)
    if len(h) > period:
        out[period:] = _directional_indices(h, lo, c, period)[1]
    return out


def _dx(plus: np.ndarray, minus: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # DX = 100 * |+DI - -DI| / (+DI + -DI); undefined (False) when both DIs are 0.
    total = plus + minus
    defined = total != 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, 100.0 * (np.abs(minus - plus) / total), 0.0), defined


def adx(*, high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14) -> np.ndarray:
    """Average directional index, TA-Lib's ADX. First value at index 2*period - 1.

    DX from index `period` on. The first ADX is the sum of DX over indices
    period..2*period-1 divided by period; then adx_t = (adx_{t-1} * (period - 1) + DX_t) / period.
    A bar whose DX is undefined (both DIs 0) adds nothing and leaves the ADX where it was.
    """
    h, lo, c = as_aligned(high=high, low=low, close=close)
    period = check_period(period, name="period")
    n = len(h)
    out = np.full(n, np.nan)
    if n < 2 * period:
        return out
    plus, minus = _directional_indices(h, lo, c, period)
    value = float(np.sum(_dx(plus[:period], minus[:period])[0])) / period
    out[2 * period - 1] = value
    for begin, end in pieces(2 * period, n):
        dx, defined = _dx(plus[begin - period : end - period], minus[begin - period : end - period])
        # Skipped bars drop out of the recurrence; each bar then shows the latest value.
        kept = np.flatnonzero(defined)
        if len(kept) == 0:
            out[begin:end] = value
            continue
        smoothed = linear_recurrence(dx[kept], decay=(period - 1) / period, gain=1.0 / period, initial=value)
        latest = np.full(end - begin, -1)
        latest[kept] = np.arange(len(kept))
        np.maximum.accumulate(latest, out=latest)
        out[begin:end] = np.where(latest >= 0, smoothed[np.maximum(latest, 0)], value)
        value = float(smoothed[-1])
    return out
