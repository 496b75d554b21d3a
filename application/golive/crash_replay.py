"""A bot's configuration replayed over a crash, to show that its loss limits trip.

The gate asks more of the drawdown breaker and the daily loss limit than that they are set:
that on this very configuration (strategy, sizing, stops, limits, costs) a crash trips them.
The bars come from outside (entrypoints/golive_risk_replay.py scripts the synthetic feed: a
trend the strategy can enter, then a crash that gaps through resting stops). They run through
the backtest engine with the risk engine on, over a store of the replay's own, and the trips
are read back from its audit trail and equity curve, with the figures at each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import Clock, Notifier, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.research.backtest import run_event_backtest
from application.trading.bot import BotSpec
from application.trading.loss_limits import DAILY_LOSS_MESSAGE, DRAWDOWN_ACTOR
from application.venues.ports import BarListener, Broker
from domain.accounting.market import Bar
from domain.numbers import ZERO
from domain.risk.trading_state import TradingState

REPLAY_ACCOUNT = "crash-replay"


@attrs.frozen(kw_only=True)
class Trip:
    """The bot's figures at the end of one bar of the replay (where a limit tripped, or the worst)."""

    bar: int  # its number in the replay, from 1
    at: datetime  # the bar's end: the session's time when the limits were assessed
    equity: Decimal
    peak: Decimal  # the highest equity so far (the capital at the start)
    session_start: Decimal  # the equity the trading session began with

    @property
    def drawdown(self) -> Decimal:
        """Fraction below the peak."""
        return (self.peak - self.equity) / self.peak if self.peak > 0 else ZERO

    @property
    def session_loss(self) -> Decimal:
        """Amount lost since the session began (negative: a gain)."""
        return self.session_start - self.equity

    @property
    def session_loss_fraction(self) -> Decimal:
        return self.session_loss / self.session_start if self.session_start > 0 else ZERO


@attrs.frozen(kw_only=True)
class CrashReplay:
    scenario: str  # for people: the symbols, bars, seed, the trend and the crash
    bars: int
    crash_bar: int  # the first bar of the crash
    held_at_crash: bool  # a position was open when the crash began (else it could lose nothing)
    deepest: Trip  # the bar of the deepest drawdown
    worst_session: Trip  # the bar of the largest loss within one session
    drawdown_halt: Trip | None  # the breaker HALTED the bot (drawdown_limit)
    drawdown_reducing: Trip | None  # the breaker first set REDUCING (drawdown_warning)
    daily_loss: Trip | None  # the daily loss limit tripped
    elapsed_s: float


# The port the gate's risk items call: the replay of one bot (built and run by the entrypoint).
CrashReplayer = Callable[[], CrashReplay]


def replay_crash(*, spec: BotSpec, bars: Iterable[Bar], crash_starts: datetime, scenario: str, broker: Broker,
                 venue: BarListener, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier,
                 size_at_open: bool) -> CrashReplay:
    """Run `bars` through the backtest engine for `spec` alone (its own capital, its risk engine,
    breakers and stops) on a fresh store; the crash's first bar starts at `crash_starts`."""
    started = time.perf_counter()
    result = run_event_backtest(bots=[spec], bars=bars, broker=broker, venue=venue, uow_factory=uow_factory,
                                clock=clock, notifier=notifier, account=REPLAY_ACCOUNT, size_at_open=size_at_open)
    with uow_factory() as uow:
        points = [(p.ts, p.equity) for _, p in uow.equity.list(account=REPLAY_ACCOUNT, bot=spec.name)]
        halts = [e for e in uow.audit.list(account=REPLAY_ACCOUNT, kind=AuditKind.HALT.value, limit=100_000)
                 if e.bot == spec.name and e.data.get("actor") == DRAWDOWN_ACTOR]
        risk = uow.audit.list(account=REPLAY_ACCOUNT, kind=AuditKind.RISK.value, limit=100_000)
    curve = _Curve(points, capital=spec.capital, session_key=spec.session_key)
    if not curve.trips:
        raise ValueError(f"the crash replay of bot {spec.name} produced no equity point (no bar of its symbols)")

    def first(entries: Sequence, prefix: str) -> Trip | None:
        return next((curve.at(e.ts) for e in entries if e.message.startswith(prefix)), None)

    held = ZERO
    for fill in result.fills:
        if fill.ts < crash_starts:
            held += fill.quantity if fill.side == "buy" else -fill.quantity
    return CrashReplay(
        scenario=scenario, bars=len(curve.trips), crash_bar=curve.first_after(crash_starts), held_at_crash=held != 0,
        deepest=max(curve.trips, key=lambda t: (t.drawdown, -t.bar)),
        worst_session=max(curve.trips, key=lambda t: (t.session_loss_fraction, -t.bar)),
        drawdown_halt=first(halts, TradingState.HALTED.value),
        drawdown_reducing=first(halts, TradingState.REDUCING.value),
        daily_loss=_daily_loss_trip(curve, [e for e in risk if e.bot == spec.name]),
        elapsed_s=time.perf_counter() - started,
    )


def _daily_loss_trip(curve: _Curve, entries: Sequence[AuditEntry]) -> Trip | None:
    """The limit's own session start (taken once the session's first bar has opened, so it
    differs from the close before), as its audit entry states it."""
    entry = next((e for e in entries if e.message.startswith(DAILY_LOSS_MESSAGE)), None)
    if entry is None:
        return None
    found = _DAY_START.search(entry.message)
    if found is None:
        raise ValueError(f"the crash replay's daily loss entry names no day start: {entry.message!r}")
    return attrs.evolve(curve.at(entry.ts), session_start=Decimal(found.group(1)))


_DAY_START = re.compile(r"from day start (-?[0-9.]+)")  # DailyLossLimit.assess's reason


class _Curve:
    """The bot's equity after each bar, with its running peak and its session's starting equity,
    as the breaker (peak from the capital) and the daily loss limit (per session) see them."""

    def __init__(self, points: Sequence[tuple[datetime, Decimal]], *, capital: Decimal,
                 session_key: Callable[[datetime], str]) -> None:
        last_at: dict[datetime, Decimal] = {}
        for ts, equity in points:  # a bot of several symbols records one point per symbol's bar
            last_at[ts] = equity
        self.trips: list[Trip] = []
        peak, before, session, start = capital, capital, None, capital
        for number, ts in enumerate(sorted(last_at), start=1):
            equity = last_at[ts]
            if session_key(ts) != session:  # a new session starts from the equity it inherits
                session, start = session_key(ts), before
            peak = max(peak, equity)
            self.trips.append(Trip(bar=number, at=ts, equity=equity, peak=peak, session_start=start))
            before = equity
        self._by_time = {t.at: t for t in self.trips}

    def at(self, ts: datetime) -> Trip:
        return self._by_time[ts]

    def first_after(self, ts: datetime) -> int:
        """The number of the first bar ending after `ts` (the bar that starts then)."""
        return next((t.bar for t in self.trips if t.at > ts), len(self.trips))
