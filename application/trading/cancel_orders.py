"""Cancel a bot's (or every bot's) open orders: at a halt, and again until none is left."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from application.ports import UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.trading.event_inbox import EventInbox
from application.venues.ports import Broker
from domain.errors import TransientError
from domain.orders.order import Order, OrderStatus


FLATTEN = "flatten"  # the strategy name of the exits a breaker sends when it halts a bot


def cancel_open_orders(
    *,
    account: str,
    bot: str | None,
    broker: Broker,
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    reason: str,
    inbox: EventInbox | None = None,
    symbol: str | None = None,
    only: Callable[[Order], bool] | None = None,
) -> int:
    """Ask the venue to cancel every open order; returns how many were open.

    An intent whose send was never confirmed (INITIALIZED) may still be at the venue (sent,
    then the store failed), so the venue is asked before it is closed in our records only.
    Cancelling is idempotent: calling this again re-sends what the venue has not confirmed.
    `symbol` and `only` narrow the selection (one symbol's protective stops, say).
    """
    inbox = inbox if inbox is not None else EventInbox()
    with uow_factory() as uow:
        # A breaker's flattening exits are the halt's own work: they are not cancelled by it.
        orders = [o for o in uow.orders.open_orders(account=account, bot=bot, symbol=symbol)
                  if o.strategy != FLATTEN and (only is None or only(o))]
    failures: list[str] = []
    for order in orders:
        at_venue = True
        if order.status is OrderStatus.INITIALIZED:
            try:
                at_venue = broker.find_order(order.client_order_id) is not None
            except TransientError:
                at_venue = True  # unknown: treat it as live and cancel it at the venue
        with uow_factory() as uow:
            stored = uow.orders.get(order.client_order_id)
            if stored is None or stored.status.is_terminal:
                continue
            if not at_venue:
                stored.transition(OrderStatus.CANCELLED, at=now, reason=reason)
            else:
                if stored.status is OrderStatus.INITIALIZED:
                    stored.transition(OrderStatus.SUBMITTED, at=now, reason="found at the venue")
                if stored.status is not OrderStatus.PENDING_CANCEL:
                    # PENDING_CANCEL keeps the why until the venue confirms.
                    stored.transition(OrderStatus.PENDING_CANCEL, at=now, reason=reason)
            uow.orders.save(stored)
            uow.commit()
        if not at_venue:
            continue
        try:
            inbox.add(broker.cancel(order.client_order_id))
        except TransientError as exc:
            failures.append(f"{order.client_order_id}: {exc}")
    inbox.apply(uow_factory=uow_factory)
    if failures:
        with uow_factory() as uow:
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ERROR, severity="critical", account=account, bot=bot or "",
                message="cancel failed for open orders: " + "; ".join(failures) + " (retried while halted)",
            ))
            uow.commit()
    return len(orders)
