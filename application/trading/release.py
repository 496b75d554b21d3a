"""The last look before an order goes to the venue, serialised with the kill switch.

The intent transaction decides on the switch as it read it; that transaction can be slow
(lock contention, a slow disk) and commit after a halt did. So between the intent's commit
and the send, the switch is read once more in a transaction of its own that takes the
switch's guard (ControlRepository.guard): a halt, resume or breaker committing at that
moment waits for it, and it waits for them. What the venue receives was therefore released
by a transaction that committed before any halt that would have stopped it; a halt that
committed first keeps the order from the venue, and the order is closed, never sent.

The bot's lease (hot standby) is renewed here too: an instance that lost it between the
intent and the send does not send. An operator's stop of the bot (application/trading/bot_runs.py)
that landed meanwhile keeps an entry home as well; exits and protective stops still go.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from application.ports import UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.safety.control import effective_state
from application.safety.lease import LeaseGuard
from application.trading.bot_runs import stopped_detail
from application.trading.ports import DesiredState
from domain.orders.order import Order, OrderStatus
from domain.risk.trading_state import TradingState


@attrs.frozen(kw_only=True)
class Withheld:
    """The order was not sent and is closed: why, and the state that kept it."""

    state: TradingState
    leads: bool
    stopped: bool  # an operator stopped the bot (the trading state may still allow the order)
    reason: str


def release(
    order: Order, *, reduces_risk: bool, uow_factory: UnitOfWorkFactory, lease: LeaseGuard | None, now: datetime
) -> Withheld | None:
    """None: send it now. Otherwise the order is cancelled unsent, audited, and why is returned."""
    with uow_factory() as uow:
        # The lease first: its renewal is a write that may wait on a row lock, and nothing
        # that can wait should sit between the guarded read and the commit.
        leads = lease is None or lease.hold(uow, account=order.account, bot=order.bot)
        uow.control.guard()
        state = effective_state(uow, account=order.account, bot=order.bot)
        run = None if reduces_risk else uow.bot_runs.get(account=order.account, bot=order.bot)
        stopped = run is not None and run.desired is DesiredState.STOPPED
        if leads and state.allows(reduces_risk=reduces_risk) and not stopped:
            uow.commit()
            return None
        if not leads:
            reason = "not sent: this instance lost the bot's lease after the intent was committed"
        elif not state.allows(reduces_risk=reduces_risk):
            reason = f"not sent: trading state {state.value} since the intent was committed"
        else:
            reason = f"not sent: the bot was {stopped_detail(run)} since the intent was committed"  # type: ignore[arg-type]
        stored = uow.orders.get(order.client_order_id)
        if stored is not None and stored.status is OrderStatus.INITIALIZED:
            stored.transition(OrderStatus.CANCELLED, at=now, reason=reason)
            uow.orders.save(stored)
        uow.audit.append(AuditEntry(
            ts=now, kind=AuditKind.ORDER, severity="warning", account=order.account, bot=order.bot,
            symbol=order.symbol, client_order_id=order.client_order_id, message=f"order {reason}",
        ))
        uow.commit()
    return Withheld(state=state, leads=leads, stopped=stopped, reason=reason)
