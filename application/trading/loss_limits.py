"""The loss limits' decisions for one bot after a bar: the drawdown breaker (from the
equity peak), the daily loss limit (per trading session), and the exits a breaker's
flatten sends. The session applies them (store, alerts, cancels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from application.ports import UnitOfWork
from application.records import EquityPoint
from application.trading.bot_state import BotState
from application.trading.cancel_orders import FLATTEN
from application.trading.capital_flows import moved_since
from application.trading.order_intent import PlannedIntent
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderType
from domain.risk.circuit_breakers import BreakerDecision, DailyLossDecision
from domain.strategy import Signal, Target


DAILY_LOSS_MESSAGE = "daily loss limit: "  # the audit entry a trip writes; a restart reads it back
DRAWDOWN_ACTOR = "risk:drawdown"  # the actor of the breaker's state changes


def session_start_point(
    curve: Sequence[EquityPoint], *, session_key: Callable[[datetime], str], key: str
) -> EquityPoint | None:
    """The first stored equity point of trading session `key` (None when it has none)."""
    return next((point for point in curve if session_key(point.ts) == key), None)


def resume_session(state: BotState, uow: UnitOfWork) -> None:
    """After a restart mid-session: the session's starting equity from the stored equity
    curve, and a trip from the audit trail, so a restart does not re-arm the daily limit."""
    if state.spec.daily_loss is None:
        return
    curve = [point for _, point in uow.equity.list(account=state.account, bot=state.name)]
    if not curve:
        return
    key = state.spec.session_key(curve[-1].ts)
    start = session_start_point(curve, session_key=state.spec.session_key, key=key)
    assert start is not None  # the last point itself is in that session
    # Capital moved in or out later in the session is no profit or loss: it moves the start too.
    moved = moved_since(uow, account=state.account, bot=state.name, after=start.ts)
    state.session_key, state.session_start_equity = key, start.equity + moved
    trips = [e for e in uow.audit.list(account=state.account, kind="risk", since=start.ts, limit=100_000)
             if e.bot == state.name and e.message.startswith(DAILY_LOSS_MESSAGE)]
    state.daily_loss_stop = trips[-1].message.removeprefix(DAILY_LOSS_MESSAGE) if trips else ""


def roll_session(state: BotState, *, at: datetime) -> None:
    """A new trading session re-arms the daily loss limit, from the equity it starts with."""
    key = state.spec.session_key(at)
    if key != state.session_key:
        state.session_key, state.session_start_equity, state.daily_loss_stop = key, state.equity(), ""


def capital_moved(state: BotState, *, equity_before: Decimal, amount: Decimal) -> None:
    """The allocator moved `amount` into the sleeve (out when negative): neither a loss nor a
    gain. The peak scales with the equity (time-weighted drawdown) and the session's starting
    equity moves by the amount (the daily loss counts trading only)."""
    if not amount:
        return
    if state.watermark is not None:
        state.watermark = state.watermark.observe(equity_before).after_flow(equity_before=equity_before,
                                                                            amount=amount)
    if state.session_start_equity is not None:
        state.session_start_equity += amount


def drawdown_change(state: BotState, *, equity: Decimal) -> BreakerDecision | None:
    """Raise the peak; the breaker's decision when it moves the trading state, else None."""
    if state.watermark is not None:
        state.watermark = state.watermark.observe(equity)
    breaker = state.spec.drawdown
    if breaker is None or state.watermark is None:
        return None
    decision = breaker.assess(watermark=state.watermark, equity=equity, current=state.trading_state,
                              set_by_breaker=state.trading_actor == DRAWDOWN_ACTOR)
    return decision if decision.state is not state.trading_state else None


def daily_loss_trip(state: BotState, *, equity: Decimal) -> DailyLossDecision | None:
    """The decision when the daily loss limit trips now (it then holds for the session), else None."""
    limit = state.spec.daily_loss
    if limit is None or state.daily_loss_stop:
        return None
    assert state.session_start_equity is not None, "roll_session() first"
    day = limit.assess(session_key=state.session_key, day_start_equity=state.session_start_equity, equity=equity,
                       tripped_session=None)
    if not day.halt:
        return None
    state.daily_loss_stop = day.reason
    return day


def flatten_plans(state: BotState, *, at: datetime, why: str) -> list[tuple[PlannedIntent, Signal]]:
    """An exit for every open position, for a breaker that flattens before it halts."""
    plans = []
    for symbol, position in state.portfolio.positions.items():
        if position.is_flat:
            continue
        intent = OrderIntent(
            account=state.account, bot=state.name, strategy=FLATTEN, instrument=state.spec.instruments[symbol],
            side=OrderSide.SELL if position.quantity > 0 else OrderSide.BUY, quantity=abs(position.quantity),
            order_type=OrderType.MARKET, signal_ts=at, reference_price=state.marks[symbol][0], reduces_risk=True,
        )
        signal = Signal(target=Target.FLAT, bar_ts=at, reason=f"flatten on halt: {why}")
        plans.append((PlannedIntent(intent=intent, sizing=f"close {position.quantity}"), signal))
    return plans
