"""Performance figures from round trips and an equity curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from domain.accounting.position import RoundTrip
from domain.numbers import ZERO


def win_rate(trips: Sequence[RoundTrip]) -> float:
    if not trips:
        return 0.0
    return sum(1 for t in trips if t.is_win) / len(trips)


def profit_factor(trips: Sequence[RoundTrip]) -> float | None:
    """Gross profit / gross loss of net P&L; None when there is no loss to divide by."""
    profit = sum((t.net_pnl for t in trips if t.net_pnl > 0), ZERO)
    loss = -sum((t.net_pnl for t in trips if t.net_pnl < 0), ZERO)
    if loss == 0:
        return None if profit == 0 else math.inf
    return float(profit / loss)


def max_drawdown(equity: Sequence[Decimal]) -> float:
    """Largest fall from a running PEAK, as a fraction of that peak (0.0 .. 1.0)."""
    if len(equity) == 0:
        return 0.0
    curve = np.asarray([float(e) for e in equity], dtype=float)
    peaks = np.maximum.accumulate(curve)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdowns = np.where(peaks > 0, (peaks - curve) / peaks, 0.0)
    return float(drawdowns.max())


def sharpe_ratio(equity: Sequence[Decimal], *, periods_per_year: float) -> float:
    """Annualised Sharpe of period returns (risk-free rate 0); 0.0 when undefined."""
    if len(equity) < 3:
        return 0.0
    curve = np.asarray([float(e) for e in equity], dtype=float)
    returns = np.diff(curve) / curve[:-1]
    std = returns.std(ddof=1)
    if not np.isfinite(std) or std == 0:
        return 0.0
    return float(returns.mean() / std * math.sqrt(periods_per_year))


def flow_adjusted_daily_returns(
    points: Sequence[tuple[datetime, Decimal]], flows: Sequence[tuple[datetime, Decimal]]
) -> np.ndarray:
    """Daily returns of an equity curve with capital moved in or out along the way.

    The curve is sampled at each UTC day's last point; a flow belongs to the first day
    whose last point is at or after it, and is taken out of that day's change, so
    moving capital between strategies is neither profit nor loss:
    r_d = (E_d - flows_d) / E_(d-1) - 1.
    """
    days: dict[date, Decimal] = {}
    for ts, equity in sorted(points, key=lambda p: p[0]):
        days[ts.date()] = equity
    ends = sorted(days)
    if len(ends) < 2:
        return np.zeros(0, dtype=float)
    moved = {day: ZERO for day in ends}
    for ts, amount in flows:
        day = next((d for d in ends if d >= ts.date()), None)
        if day is not None:
            moved[day] += amount
    out = []
    for before, day in zip(ends, ends[1:]):
        start = days[before]
        out.append(float((days[day] - moved[day]) / start - 1) if start > 0 else 0.0)
    return np.asarray(out, dtype=float)


def drawdown_of_returns(returns: np.ndarray) -> float:
    """Max drawdown (fraction of the peak) of the curve that compounding `returns` draws."""
    if len(returns) == 0:
        return 0.0
    curve = np.cumprod(1.0 + np.asarray(returns, dtype=float))
    curve = np.concatenate(([1.0], curve))
    peaks = np.maximum.accumulate(curve)
    return float(((peaks - curve) / peaks).max())
