"""What ending a session does to its working orders, and the stops it leaves resting.

Orders at a venue outlive the session that sent them. `[engine] on_stop` says what a clean
stop (Ctrl-C, SIGTERM, the end of `paper --days`) does with them:

- "cancel_entries" (the default): working entries are cancelled, and so are working exits
  where the bot rests stops (an exit still filling would keep the stop off: the two must
  never both fill; the next session's strategy decides the exit again). Once the venue has
  confirmed (with what they filled meanwhile), every position gets its protective stop for
  the whole quantity held. Protective stops stay; exits of bots without stops stay working.
- "cancel_all": every working order is cancelled, protective stops included: positions
  are left without stops (said in the audit trail and alerted). For taking over by hand.
- "leave": nothing is cancelled; entries keep working after the session is gone. Every
  position gets its stop for what is held now; nobody resizes it if an entry fills later.

A halted bot is left to the halt, which cancels all of its orders. Without stops configured
(or at a venue without stop orders) there is nothing to place.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from application.ports import UnitOfWorkFactory
from application.trading.bot_state import BotState
from application.trading.cancel_orders import cancel_open_orders
from application.trading.event_inbox import EventInbox
from application.trading.protective_stops import is_protective
from application.trading.stopped_bots import opens_risk
from application.trading.trading_cycle import TradingCycle
from application.venues.ports import Broker
from domain.orders.order import Order, OrderStatus


class OnStop(enum.Enum):
    CANCEL_ENTRIES = "cancel_entries"
    CANCEL_ALL = "cancel_all"
    LEAVE = "leave"


@attrs.frozen(kw_only=True)
class SessionEnd:
    policy: OnStop
    cancelled: int  # orders asked to cancel
    unconfirmed: tuple[str, ...]  # cancels the venue had not confirmed when the session ended
    protected: tuple[str, ...]  # "bot/symbol": positions with a protective stop resting
    unprotected: tuple[str, ...]  # positions whose bot has stops configured but none rests

    def summary(self) -> str:
        parts = [f"on_stop = {self.policy.value}: {self.cancelled} order(s) cancelled"]
        if self.unconfirmed:
            parts.append(f"cancel unconfirmed for {', '.join(self.unconfirmed)}")
        if self.protected:
            parts.append(f"stops resting for {', '.join(self.protected)}")
        if self.unprotected:
            parts.append(f"NO resting stop for {', '.join(self.unprotected)}")
        return "; ".join(parts)


def end_session(
    states: Sequence[BotState],
    *,
    policy: OnStop,
    cycle: TradingCycle,
    broker: Broker,
    uow_factory: UnitOfWorkFactory,
    inbox: EventInbox,
    drain: Callable[[], None],
    now: datetime,
    sleep: Callable[[float], None],
    settle_polls: int = 25,
    poll_seconds: float = 0.2,
) -> SessionEnd:
    """Apply `policy` to the working orders of every bot not halted; then make every position
    rest its protective stop (unless cancel_all). `drain` records what the venue reported."""
    working = [s for s in states if not s.halted]
    cancelled = 0
    if policy is not OnStop.LEAVE:
        for state in working:
            only = None if policy is OnStop.CANCEL_ALL else _replaced_by_stops(state, cycle)
            cancelled += cancel_open_orders(account=state.account, bot=state.name, broker=broker,
                                            uow_factory=uow_factory, now=now, inbox=inbox, only=only,
                                            reason=f"session ended (on_stop = {policy.value})")
    # A venue confirms a cancel later, with what the order filled meanwhile: the stop must be
    # for what is really held, so wait (a few seconds at most) for the confirmations.
    for attempt in range(settle_polls):
        drain()
        if not _pending_cancels(working, uow_factory):
            break
        if attempt + 1 < settle_polls:
            sleep(poll_seconds)
    if policy is not OnStop.CANCEL_ALL:
        for state in working:
            cycle.protect(state, now=now)
        drain()
    protected, unprotected = _protection(states, cycle=cycle, uow_factory=uow_factory)
    return SessionEnd(policy=policy, cancelled=cancelled, unconfirmed=tuple(_pending_cancels(working, uow_factory)),
                      protected=protected, unprotected=unprotected)


def _replaced_by_stops(state: BotState, cycle: TradingCycle) -> Callable[[Order], bool]:
    """The orders cancel_entries cancels: entries, and exits a resting stop takes over from."""
    def replaced(order: Order) -> bool:
        if is_protective(order):
            return False
        return cycle.rests_stops(state, order.symbol) or opens_risk(
            order, held=state.portfolio.position(order.symbol).quantity)
    return replaced


def _pending_cancels(states: Sequence[BotState], uow_factory: UnitOfWorkFactory) -> list[str]:
    with uow_factory() as uow:
        return [o.client_order_id for s in states for o in uow.orders.open_orders(account=s.account, bot=s.name)
                if o.status is OrderStatus.PENDING_CANCEL]


def _protection(states: Sequence[BotState], *, cycle: TradingCycle,
                uow_factory: UnitOfWorkFactory) -> tuple[tuple[str, ...], tuple[str, ...]]:
    protected: list[str] = []
    unprotected: list[str] = []
    with uow_factory() as uow:
        for state in states:
            for symbol in state.spec.instruments:
                position = state.portfolio.position(symbol)
                if position.is_flat or not cycle.rests_stops(state, symbol):
                    continue
                resting = sum(o.remaining_quantity for o in uow.orders.open_orders(
                    account=state.account, bot=state.name, symbol=symbol)
                    if is_protective(o) and o.status is not OrderStatus.PENDING_CANCEL)
                name = f"{state.name}/{symbol}"
                (protected if resting >= abs(position.quantity) else unprotected).append(name)
    return tuple(protected), tuple(unprotected)
