"""Performance figures from round trips and an equity curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from domain.numbers import ZERO
from domain.position import RoundTrip


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
