"""Apply what the venue said to our records, through the order state machine.

One transaction per event: the fill row (unique venue fill id), the order, the cash,
the position and the round trip it closes are written together or not at all. A fill
is recorded whatever our copy of the order says; a replayed fill finds its row and
changes nothing; a late status event that would move an order backwards is ignored
and logged, never applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs

from application.log_context import order_fields
from application.ports import UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.trading.fill_corrections import apply_fill_correction
from domain import display
from domain.errors import IllegalTransition
from domain.orders.events import (
    BrokerEvent,
    FillCorrected,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.accounting.portfolio import Portfolio
from domain.orders.order import Order, OrderStatus

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class EventOutcome:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    touched_bots: frozenset[str] = frozenset()
    alerts: tuple[str, ...] = ()  # what a person must hear of (a busted or restated fill)


def apply_broker_events(events: Iterable[BrokerEvent], *, uow_factory: UnitOfWorkFactory) -> EventOutcome:
    counts = {"applied": 0, "duplicate": 0, "ignored": 0, "unknown": 0}
    bots: set[str] = set()
    alerts: list[str] = []
    for event in events:
        with uow_factory() as uow:
            if isinstance(event, FillCorrected):
                # Its own path (application/trading/fill_corrections.py): the fill path stays as it is.
                result, bot, alert = apply_fill_correction(uow, event)
                if alert:
                    alerts.append(alert)
            else:
                result, bot = _apply_one(uow, event)
            uow.commit()
        counts[result] += 1
        if bot:
            bots.add(bot)
    return EventOutcome(
        applied=counts["applied"],
        duplicates=counts["duplicate"],
        ignored=counts["ignored"] + counts["unknown"],
        touched_bots=frozenset(bots),
        alerts=tuple(alerts),
    )


def _apply_one(uow: UnitOfWork, event: BrokerEvent) -> tuple[str, str]:
    """Returns (applied | duplicate | ignored | unknown, the order's bot)."""
    order = uow.orders.get(event.client_order_id)
    if order is None:
        uow.audit.append(AuditEntry(
            ts=event.ts, kind=AuditKind.ERROR, severity="warning",
            client_order_id=event.client_order_id,
            message=f"venue event {type(event).__name__} for an order we never intended; left for reconciliation",
        ))
        return "unknown", ""
    if isinstance(event, OrderFilled):
        return _apply_fill(uow, order, event), order.bot
    if isinstance(event, OrderAccepted) and order.status not in (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED):
        # A late ack (after a fill or a cancel request) moves nothing back; it still tells the venue's id.
        if order.venue_order_id is None:
            order.venue_order_id = event.venue_order_id
            uow.orders.save(order)
        if order.status is OrderStatus.PENDING_CANCEL:
            # The venue cancels asynchronously (Alpaca): its read-back still says accepted while
            # our cancel is on its way. That is the expected race, not a fault worth a warning.
            return "duplicate", order.bot
    try:
        if isinstance(event, OrderAccepted):
            if order.status is OrderStatus.INITIALIZED:
                order.transition(OrderStatus.SUBMITTED, at=event.ts)
            order.transition(OrderStatus.ACCEPTED, at=event.ts)
            order.venue_order_id = event.venue_order_id
        elif isinstance(event, OrderRejected):
            order.transition(OrderStatus.REJECTED, at=event.ts, reason=event.reason)
        elif isinstance(event, OrderCancelled):
            # A cancel we asked for keeps our reason (a halt, say); otherwise the venue's.
            asked = order.status is OrderStatus.PENDING_CANCEL
            order.transition(OrderStatus.CANCELLED, at=event.ts, reason="" if asked else event.reason)
        elif isinstance(event, OrderExpired):
            order.transition(OrderStatus.EXPIRED, at=event.ts, reason="expired")
    except IllegalTransition as exc:
        return _ignore(uow, order, event, exc), order.bot
    uow.orders.save(order)
    if isinstance(event, OrderCancelled | OrderExpired):
        _check_final_quantity(uow, order, event)
    uow.audit.append(AuditEntry(
        ts=event.ts, kind=AuditKind.ORDER, account=order.account, bot=order.bot, symbol=order.symbol,
        client_order_id=order.client_order_id,
        message=f"order {order.status.value}" + (f": {order.reason}" if order.reason else ""),
        severity="warning" if order.status is OrderStatus.REJECTED else "info",
    ))
    # Logged in the event's transaction, which commits right after (a failed commit logs its own error).
    log.log(logging.WARNING if order.status is OrderStatus.REJECTED else logging.INFO, "order %s %s%s",
            order.client_order_id, order.status.value, f": {order.reason}" if order.reason else "",
            extra=order_fields(order))
    return "applied", order.bot


def _check_final_quantity(uow: UnitOfWork, order: Order, event: OrderCancelled | OrderExpired) -> None:
    """The venue's final filled quantity against ours: fewer recorded means fills still on their way."""
    final = event.filled_quantity
    if final is None or final == order.filled_quantity:
        return
    uow.audit.append(AuditEntry(
        ts=event.ts, kind=AuditKind.ORDER, severity="warning", account=order.account, bot=order.bot,
        symbol=order.symbol, client_order_id=order.client_order_id,
        message=(f"the venue reports {final} filled at {order.status.value}, {order.filled_quantity} recorded: "
                 "the missing fills are recorded when they arrive or at the next reconciliation"),
        data={"venue_filled": str(final), "recorded_filled": str(order.filled_quantity)},
    ))


def _ignore(uow: UnitOfWork, order: Order, event: BrokerEvent, exc: IllegalTransition) -> str:
    log.warning("ignored venue event: %s", exc, extra=order_fields(order))
    uow.audit.append(AuditEntry(
        ts=event.ts, kind=AuditKind.ORDER, severity="warning", account=order.account, bot=order.bot,
        symbol=order.symbol, client_order_id=order.client_order_id,
        message=f"ignored {type(event).__name__}: {exc}",
    ))
    return "ignored"


def _apply_fill(uow: UnitOfWork, order: Order, event: OrderFilled) -> str:
    fill = event.fill
    if fill.symbol != order.symbol or fill.side is not order.side:
        return _ignore(uow, order, event, IllegalTransition(
            f"fill {fill.fill_id} is {fill.side.value} {fill.symbol}, the order is {order.side.value} {order.symbol}"))
    if uow.fills.exists(fill.fill_id):
        return "duplicate"
    # A fill is a fact, recorded whatever our copy of the order says (after a cancel
    # request or its ack, out of order, beyond the quantity): positions stay the sum of
    # the venue's fills, and what was unusual is said in the audit trail.
    note = order.apply_fill(quantity=fill.quantity, price=fill.price, at=fill.ts)
    uow.fills.add(fill, account=order.account, bot=order.bot)
    account = uow.accounts.get(account=order.account, bot=order.bot)
    if account is None:
        raise LookupError(f"no account row for {order.account}/{order.bot}")
    position = uow.positions.get(account=order.account, bot=order.bot, symbol=order.symbol)
    portfolio = Portfolio(bot=order.bot, cash=account.cash, positions={order.symbol: position})
    portfolio, update = portfolio.apply_fill(fill)
    uow.accounts.set_cash(account=order.account, bot=order.bot, cash=portfolio.cash)
    uow.positions.upsert(update.position, account=order.account, last_price=fill.price)
    uow.orders.save(order)
    uow.audit.append(AuditEntry(
        ts=fill.ts, kind=AuditKind.FILL, account=order.account, bot=order.bot, symbol=order.symbol,
        client_order_id=order.client_order_id,
        message=(f"filled {fill.side.value} {display.quantity(fill.quantity)} @ {display.price(fill.price)}"
                 f" (commission {display.money(fill.commission)})" + (f"; {note}" if note else "")),
        severity="warning" if note else "info",
        data={"fill_id": fill.fill_id, "quantity": str(fill.quantity), "price": str(fill.price),
              "commission": str(fill.commission), "position": str(update.position.quantity),
              "cash": str(portfolio.cash), "realized_pnl": str(update.realized_pnl)},
    ))
    log.info("order %s filled %s %s %s @ %s (fill %s)", order.client_order_id, fill.side.value, fill.quantity,
             order.symbol, fill.price, fill.fill_id, extra=order_fields(order))
    trip = update.closed_trip
    if trip is not None and uow.trades.add(trip, account=order.account):
        uow.audit.append(AuditEntry(
            ts=fill.ts, kind=AuditKind.TRADE, account=order.account, bot=order.bot, symbol=order.symbol,
            message=f"round trip {trip.direction.value} {trip.quantity}: net P&L {trip.net_pnl:.2f}",
            data={"entry_price": str(trip.entry_price), "exit_price": str(trip.exit_price),
                  "gross_pnl": str(trip.gross_pnl), "commission": str(trip.commission)},
        ))
    return "applied"

