"""Cancel a bot's (or every bot's) open orders: at a halt, and on the way out."""

from __future__ import annotations

from datetime import datetime

from application.apply_broker_events import apply_broker_events
from application.ports import Broker, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from domain.errors import TransientError
from domain.events import BrokerEvent
from domain.order import OrderStatus


def cancel_open_orders(
    *, account: str, bot: str | None, broker: Broker, uow_factory: UnitOfWorkFactory, now: datetime, reason: str
) -> int:
    """Returns how many orders were asked to cancel. Intents never sent are cancelled here."""
    with uow_factory() as uow:
        orders = uow.orders.open_orders(account=account, bot=bot)
        for order in orders:
            # Never sent: cancelled here. Sent: PENDING_CANCEL keeps the why until the venue confirms.
            if order.status is OrderStatus.INITIALIZED:
                order.transition(OrderStatus.CANCELLED, at=now, reason=reason)
            elif order.status is not OrderStatus.PENDING_CANCEL:
                order.transition(OrderStatus.PENDING_CANCEL, at=now, reason=reason)
            uow.orders.save(order)
        uow.commit()
    events: list[BrokerEvent] = []
    failures: list[str] = []
    for order in orders:
        if order.status is OrderStatus.CANCELLED:
            continue
        try:
            events.extend(broker.cancel(order.client_order_id))
        except TransientError as exc:
            failures.append(f"{order.client_order_id}: {exc}")
    apply_broker_events(events, uow_factory=uow_factory)
    if failures:
        with uow_factory() as uow:
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ERROR, severity="critical", account=account, bot=bot or "",
                message="cancel failed for open orders: " + "; ".join(failures),
            ))
            uow.commit()
    return len(orders)
