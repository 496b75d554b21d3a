"""Start-up check of orders left open by an earlier run.

The full reconciliation with a venue comes with the durable store work; what is
here keeps the embedded default honest: an order the venue does not know cannot
stay "open" in our records, and an intent that was never sent is not sent late on
an old signal.
"""

from __future__ import annotations

from datetime import datetime

from application.apply_broker_events import apply_broker_events
from application.ports import Broker, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from domain.events import OrderAccepted
from domain.order import OrderStatus


def resolve_open_orders_at_start(
    *, account: str, broker: Broker, uow_factory: UnitOfWorkFactory, now: datetime
) -> int:
    """Returns how many stored orders were closed because the venue does not have them."""
    closed = 0
    with uow_factory() as uow:
        open_orders = uow.orders.open_orders(account=account)
    for order in open_orders:
        venue = broker.find_order(order.client_order_id)
        if venue is not None:
            if order.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
                apply_broker_events(
                    [OrderAccepted(client_order_id=order.client_order_id, venue_order_id=venue.venue_order_id, ts=now)],
                    uow_factory=uow_factory,
                )
            continue
        with uow_factory() as uow:
            stored = uow.orders.get(order.client_order_id)
            if stored is None or stored.status.is_terminal:
                continue
            why = ("intent never confirmed sent; not sent late on an old signal"
                   if stored.status is OrderStatus.INITIALIZED else "the venue has no such order at start-up")
            stored.transition(OrderStatus.CANCELLED, at=now, reason=why)
            uow.orders.save(stored)
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ORDER, severity="warning", account=account, bot=stored.bot,
                symbol=stored.symbol, client_order_id=stored.client_order_id, message=f"order cancelled: {why}",
            ))
            uow.commit()
            closed += 1
    return closed
