"""Start-up check of orders left open by an earlier run.

The full reconciliation with a venue comes with the durable store work; what is
here keeps the embedded default honest: an order the venue does not know cannot
stay "open" in our records, and an intent that was never sent is not sent late on
an old signal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from application.ports import UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, VenueOrderState
from application.trading.apply_broker_events import apply_broker_events
from application.venues.ports import Broker
from domain.errors import TransientError
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderExpired, OrderRejected
from domain.orders.order import Order, OrderStatus


def resolve_open_orders_at_start(
    *, account: str, broker: Broker, uow_factory: UnitOfWorkFactory, now: datetime
) -> int:
    """Returns how many stored orders were closed because the venue does not have them."""
    closed = 0
    with uow_factory() as uow:
        open_orders = uow.orders.open_orders(account=account)
    for order in open_orders:
        if order.status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
            continue  # acknowledged orders are reconciliation's: a missing one there is a mismatch
        venue = broker.find_order(order.client_order_id)
        if venue is not None:
            apply_broker_events(_events_for(order, venue, now=now), uow_factory=uow_factory)
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


def _events_for(order: Order, venue: VenueOrderState, *, now: datetime) -> list[BrokerEvent]:
    """What the venue's view of an order means for ours, as events for the state machine.
    Fills are not invented here: they arrive as fill events (or by reconciliation)."""
    coid = order.client_order_id
    if venue.status is OrderStatus.REJECTED:
        return [OrderRejected(client_order_id=coid, reason="rejected at the venue", ts=now)]
    events: list[BrokerEvent] = []
    if order.status in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED) or order.venue_order_id is None:
        events.append(OrderAccepted(client_order_id=coid, venue_order_id=venue.venue_order_id, ts=now))
    if venue.status is OrderStatus.CANCELLED:
        events.append(OrderCancelled(client_order_id=coid, reason="cancelled at the venue", ts=now))
    elif venue.status is OrderStatus.EXPIRED:
        events.append(OrderExpired(client_order_id=coid, ts=now))
    return events


def resolve_unknown_outcomes(
    *,
    account: str,
    broker: Broker,
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    misses: dict[str, int],
    grace: timedelta = timedelta(seconds=5),
    max_misses: int = 3,
) -> list[Order]:
    """Ask the venue about orders sent without an answer (a timeout, a dropped connection).

    Found: the venue's answer is applied through the state machine. Not found `max_misses`
    times: the order is marked lost (REJECTED) and returned, so the caller can halt and alert.
    Never re-sent: an unknown outcome must not become a second order.
    """
    with uow_factory() as uow:
        waiting = [o for o in uow.orders.open_orders(account=account)
                   if o.status is OrderStatus.SUBMITTED and o.submitted_at is not None and now - o.submitted_at >= grace]
    lost: list[Order] = []
    for order in waiting:
        try:
            venue = broker.find_order(order.client_order_id)
        except TransientError:
            continue  # ask again next time
        if venue is not None:
            misses.pop(order.client_order_id, None)
            apply_broker_events(_events_for(order, venue, now=now), uow_factory=uow_factory)
            continue
        misses[order.client_order_id] = misses.get(order.client_order_id, 0) + 1
        if misses[order.client_order_id] < max_misses:
            continue
        why = f"lost: the venue has no such order after {max_misses} lookups"
        with uow_factory() as uow:
            stored = uow.orders.get(order.client_order_id)
            if stored is None or stored.status is not OrderStatus.SUBMITTED:
                continue
            stored.transition(OrderStatus.REJECTED, at=now, reason=why)
            uow.orders.save(stored)
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ORDER, severity="critical", account=account, bot=stored.bot,
                symbol=stored.symbol, client_order_id=stored.client_order_id, message=f"order {why}",
            ))
            uow.commit()
        misses.pop(order.client_order_id, None)
        lost.append(stored)
    return lost
