"""Backtest metrics from an equity curve and the closed trades (pure numpy).

The return ratios follow empyrical (empyrical-reloaded 0.7) to the formula, and the tests check
them against it; docs/metrics.md has every definition with the choices where empyrical and
quantstats differ. Floats, not Decimal: these are statistics over arrays of marks, not ledger
amounts. Undefined figures are None (never NaN); infinite ones (a profit factor with no losing
trade) stay float("inf") here and become the string "inf" in to_json().
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Literal, NamedTuple

import attrs
import numpy as np

Calendar = Literal["equity", "crypto"]

DAY = 86_400.0  # seconds
EQUITY_DAYS_PER_YEAR = 252  # trading days, the convention for daily equity bars
EQUITY_SESSION = 6.5 * 3_600.0  # seconds in a regular US session (09:30-16:00)
CRYPTO_DAYS_PER_YEAR = 365  # 24/7 markets trade every calendar day
YEAR = 365.25 * DAY  # elapsed time of a CAGR: leap years included


class TargetCheck(NamedTuple):
    name: str
    requirement: str
    value: float | None
    passed: bool


@attrs.frozen(kw_only=True)
class Metrics:
    """One backtest's figures, defined in docs/metrics.md; fractions, not percentages."""

    bars: int
    periods_per_year: float
    risk_free_rate: float  # annual
    total_return: float
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float  # positive fraction of the peak: 0.12 is 12 % below the high-water mark
    max_drawdown_bars: int
    max_drawdown_duration: timedelta | None
    trades: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: float | None  # mean net P&L per trade, account currency
    expectancy_return: float | None  # mean return per trade, fraction
    average_win: float | None
    average_loss: float | None  # negative
    payoff_ratio: float | None
    exposure: float | None

    def to_json(self) -> dict[str, float | int | str | None]:
        """Plain JSON values: None for undefined, "inf"/"-inf" for infinite, never NaN."""
        out: dict[str, float | int | str | None] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.name == "max_drawdown_duration":
                out["max_drawdown_seconds"] = None if value is None else value.total_seconds()
            else:
                out[field.name] = _json_number(value)
        return out

    def targets(self) -> tuple[TargetCheck, ...]:
        """The product plan's production targets; an undefined figure fails its target."""
        checks = (
            ("sharpe", "Sharpe ratio > 2", self.sharpe, lambda v: v > 2),
            ("max_drawdown", "max drawdown < 15 %", self.max_drawdown, lambda v: v < 0.15),
            ("win_rate", "win rate > 55 %", self.win_rate, lambda v: v > 0.55),
            ("profit_factor", "profit factor > 2", self.profit_factor, lambda v: v > 2),
            ("annual_return", "annual return (CAGR) > 30 %", self.cagr, lambda v: v > 0.30),
        )
        return tuple(TargetCheck(name, text, value, value is not None and bool(test(value)))
                     for name, text, value, test in checks)


def _json_number(value: object) -> float | int | str | None:
    if value is None or isinstance(value, bool) or isinstance(value, int):
        return value  # type: ignore[return-value]
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return None
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def as_datetime64(timestamps: Sequence[datetime] | np.ndarray) -> np.ndarray:
    """Bar times as datetime64[ns] in UTC; naive python datetimes are taken to be UTC."""
    if isinstance(timestamps, np.ndarray) and np.issubdtype(timestamps.dtype, np.datetime64):
        return timestamps.astype("datetime64[ns]")
    return np.array([_utc_naive(t) for t in timestamps], dtype="datetime64[ns]")


def _utc_naive(t: datetime | np.datetime64) -> datetime | np.datetime64:
    if isinstance(t, datetime) and t.tzinfo is not None:
        return t.astimezone(timezone.utc).replace(tzinfo=None)
    return t


def bar_returns(equity: np.ndarray) -> np.ndarray:
    """Simple return of each bar after the first: r_i = E_i / E_(i-1) - 1."""
    curve = np.asarray(equity, dtype=np.float64)
    return curve[1:] / curve[:-1] - 1.0


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    """Underwater curve: E_i / max(E_0..E_i) - 1, so 0 at a high-water mark and negative below it."""
    curve = np.asarray(equity, dtype=np.float64)
    return curve / np.maximum.accumulate(curve) - 1.0


def infer_periods_per_year(timestamps: Sequence[datetime] | np.ndarray, *, calendar: Calendar) -> float:
    """Bars per year from the median bar spacing s.

    crypto (24/7): 365 days / s, so daily 365, hourly 8,760, one-minute 525,600.
    equity: intraday (s < 6.5 h) 252 sessions x 6.5 h / s, so hourly 1,638, one-minute 98,280
    (overnight and weekend gaps are rare among the spacings, so the median is the bar size);
    one bar per session (6.5 h <= s <= 1.5 days; weekends leave the median at 1 day) 252;
    coarser bars 365.25 days / s (weekly 52.2; pass periods_per_year=12 for monthly bars).
    """
    if calendar not in ("equity", "crypto"):
        raise ValueError(f"calendar must be 'equity' or 'crypto', got {calendar!r}")
    times = as_datetime64(timestamps)
    if len(times) < 2:
        raise ValueError("need two or more timestamps to infer periods_per_year; pass it explicitly")
    spacing = float(np.median(np.diff(times).astype(np.int64))) / 1e9
    if spacing <= 0:
        raise ValueError("timestamps must increase to infer periods_per_year")
    if calendar == "crypto":
        return CRYPTO_DAYS_PER_YEAR * DAY / spacing
    if spacing < EQUITY_SESSION:
        return EQUITY_DAYS_PER_YEAR * EQUITY_SESSION / spacing
    if spacing <= 1.5 * DAY:
        return float(EQUITY_DAYS_PER_YEAR)
    return YEAR / spacing


def monthly_returns(timestamps: Sequence[datetime] | np.ndarray, equity: np.ndarray) -> dict[tuple[int, int], float]:
    """{(year, month): return} compounded within each UTC calendar month.

    A month's return is its last equity over the last equity of the month before it - 1 (the
    first month is measured from the first equity value), which equals compounding the month's
    bar returns. A month without bars is absent; its change falls into the next month that has some.
    """
    curve = _checked_curve(equity)
    months = as_datetime64(timestamps).astype("datetime64[M]").astype(np.int64)
    if len(months) != len(curve):
        raise ValueError(f"timestamps ({len(months)}) and equity ({len(curve)}) differ in length")
    last = np.flatnonzero(np.append(months[1:] != months[:-1], True))
    base = np.concatenate(([curve[0]], curve[last[:-1]]))
    values = curve[last] / base - 1.0
    return {(int(m // 12 + 1970), int(m % 12 + 1)): float(v) for m, v in zip(months[last], values, strict=True)}


def _checked_curve(equity: np.ndarray) -> np.ndarray:
    curve = np.asarray(equity, dtype=np.float64)
    if curve.ndim != 1 or len(curve) == 0:
        raise ValueError("equity must be a non-empty one-dimensional array")
    if not np.all(np.isfinite(curve)):
        raise ValueError("equity must be finite")
    if curve[0] <= 0:
        raise ValueError(f"starting equity must be positive, got {curve[0]}")
    return curve


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, with x/0 = +-inf and 0/0 undefined (empyrical's numpy division)."""
    if denominator == 0:
        return None if numerator == 0 else math.copysign(math.inf, numerator)
    return numerator / denominator


def _longest_drawdown(curve: np.ndarray, times: np.ndarray | None) -> tuple[int, timedelta | None]:
    """(bars, elapsed) of the longest spell from a peak to the bar that regains it (or the last bar).

    The longest spell is chosen by elapsed time when there are timestamps, else by bars.
    """
    under = curve < np.maximum.accumulate(curve)
    if not under.any():
        return 0, (timedelta(0) if times is not None else None)
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # stop: first bar back at the peak
    peaks = starts - 1  # the bar before a spell is at its high-water mark (bar 0 always is)
    ends = np.minimum(stops, len(curve) - 1)
    bars = ends - peaks
    if times is None:
        return int(bars.max()), None
    elapsed = (times[ends] - times[peaks]).astype(np.int64)
    pick = int(np.argmax(elapsed))
    return int(bars[pick]), timedelta(microseconds=int(elapsed[pick]) // 1_000)


def compute_metrics(
    *,
    equity: np.ndarray,
    timestamps: Sequence[datetime] | np.ndarray | None = None,
    periods_per_year: float | None = None,
    calendar: Calendar = "equity",
    risk_free_rate: float = 0.0,
    trade_pnl: np.ndarray | Sequence[float] = (),
    trade_returns: np.ndarray | Sequence[float] | None = None,
    position_held: np.ndarray | Sequence[bool] | None = None,
) -> Metrics:
    """Every metric of docs/metrics.md for one backtest.

    equity: one mark per bar, the first being the starting capital. risk_free_rate is annual and
    is taken per bar as (1 + rf) ** (1 / periods_per_year) - 1 (quantstats' conversion; empyrical
    takes the per-bar rate). trade_pnl: net P&L of each closed trade; trade_returns the same
    trades as fractions; position_held: one flag per bar.
    """
    curve = _checked_curve(equity)
    times = None if timestamps is None else as_datetime64(timestamps)
    if times is not None:
        if len(times) != len(curve):
            raise ValueError(f"timestamps ({len(times)}) and equity ({len(curve)}) differ in length")
        if len(times) > 1 and np.any(np.diff(times).astype(np.int64) <= 0):
            raise ValueError("timestamps must be strictly increasing")
    if periods_per_year is None:
        if times is None:
            raise ValueError("pass periods_per_year or timestamps to infer it from")
        periods_per_year = infer_periods_per_year(times, calendar=calendar)
    ppy = float(periods_per_year)
    if not math.isfinite(ppy) or ppy <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year}")

    ruined = bool(np.any(curve <= 0))  # returns through zero equity mean nothing
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = bar_returns(curve)
    rf = (1.0 + risk_free_rate) ** (1.0 / ppy) - 1.0
    excess = returns - rf
    sharpe = sortino = volatility = None
    if len(returns) >= 2 and not ruined:
        constant = excess.max() == excess.min()  # empyrical: std exactly 0, not a 1e-18 residue
        std = 0.0 if constant else float(np.std(excess, ddof=1))
        s = _ratio(float(np.mean(excess)), std)
        sharpe = None if s is None else s * math.sqrt(ppy)
        downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * math.sqrt(ppy)
        sortino = _ratio(float(np.mean(excess)) * ppy, downside)
        volatility = float(np.std(returns, ddof=1)) * math.sqrt(ppy)

    total_return = float(curve[-1] / curve[0] - 1.0)
    cagr = _cagr(curve, times, n_returns=len(returns), periods_per_year=ppy)
    drawdown = float(-drawdown_series(curve).min())
    calmar = None
    if cagr is not None and drawdown > 0 and math.isfinite(cagr):
        calmar = cagr / drawdown
    dd_bars, dd_time = _longest_drawdown(curve, times)

    trades = _trade_figures(np.asarray(trade_pnl, dtype=np.float64), trade_returns)
    exposure = None
    if position_held is not None:
        held = np.asarray(position_held, dtype=bool)
        if len(held) != len(curve):
            raise ValueError(f"position_held ({len(held)}) and equity ({len(curve)}) differ in length")
        exposure = float(held.mean())
    return Metrics(
        bars=len(curve), periods_per_year=ppy, risk_free_rate=float(risk_free_rate),
        total_return=total_return, cagr=cagr, annual_volatility=volatility, sharpe=sharpe, sortino=sortino,
        calmar=calmar, max_drawdown=drawdown, max_drawdown_bars=dd_bars, max_drawdown_duration=dd_time,
        exposure=exposure, **trades,
    )


def _cagr(curve: np.ndarray, times: np.ndarray | None, *, n_returns: int, periods_per_year: float) -> float | None:
    """(E_end / E_start) ** (1 / years) - 1; years from the first to the last timestamp / 365.25 days.

    Without timestamps, years = number of returns / periods_per_year (empyrical's annual_return).
    """
    if times is not None:
        years = float((times[-1] - times[0]).astype(np.int64)) / 1e9 / YEAR
    else:
        years = n_returns / periods_per_year
    if years <= 0:
        return None
    growth = float(curve[-1] / curve[0])
    if growth <= 0:
        return -1.0  # everything lost: no real growth rate, and -100 % says so
    try:
        return growth ** (1.0 / years) - 1.0
    except OverflowError:  # a gain over minutes, annualised
        return math.inf


def _trade_figures(pnl: np.ndarray, returns: np.ndarray | Sequence[float] | None) -> dict[str, float | int | None]:
    if pnl.ndim != 1 or not np.all(np.isfinite(pnl)):
        raise ValueError("trade_pnl must be a one-dimensional array of finite values")
    rets = None if returns is None else np.asarray(returns, dtype=np.float64)
    if rets is not None and len(rets) != len(pnl):
        raise ValueError(f"trade_returns ({len(rets)}) and trade_pnl ({len(pnl)}) differ in length")
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    average_win = float(wins.mean()) if len(wins) else None
    average_loss = float(losses.mean()) if len(losses) else None
    payoff = None
    if average_win is not None:
        payoff = math.inf if average_loss is None else average_win / -average_loss
    return {
        "trades": len(pnl),
        "win_rate": len(wins) / len(pnl) if len(pnl) else None,  # break-even trades count, as non-wins
        "profit_factor": _ratio(float(wins.sum()), float(-losses.sum())) if len(pnl) else None,
        "expectancy": float(pnl.mean()) if len(pnl) else None,
        "expectancy_return": float(rets.mean()) if rets is not None and len(rets) else None,
        "average_win": average_win,
        "average_loss": average_loss,
        "payoff_ratio": payoff,
    }
