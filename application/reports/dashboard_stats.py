"""The dashboard's figures: now, and one snapshot per UTC day for the last days' sparklines.

A figure of one bot comes from the reports the CLI already prints: equity, peak, drawdown,
session P&L, exposure and heat from the risk report (for the configured bots; a bot of another
configuration gets the same figures from its ledger, minus what only its configuration knows),
its state from the heartbeat's age (status). The scope "all" adds the bots' figures up.

Snapshots store the figures as JSON (money as decimal strings); a series shows the days that
have a snapshot and nothing for the others: a day the job did not run is absent, not invented.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import attrs

from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.records import BotAccount
from application.reports.ports import DailySnapshot
from application.reports.risk_report import risk_report
from application.reports.status import BotLiveness, bot_statuses
from application.trading.bot import BotSpec
from application.trading.capital_flows import moved_since, stored_watermark
from application.trading.loss_limits import session_start_point
from domain.accounting.portfolio import Exposure, Portfolio
from domain.accounting.position import RoundTrip
from domain.analytics.performance import win_rate
from domain.numbers import ZERO
from domain.risk.circuit_breakers import crypto_session_key
from domain.risk.portfolio_heat import portfolio_heat

SCOPE_ALL = "all"
SERIES_DAYS = 7
_FRACTION = Decimal("0.00000001")  # drawdowns: eight places say more than any chart shows

Value = Decimal | int | float


def bot_scope_key(account: str, bot: str) -> str:
    return f"bot:{account}/{bot}"


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def window_start(now: datetime, *, days: int) -> date:
    """The first day of the `days` UTC days that end today (today included)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    return utc_day(now) - timedelta(days=days - 1)


@attrs.frozen(kw_only=True)
class Figures:
    """One scope's figures. Money and drawdown are Decimal; the win rate a float fraction."""

    equity: Decimal
    pnl_today: Decimal  # since the first equity point of this UTC day (0 with none yet today)
    pnl_session: Decimal | None  # since the bot's trading session began (the daily loss limit's boundary)
    open_positions: int
    exposure_gross: Decimal
    exposure_net: Decimal
    trades_today: int  # round trips closed this UTC day
    trades_total: int
    win_rate: float | None  # None before the first round trip
    peak: Decimal
    drawdown: Decimal  # fraction below the peak
    heat: Decimal | None  # risk to the stops of open positions; None: no stops to measure
    bots_total: int
    bots_up: int
    bots_stale: int
    bots_halted: int
    bots_stopped: int

    def to_json(self) -> dict[str, str | int | float | None]:
        """Decimals as plain decimal strings (never "0E-8"), so nothing is rounded on the way."""
        return {name: format(value, "f") if isinstance(value, Decimal) else value
                for name, value in attrs.asdict(self).items()}


@attrs.frozen(kw_only=True)
class BotFigures:
    account: str
    bot: str
    state: str  # running, stale, stopped, halted (status.BotLiveness), or unknown without a heartbeat
    figures: Figures

    @property
    def scope(self) -> str:
        return bot_scope_key(self.account, self.bot)


@attrs.frozen(kw_only=True)
class CurrentFigures:
    as_of: datetime
    overall: Figures
    bots: tuple[BotFigures, ...]


@attrs.frozen(kw_only=True)
class _Core:
    """What the risk report says of a bot (or its ledger, for a bot not configured here)."""

    equity: Decimal
    peak: Decimal
    drawdown: Decimal
    exposure: Exposure
    heat: Decimal | None
    session_pnl: Decimal | None
    session_is_utc_day: bool


def current_figures(uow: UnitOfWork, *, now: datetime, bots: Sequence[BotSpec] = ()) -> CurrentFigures:
    """Every bot with a ledger, in every account, and their sum as the scope "all"."""
    states = {(s.account, s.bot): s.liveness.value for s in bot_statuses(uow, now=now)}
    trips: dict[tuple[str, str], list[RoundTrip]] = defaultdict(list)
    for account, trip in uow.trades.list():
        trips[(account, trip.bot)].append(trip)
    open_positions: dict[tuple[str, str], int] = defaultdict(int)
    for account, position, _ in uow.positions.list():
        open_positions[(account, position.bot)] += 0 if position.is_flat else 1
    today = utc_day(now)
    rows = []
    for ledger, core in _cores(uow, now=now, bots=bots):
        key = (ledger.account, ledger.bot)
        state = states.get(key, "unknown")
        pnl_today = core.session_pnl if core.session_is_utc_day and core.session_pnl is not None \
            else _utc_day_pnl(uow, ledger=ledger, equity=core.equity, now=now)
        figures = Figures(
            equity=core.equity, pnl_today=pnl_today, pnl_session=core.session_pnl,
            open_positions=open_positions[key], exposure_gross=core.exposure.gross, exposure_net=core.exposure.net,
            trades_today=sum(1 for t in trips[key] if utc_day(t.closed_at) == today), trades_total=len(trips[key]),
            win_rate=win_rate(trips[key]) if trips[key] else None, peak=core.peak,
            drawdown=core.drawdown.quantize(_FRACTION), heat=core.heat, bots_total=1,
            bots_up=int(state == BotLiveness.RUNNING.value), bots_stale=int(state == BotLiveness.STALE.value),
            bots_halted=int(state == BotLiveness.HALTED.value), bots_stopped=int(state == BotLiveness.STOPPED.value),
        )
        rows.append(BotFigures(account=ledger.account, bot=ledger.bot, state=state, figures=figures))
    every_trip = [t for group in trips.values() for t in group]
    return CurrentFigures(as_of=now, overall=_sum([r.figures for r in rows], trips=every_trip), bots=tuple(rows))


def _cores(uow: UnitOfWork, *, now: datetime, bots: Sequence[BotSpec]) -> list[tuple[BotAccount, _Core]]:
    specs = {spec.name: spec for spec in bots}
    by_account: dict[str, list[BotAccount]] = defaultdict(list)
    for ledger in uow.accounts.list():
        by_account[ledger.account].append(ledger)
    out = []
    for account, ledgers in sorted(by_account.items()):
        configured = [specs[ledger.bot] for ledger in ledgers if ledger.bot in specs]
        reported = {row.bot: row for row in risk_report(uow, account=account, bots=configured, now=now)}
        for ledger in sorted(ledgers, key=lambda a: a.bot):
            row = reported.get(ledger.bot)
            if row is None:
                out.append((ledger, _unconfigured(uow, ledger=ledger)))
                continue
            out.append((ledger, _Core(
                equity=row.equity, peak=row.peak, drawdown=row.drawdown, exposure=row.exposure, heat=row.heat,
                session_pnl=row.daily_pnl, session_is_utc_day=specs[ledger.bot].session_key is crypto_session_key)))
    return out


def _unconfigured(uow: UnitOfWork, *, ledger: BotAccount) -> _Core:
    """The risk report's figures from the ledger alone (same formulas, see risk_report): the
    session boundary is the configuration's, so there is no session P&L; heat is measured
    from the stops stored for its positions, if any."""
    positions = uow.positions.list(account=ledger.account, bot=ledger.bot)
    marks = {p.symbol: last for _, p, last in positions if last is not None}
    portfolio = Portfolio(bot=ledger.bot, cash=ledger.cash, positions={p.symbol: p for _, p, _ in positions})
    equity = portfolio.equity(marks)
    peak = stored_watermark(uow, account=ledger.account, bot=ledger.bot, initial_cash=ledger.initial_cash,
                            equity_now=equity).peak  # net of the allocator's transfers, as the breaker
    stops = uow.stops.list(account=ledger.account, bot=ledger.bot)
    held = [(p.quantity, marks.get(p.symbol, p.average_cost), stops[(ledger.bot, p.symbol)].price)
            for _, p, _ in positions if not p.is_flat and (ledger.bot, p.symbol) in stops]
    return _Core(equity=equity, peak=peak, drawdown=(peak - equity) / peak if peak > 0 else ZERO,
                 exposure=portfolio.exposure(marks), heat=portfolio_heat(held) if stops else None,
                 session_pnl=None, session_is_utc_day=False)


def _utc_day_pnl(uow: UnitOfWork, *, ledger: BotAccount, equity: Decimal, now: datetime) -> Decimal:
    """The daily loss limit's arithmetic on the UTC day: equity now minus the day's first point."""
    curve = [point for _, point in uow.equity.list(account=ledger.account, bot=ledger.bot)]
    start = session_start_point(curve, session_key=crypto_session_key, key=crypto_session_key(now))
    if start is None:
        return ZERO
    return equity - start.equity - moved_since(uow, account=ledger.account, bot=ledger.bot, after=start.ts)


def _sum(rows: Sequence[Figures], *, trips: Sequence[RoundTrip]) -> Figures:
    """The scope "all". Its drawdown is how far the book is below the sum of the bots' own peaks:
    never less than the drawdown of the summed curve, and needing no common timeline (the
    simulated sessions of different accounts have none)."""
    def total(name: str) -> Decimal:
        return sum((getattr(f, name) for f in rows), ZERO)

    def known(name: str) -> Decimal | None:
        values = [getattr(f, name) for f in rows if getattr(f, name) is not None]
        return sum(values, ZERO) if values else None

    def count(name: str) -> int:
        return sum(getattr(f, name) for f in rows)

    equity, peak = total("equity"), total("peak")
    return Figures(
        equity=equity, pnl_today=total("pnl_today"), pnl_session=known("pnl_session"),
        open_positions=count("open_positions"), exposure_gross=total("exposure_gross"),
        exposure_net=total("exposure_net"), trades_today=count("trades_today"), trades_total=count("trades_total"),
        win_rate=win_rate(trips) if trips else None, peak=peak,
        drawdown=((peak - equity) / peak).quantize(_FRACTION) if peak > 0 else ZERO.quantize(_FRACTION),
        heat=known("heat"), bots_total=count("bots_total"), bots_up=count("bots_up"),
        bots_stale=count("bots_stale"), bots_halted=count("bots_halted"), bots_stopped=count("bots_stopped"),
    )


# --- daily snapshots -------------------------------------------------------------------------


def take_snapshot(uow_factory: UnitOfWorkFactory, clock: Clock, *, bots: Sequence[BotSpec] = (),
                  reader: UnitOfWorkFactory | None = None) -> list[DailySnapshot]:
    """Store today's figures of "all" and of each bot; a later run the same UTC day replaces them.

    `reader` (a read-only unit of work) does the reading, so a writing one (SQLite's write
    lock) is held only for the few upserts, not while the curves are read."""
    now = clock.now()
    with (reader or uow_factory)() as uow:
        current = current_figures(uow, now=now, bots=bots)
    day = utc_day(now)
    snapshots = [DailySnapshot(day=day, scope=SCOPE_ALL, taken_at=now, figures=current.overall.to_json())]
    snapshots += [DailySnapshot(day=day, scope=row.scope, taken_at=now, figures=row.figures.to_json())
                  for row in current.bots]
    with uow_factory() as uow:
        for snapshot in snapshots:
            uow.snapshots.put(snapshot)
        uow.commit()
    return snapshots


def recent_snapshots(uow: UnitOfWork, *, scope: str, now: datetime, days: int = SERIES_DAYS) -> list[DailySnapshot]:
    """The scope's snapshots of the last `days` UTC days (today included), oldest first."""
    today = utc_day(now)
    return [s for s in uow.snapshots.list(scope=scope, since=window_start(now, days=days)) if s.day <= today]


@attrs.frozen(kw_only=True)
class SeriesPoint:
    day: date
    value: Value


@attrs.frozen(kw_only=True)
class ScopeStats:
    scope: str
    figures: Figures
    series: Mapping[str, tuple[SeriesPoint, ...]]  # per figure, the days with a snapshot, oldest first


@attrs.frozen(kw_only=True)
class BotStats:
    account: str
    bot: str
    state: str
    stats: ScopeStats


@attrs.frozen(kw_only=True)
class DashboardStats:
    as_of: datetime
    since: date  # the series' first day
    overall: ScopeStats
    bots: tuple[BotStats, ...]


def seven_day_stats(uow: UnitOfWork, *, now: datetime, bots: Sequence[BotSpec] = (),
                    days: int = SERIES_DAYS) -> DashboardStats:
    """The figures now, and for each figure the values of the last `days` days' snapshots."""
    current = current_figures(uow, now=now, bots=bots)

    def stats(scope: str, figures: Figures) -> ScopeStats:
        return ScopeStats(scope=scope, figures=figures, series=_series(recent_snapshots(uow, scope=scope, now=now,
                                                                                        days=days)))

    return DashboardStats(
        as_of=now, since=window_start(now, days=days), overall=stats(SCOPE_ALL, current.overall),
        bots=tuple(BotStats(account=b.account, bot=b.bot, state=b.state, stats=stats(b.scope, b.figures))
                   for b in current.bots))


def _series(snapshots: Sequence[DailySnapshot]) -> dict[str, tuple[SeriesPoint, ...]]:
    """Per figure; a snapshot without that figure, or with it undefined (null), adds no point."""
    return {name: tuple(SeriesPoint(day=s.day, value=_value(s.figures[name]))
                        for s in snapshots if s.figures.get(name) is not None)
            for name in attrs.fields_dict(Figures)}


def _value(stored: object) -> Value:
    if isinstance(stored, str):  # to_json() writes Decimals, and only Decimals, as strings
        return Decimal(stored)
    if isinstance(stored, bool) or not isinstance(stored, (int, float)):
        raise ValueError(f"a snapshot figure is a number or a decimal string, got {stored!r}")
    return stored
