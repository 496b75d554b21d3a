"""A backtest through the same engine as paper trading.

The bars go through a PaperSession in simulation mode: the same trading cycle, strategy
wrapper, risk engine, order state machine, simulated venue (matching, slippage, fees,
partial fills) and accounting as `quantshift paper`, over a store of its own. So a backtest
and a paper replay of the same bars make the same orders; the risk controls show what
they would have done. (The fast path, adapters/fast_backtest, is held to this engine by a
parity test.) What comes out is plain arrays and rows for metrics and reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs
import numpy as np

from application.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditKind, bot_scope
from application.reports.risk_report import denial_line, denials_by_check
from application.trading.allocation import AllocationSchedule
from application.trading.bot import BotSpec
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.venues.ports import BarListener, Broker
from domain.accounting.market import Bar
from domain.accounting.position import Direction
from domain.numbers import ZERO
from domain.orders.order import OrderStatus
from domain.risk.trading_state import TradingState


@attrs.frozen(kw_only=True)
class FillRow:
    ts: datetime
    symbol: str
    side: str  # "buy" | "sell"
    quantity: Decimal
    price: Decimal
    fee: Decimal


@attrs.frozen(kw_only=True)
class TradeRow:
    bot: str
    symbol: str
    side: str  # "long" | "short"
    quantity: Decimal
    entry_time: datetime
    exit_time: datetime
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal  # net of fees

    @property
    def ret(self) -> float:
        cost = self.entry_price * self.quantity
        return float(self.pnl / cost) if cost else 0.0


@attrs.frozen(kw_only=True)
class BacktestResult:
    engine: str  # "event" or "fast"
    bars: int
    orders: int  # sent to the venue (risk denials excluded)
    orders_denied: int
    fills: tuple[FillRow, ...]
    trades: tuple[TradeRow, ...]
    open_positions: int
    initial_equity: Decimal
    final_equity: Decimal  # cash plus open positions at the last close
    equity_times: np.ndarray = attrs.field(eq=False)  # datetime64[ns] UTC, one per bar
    equity: np.ndarray = attrs.field(eq=False)  # float64, the account's equity after each bar
    exposure: np.ndarray = attrs.field(eq=False)  # bool per bar: any position held
    elapsed_s: float
    # What the risk controls did: denials per check, and every change of a bot's trading
    # state (drawdown breaker, daily loss limit, throttle halts) with its reason.
    denied_by: Mapping[str, int] = attrs.field(factory=dict)
    risk_events: tuple[str, ...] = ()
    # What a reader must see first (the CLI, --json and the report put it at the top): how many
    # orders the risk engine denied and by which check, and each bot that ended the run REDUCING
    # or HALTED, since when, why and what ends that state.
    risk_summary: tuple[str, ...] = ()
    state_changes: tuple[StateChange, ...] = ()


@attrs.frozen(kw_only=True)
class StateChange:
    """A bot's trading state changed during the run (breaker, daily loss, throttle, operator)."""

    ts: datetime
    bot: str
    state: str  # "active" | "reducing" | "halted"
    reason: str


def run_event_backtest(
    *,
    bots: Sequence[BotSpec],
    bars: Iterable[Bar],
    broker: Broker,
    venue: BarListener,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    notifier: Notifier,
    account: str,
    size_at_open: bool,
    allocation: AllocationSchedule | None = None,
    on_bar: Callable[[Bar], None] | None = None,
) -> BacktestResult:
    session = PaperSession(
        settings=SessionSettings(account=account, mode="simulation", heartbeat_seconds=3600.0, size_at_open=size_at_open,
                                 on_stop=None),
        bots=bots, uow_factory=uow_factory, broker=broker, venue=venue, notifier=notifier, wall_clock=clock,
        process=ProcessInfo(pid=0, host="backtest"), allocation=allocation,
    )
    iterator = iter(bars)
    first = next(iterator, None)
    if first is None:
        raise ValueError("no bars to backtest")
    started = time.perf_counter()
    session.start(now=first.ts)
    count = 0
    last = first

    def feed() -> Iterable[Bar]:
        nonlocal count, last
        for bar in _chain(first, iterator):
            count += 1
            last = bar
            yield bar

    session.run_accelerated(feed(), on_bar=on_bar)
    session.stop(now=last.end)
    elapsed = time.perf_counter() - started
    with uow_factory() as uow:
        return collect_result(uow, account=account, bots=bots, bars=count, elapsed_s=elapsed)


def _chain(first: Bar, rest: Iterable[Bar]) -> Iterable[Bar]:
    yield first
    yield from rest


def collect_result(uow: UnitOfWork, *, account: str, bots: Sequence[BotSpec], bars: int, elapsed_s: float) -> BacktestResult:
    orders = uow.orders.list(account=account, limit=10_000_000)
    denied = sum(1 for o in orders if o.status is OrderStatus.DENIED)
    fills = sorted(uow.fills.list(account=account), key=lambda f: (f.ts, f.fill_id))
    trips = [trip for _, trip in uow.trades.list(account=account)]
    positions = [(p, last) for _, p, last in uow.positions.list(account=account) if not p.is_flat]
    ledgers = {a.bot: a for a in uow.accounts.list(account=account)}
    initial = sum((a.initial_cash for a in ledgers.values()), ZERO)
    final = sum((a.cash for a in ledgers.values()), ZERO) + sum(
        (p.quantity * (last if last is not None else p.average_cost) for p, last in positions), ZERO)
    times, equity = _total_equity_curve(uow, account=account, bots=[b.name for b in bots])
    denied_by = denials_by_check(orders)
    events = [e for e in uow.audit.list(account=account, limit=100_000)
              if e.kind in (AuditKind.HALT, AuditKind.RESUME) or (e.kind is AuditKind.RISK and "daily loss" in e.message)]
    changes = tuple(StateChange(ts=e.ts, bot=e.bot, state=e.message.split(" ", 1)[0], reason=str(e.data.get("reason", e.message)))
                    for e in sorted(events, key=lambda e: e.ts) if e.kind in (AuditKind.HALT, AuditKind.RESUME))
    return BacktestResult(
        engine="event", bars=bars, orders=len(orders) - denied, orders_denied=denied,
        fills=tuple(FillRow(ts=f.ts, symbol=f.symbol, side=f.side.value, quantity=f.quantity, price=f.price,
                            fee=f.commission) for f in fills),
        trades=tuple(TradeRow(bot=t.bot, symbol=t.symbol, side="long" if t.direction is Direction.LONG else "short",
                              quantity=t.quantity, entry_time=t.opened_at, exit_time=t.closed_at,
                              entry_price=t.entry_price, exit_price=t.exit_price, pnl=t.net_pnl)
                     for t in sorted(trips, key=lambda t: (t.closed_at, t.closing_fill_id))),
        open_positions=len(positions), initial_equity=initial, final_equity=final,
        equity_times=times, equity=equity, exposure=_exposure(times, fills), elapsed_s=elapsed_s,
        denied_by=denied_by, risk_events=tuple(f"{e.ts.isoformat()} {e.bot}: {e.message}" for e in events),
        risk_summary=_risk_summary(uow, account=account, bots=bots, orders=len(orders), denied_by=denied_by),
        state_changes=changes,
    )


def _risk_summary(uow: UnitOfWork, *, account: str, bots: Sequence[BotSpec], orders: int,
                  denied_by: Mapping[str, int]) -> tuple[str, ...]:
    lines = [denial_line(denied_by, orders=orders)] if denied_by else []
    for spec in bots:
        control = uow.control.get(bot_scope(account, spec.name))
        if control is None or control.state is TradingState.ACTIVE:
            continue
        if control.state is TradingState.REDUCING:
            ends = (spec.drawdown.how_reducing_ends() if spec.drawdown is not None
                    else "REDUCING ends by an operator's resume")
        else:
            ends = "a halt ends only by an operator's resume"
        lines.append(f"bot {spec.name} was {control.state.value.upper()} from {control.changed_at.isoformat()}"
                     f" to the end ({control.reason}); {ends}")
    return tuple(lines)


def _total_equity_curve(uow: UnitOfWork, *, account: str, bots: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The account's equity at each time any bot recorded one: the sum of each bot's latest."""
    latest: dict[str, Decimal] = {}
    ledgers = {a.bot: a for a in uow.accounts.list(account=account)}
    for bot in bots:
        if bot in ledgers:
            latest[bot] = ledgers[bot].initial_cash
    by_time: dict[datetime, dict[str, Decimal]] = {}
    for bot, point in uow.equity.list(account=account):
        by_time.setdefault(point.ts, {})[bot] = point.equity
    times, values = [], []
    for ts in sorted(by_time):
        latest.update(by_time[ts])
        times.append(np.datetime64(ts.replace(tzinfo=None), "ns"))
        values.append(float(sum(latest.values(), ZERO)))
    return np.asarray(times, dtype="datetime64[ns]"), np.asarray(values, dtype=np.float64)


def _exposure(times: np.ndarray, fills: Sequence) -> np.ndarray:
    """Whether any position was held at each equity point (from the fills' running net)."""
    held = np.zeros(len(times), dtype=bool)
    if not len(times) or not fills:
        return held
    net: dict[str, Decimal] = {}
    stamps = np.asarray([np.datetime64(f.ts.replace(tzinfo=None), "ns") for f in fills])
    index = 0
    for i, ts in enumerate(times):
        while index < len(fills) and stamps[index] < ts:  # a fill at a bar's open belongs to that bar
            fill = fills[index]
            net[fill.symbol] = net.get(fill.symbol, ZERO) + fill.signed_quantity
            index += 1
        held[i] = any(q != 0 for q in net.values())
    return held
