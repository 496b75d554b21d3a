"""Performance of a bot, and of a strategy (every bot of an account that runs it), from the store:
the metrics of docs/metrics.md (domain/analytics/metrics.py) on the equity curve and the round trips,
and the equity and drawdown curves thinned for a chart (domain/analytics/downsample.py).

The curve starts with the capital the bots were given, one bar before their first mark, so
returns and drawdowns count from the money put in (as the paper session's validation report
does). Several bots' curves add up as each bot's last known equity at every time any of them
marked. Capital the allocator moved in or out is taken out of the returns, so a transfer
between sleeves is neither a gain nor a drawdown; the equity curve shows the money as it was.
`sleeves` carries the same bots' figures as `quantshift strategies` prints them.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs
import numpy as np

from application.ports import UnitOfWork
from application.records import BotAccount, EquityPoint
from application.reports.strategy_report import strategy_report
from application.trading.allocation import SleeveFigures
from application.trading.bot import BotSpec
from domain.accounting.instrument import AssetClass
from domain.analytics.downsample import downsample_indices
from domain.analytics.metrics import Calendar, Metrics, compute_metrics, drawdown_series
from domain.numbers import ZERO

DEFAULT_POINTS = 500
MIN_POINTS = 10
MAX_POINTS = 5000
# Annualising a few weeks of returns gives growth rates in the thousands of percent that say
# nothing; below a quarter of a year there is no CAGR (nor Calmar, its ratio to the drawdown).
CAGR_MIN_SPAN = timedelta(days=91)


@attrs.frozen(kw_only=True)
class Performance:
    account: str
    name: str  # the bot's, or the strategy's
    strategy: str
    bots: tuple[str, ...]
    metrics: Metrics | None  # None until the curve has two marks
    equity_start: Decimal  # the capital given
    equity_end: Decimal  # the last mark
    net_pnl: Decimal  # end - start - capital moved in by the allocator
    points_total: int  # points of the whole curve, before thinning
    equity_curve: tuple[tuple[datetime, Decimal], ...]
    drawdown_curve: tuple[tuple[datetime, float], ...]  # fraction below the high-water mark, <= 0
    sleeves: tuple[SleeveFigures, ...]


def bot_performance(uow: UnitOfWork, *, account: str, bot: str, bots: Sequence[BotSpec] = (),
                    max_points: int = DEFAULT_POINTS) -> Performance | None:
    """None when the account has no such bot."""
    ledger = uow.accounts.get(account=account, bot=bot)
    if ledger is None:
        return None
    report = strategy_report(uow, account=account, strategy_names=_names(bots))
    sleeve = next(s for s in report.sleeves if s.bot == bot)
    return _measure(uow, account=account, name=bot, strategy=sleeve.strategy, ledgers=[ledger], sleeves=[sleeve],
                    bots=bots, max_points=max_points)


def strategy_performances(uow: UnitOfWork, *, account: str, bots: Sequence[BotSpec] = (),
                          max_points: int = DEFAULT_POINTS) -> list[Performance]:
    """One per strategy name the account's bots run, by name."""
    report = strategy_report(uow, account=account, strategy_names=_names(bots))
    ledgers = {ledger.bot: ledger for ledger in uow.accounts.list(account=account)}
    out = []
    for strategy in sorted({s.strategy for s in report.sleeves}):
        sleeves = [s for s in report.sleeves if s.strategy == strategy]
        out.append(_measure(uow, account=account, name=strategy, strategy=strategy,
                            ledgers=[ledgers[s.bot] for s in sleeves], sleeves=sleeves, bots=bots,
                            max_points=max_points))
    return out


def strategy_performance(uow: UnitOfWork, *, account: str, name: str, bots: Sequence[BotSpec] = (),
                         max_points: int = DEFAULT_POINTS) -> Performance | None:
    """None when no bot of the account runs that strategy."""
    return next((p for p in strategy_performances(uow, account=account, bots=bots, max_points=max_points)
                 if p.name == name), None)


def _names(bots: Sequence[BotSpec]) -> dict[str, str]:
    return {spec.name: spec.strategy.name for spec in bots}


def _measure(uow: UnitOfWork, *, account: str, name: str, strategy: str, ledgers: Sequence[BotAccount],
             sleeves: Sequence[SleeveFigures], bots: Sequence[BotSpec], max_points: int) -> Performance:
    if not MIN_POINTS <= max_points <= MAX_POINTS:
        raise ValueError(f"max_points must be {MIN_POINTS}..{MAX_POINTS}, got {max_points}")
    members = {ledger.bot for ledger in ledgers}
    start = sum((ledger.initial_cash for ledger in ledgers), ZERO)
    marks = [(bot, point) for bot, point in uow.equity.list(account=account) if bot in members]
    curve = _with_start(_summed(marks, initial={ledger.bot: ledger.initial_cash for ledger in ledgers}), start)
    flows = [(r.ts, r.transfer) for ledger in ledgers for r in uow.allocations.list(account=account, bot=ledger.bot)
             if r.transfer != 0]
    trips = [trip for _, trip in uow.trades.list(account=account) if trip.bot in members]
    times = [ts for ts, _ in curve]
    index = _flow_adjusted(curve, flows)
    metrics = None
    if len(curve) >= 2 and index[0] > 0:
        metrics = compute_metrics(equity=index, timestamps=times, calendar=_calendar(members, bots, times),
                                  trade_pnl=[float(t.net_pnl) for t in trips])
        if times[-1] - times[0] < CAGR_MIN_SPAN:
            metrics = attrs.evolve(metrics, cagr=None, calmar=None)
    underwater = drawdown_series(index) if len(index) else np.zeros(0)
    equity_end = curve[-1][1] if curve else start
    return Performance(
        account=account, name=name, strategy=strategy, bots=tuple(sorted(members)), metrics=metrics,
        equity_start=start, equity_end=equity_end, net_pnl=equity_end - start - sum((f for _, f in flows), ZERO),
        points_total=len(curve),
        equity_curve=tuple(curve[i] for i in downsample_indices([float(e) for _, e in curve], max_points=max_points)),
        drawdown_curve=tuple((times[i], float(underwater[i]))
                             for i in downsample_indices(underwater, max_points=max_points)),
        sleeves=tuple(sleeves),
    )


def _summed(marks: Sequence[tuple[str, EquityPoint]], *, initial: dict[str, Decimal]) -> list[tuple[datetime, Decimal]]:
    """Each bot's last known equity (its capital before its first mark), summed at every time
    any of them marked; `marks` are ordered by time (the repository's order)."""
    latest = dict(initial)
    out: list[tuple[datetime, Decimal]] = []
    for i, (bot, point) in enumerate(marks):
        latest[bot] = point.equity
        if i + 1 == len(marks) or marks[i + 1][1].ts != point.ts:
            out.append((point.ts, sum(latest.values(), ZERO)))
    return out


def _with_start(curve: list[tuple[datetime, Decimal]], start: Decimal) -> list[tuple[datetime, Decimal]]:
    """The capital, one typical bar before the first mark. With fewer than two marks there is no
    bar size to place it by, and nothing to measure yet either."""
    if len(curve) < 2:
        return curve
    spacing = np.median(np.diff(np.array([ts.timestamp() for ts, _ in curve])))
    return [(curve[0][0] - timedelta(seconds=float(spacing)), start), *curve]


def _flow_adjusted(curve: Sequence[tuple[datetime, Decimal]], flows: Sequence[tuple[datetime, Decimal]]) -> np.ndarray:
    """The curve with transfers taken out of the returns: a transfer belongs to the first mark at
    or after it (the allocator's own mark carries it), and that mark's return is
    (E_i - transfer) / E_(i-1) - 1. Without transfers, the curve itself."""
    values = np.array([float(e) for _, e in curve], dtype=np.float64)
    if not flows or len(curve) < 2:
        return values
    times = [ts for ts, _ in curve]
    moved = [ZERO] * len(curve)
    for ts, amount in flows:
        i = bisect.bisect_left(times, ts)
        if i < len(curve):
            moved[i] += amount
    out = [values[0]]
    for i in range(1, len(curve)):
        before = curve[i - 1][1]
        growth = float((curve[i][1] - moved[i]) / before) if before > 0 else 1.0
        out.append(out[-1] * growth)
    return np.array(out, dtype=np.float64)


def _calendar(members: set[str], bots: Sequence[BotSpec], times: Sequence[datetime]) -> Calendar:
    """How many bars make a year: 24/7 when any member trades crypto. For a bot not configured
    here, marks on a weekend say the same (an equity market has none)."""
    specs = {spec.name: spec for spec in bots}
    known = [specs[bot] for bot in members if bot in specs]
    if any(i.asset_class is AssetClass.CRYPTO for spec in known for i in spec.instruments.values()):
        return "crypto"
    if len(known) == len(members):
        return "equity"
    return "crypto" if any(ts.weekday() >= 5 for ts in times) else "equity"
