"""Reconciliation: our records against the venue's (orders, fills, positions).

What the venue says happened is adopted through the order state machine (acks,
cancels, expiries, rejections) and fills we missed are backfilled, each in the one
transaction that also moves cash, position and round trip (apply_broker_events).
What cannot be explained that way is a mismatch, named with both sides' figures.
Nothing here halts: the caller decides (it halts the bots and alerts on a mismatch).

Order of the steps matters: acks first (so a backfilled fill finds its order
accepted), then fills, then the venue's terminal statuses (a partly filled order the
venue cancelled takes its fills first, so its cancel finds the venue's final filled
quantity already recorded; fills are recorded whatever the order's status anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, VenueOrderState
from application.trading.apply_broker_events import apply_broker_events
from application.trading.fill_corrections import record_venue_charges
from application.venues.ports import Broker, ChargeSource
from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderStatus

_SENT = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)
_UNACKED = (OrderStatus.INITIALIZED, OrderStatus.SUBMITTED)


@attrs.frozen(kw_only=True)
class ReconciliationReport:
    account: str
    at: datetime
    adopted: list[str] = attrs.field(factory=list, converter=list)  # one line per order whose status we changed
    closed_unsent: list[str] = attrs.field(factory=list, converter=list)  # intents never sent, closed here
    unresolved: list[str] = attrs.field(factory=list, converter=list)  # sent, unanswered, unknown to the venue
    backfilled_fills: int = 0
    mismatches: list[str] = attrs.field(factory=list, converter=list)
    checked_orders: int = 0  # our open orders looked up at the venue
    checked_fills: int = 0  # venue fills compared with ours
    positions: Mapping[str, tuple[Decimal, Decimal]] = attrs.field(factory=dict)  # symbol -> (store, venue)
    charges: list[str] = attrs.field(factory=list, converter=list)  # venue fees recorded by this run

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, object]:
        return {
            "account": self.account, "at": self.at.isoformat(), "ok": self.ok,
            "adopted": list(self.adopted), "closed_unsent": list(self.closed_unsent),
            "unresolved": list(self.unresolved),
            "backfilled_fills": self.backfilled_fills, "mismatches": list(self.mismatches),
            "checked_orders": self.checked_orders, "checked_fills": self.checked_fills,
            "charges": list(self.charges),
            "positions": {s: {"store": str(store), "venue": str(venue)}
                          for s, (store, venue) in sorted(self.positions.items())},
        }


def reconcile(*, account: str, broker: Broker, uow_factory: UnitOfWorkFactory, now: datetime) -> ReconciliationReport:
    """Compare and repair what can be repaired. A TransientError of the venue propagates
    (nothing is concluded from a venue that did not answer)."""
    with uow_factory() as uow:
        ours = uow.orders.open_orders(account=account)
    before = {o.client_order_id: o.status for o in ours}
    # One call for every open order; only the orders it does not list are looked up one by one
    # (venues rate-limit lookups, and this runs every few seconds in a session).
    venue_open = broker.open_orders()
    listed = {v.client_order_id: v for v in venue_open}
    at_venue = {o.client_order_id: listed.get(o.client_order_id) or broker.find_order(o.client_order_id)
                for o in ours}
    mismatches: list[str] = []

    # (a) acknowledgements, and what the venue never got.
    acks: list[BrokerEvent] = [
        OrderAccepted(client_order_id=o.client_order_id, venue_order_id=v.venue_order_id, ts=now)
        for o in ours if (v := at_venue[o.client_order_id]) is not None
        and v.status is not OrderStatus.REJECTED and o.status in _UNACKED
    ]
    apply_broker_events(acks, uow_factory=uow_factory)
    closed: list[str] = []
    unresolved: list[str] = []
    for order in ours:
        if at_venue[order.client_order_id] is not None:
            continue
        if order.status is OrderStatus.INITIALIZED:
            if _close_unsent(order, account=account, uow_factory=uow_factory, now=now):
                closed.append(f"{order.client_order_id} ({order.bot} {order.side.value} {order.quantity} "
                              f"{order.symbol}): intent never sent, closed in our records")
        elif order.status is OrderStatus.SUBMITTED:
            # Sent without an answer (a timeout): the in-flight check asks again and marks it lost
            # after N misses (halting its bot); calling it a mismatch here would halt every bot
            # before that check had its say. At start-up in_flight closes these before we run.
            unresolved.append(f"{order.client_order_id} ({order.bot} {order.symbol}): sent, outcome unknown, "
                              "the venue has no such order (yet); left to the in-flight check")
        elif order.status in _SENT:
            mismatches.append(f"order {order.client_order_id} ({order.bot} {order.side.value} {order.quantity} "
                              f"{order.symbol}): we think it is {order.status.value} (filled "
                              f"{order.filled_quantity}), the venue has no such order")

    # Orders in a status the adapter does not know are read as still working: say so.
    unknown = {v.client_order_id: v for v in [*venue_open, *at_venue.values()] if v is not None and not v.status_known}
    unresolved += [f"venue order {v.client_order_id} ({v.venue_order_id}): status {v.venue_status!r} is unknown to "
                   f"the adapter; taken as still working (filled {v.filled_quantity})" for v in unknown.values()]

    # (b) fills the store missed.
    venue_fills = broker.fills(since=None)
    backfilled, fill_mismatches = _backfill(venue_fills, account=account, uow_factory=uow_factory)
    mismatches += fill_mismatches

    # Fees the venue charged apart from fills (Alpaca's FEE activities), where it reports them.
    charges = (record_venue_charges(broker.charges(since=None), account=account, uow_factory=uow_factory)
               if isinstance(broker, ChargeSource) else [])

    # (a, continued) the venue's terminal statuses, once the fills are in.
    finals: list[BrokerEvent] = []
    for order in ours:
        venue = at_venue[order.client_order_id]
        if venue is not None:
            finals += _final_events(order.client_order_id, venue, now=now)
    apply_broker_events(finals, uow_factory=uow_factory)

    adopted, order_mismatches = _compare_orders(ours, before=before, at_venue=at_venue, broker=broker,
                                                uow_factory=uow_factory)
    mismatches += order_mismatches
    # (c) venue orders we do not know, or think closed.  (d) positions.
    mismatches += _unknown_venue_orders(venue_open, account=account, uow_factory=uow_factory)
    positions, position_mismatches = _compare_positions(broker.positions(), account=account, uow_factory=uow_factory)
    mismatches += position_mismatches

    report = ReconciliationReport(
        account=account, at=now, adopted=adopted, closed_unsent=closed, unresolved=unresolved,
        backfilled_fills=backfilled,
        mismatches=mismatches, checked_orders=len(ours), checked_fills=len(venue_fills), positions=positions,
        charges=charges,
    )
    _audit(report, uow_factory=uow_factory)
    return report


def _close_unsent(order: Order, *, account: str, uow_factory: UnitOfWorkFactory, now: datetime) -> bool:
    why = "intent never sent (the venue has no such order); closed by reconciliation"
    with uow_factory() as uow:
        stored = uow.orders.get(order.client_order_id)
        if stored is None or stored.status is not OrderStatus.INITIALIZED:
            return False
        stored.transition(OrderStatus.CANCELLED, at=now, reason=why)
        uow.orders.save(stored)
        uow.audit.append(AuditEntry(
            ts=now, kind=AuditKind.ORDER, severity="warning", account=account, bot=stored.bot, symbol=stored.symbol,
            client_order_id=stored.client_order_id, message=f"order cancelled: {why}",
        ))
        uow.commit()
    return True


def _backfill(fills: list[Fill], *, account: str, uow_factory: UnitOfWorkFactory) -> tuple[int, list[str]]:
    mismatches: list[str] = []
    missing: list[Fill] = []
    with uow_factory() as uow:
        for fill in fills:
            if uow.fills.exists(fill.fill_id):
                continue
            order = uow.orders.get(fill.client_order_id)
            if order is None or order.account != account:
                mismatches.append(f"venue fill {fill.fill_id}: {fill.side.value} {fill.quantity} {fill.symbol} "
                                  f"@ {fill.price} for order {fill.client_order_id}, which we never intended")
            else:
                missing.append(fill)
    backfilled = 0
    for fill in missing:
        outcome = apply_broker_events([OrderFilled(fill=fill)], uow_factory=uow_factory)
        backfilled += outcome.applied
        if outcome.ignored:
            with uow_factory() as uow:
                order = uow.orders.get(fill.client_order_id)
            ours = f"{order.status.value}, filled {order.filled_quantity} of {order.quantity}" if order else "gone"
            mismatches.append(f"venue fill {fill.fill_id}: {fill.side.value} {fill.quantity} {fill.symbol} "
                              f"@ {fill.price} cannot be applied to order {fill.client_order_id} (ours: {ours})")
    return backfilled, mismatches


def _final_events(client_order_id: str, venue: VenueOrderState, *, now: datetime) -> list[BrokerEvent]:
    if venue.status is OrderStatus.REJECTED:
        return [OrderRejected(client_order_id=client_order_id, reason="rejected at the venue", ts=now)]
    if venue.status is OrderStatus.CANCELLED:
        return [OrderCancelled(client_order_id=client_order_id, reason="cancelled at the venue", ts=now,
                               filled_quantity=venue.filled_quantity)]
    if venue.status is OrderStatus.EXPIRED:
        return [OrderExpired(client_order_id=client_order_id, ts=now, filled_quantity=venue.filled_quantity)]
    return []


def _compare_orders(
    ours: list[Order], *, before: Mapping[str, OrderStatus], at_venue: Mapping[str, VenueOrderState | None],
    broker: Broker, uow_factory: UnitOfWorkFactory,
) -> tuple[list[str], list[str]]:
    """Lines for the orders whose status changed, and the orders that still disagree."""
    adopted: list[str] = []
    mismatches: list[str] = []
    with uow_factory() as uow:
        now_ours = {o.client_order_id: uow.orders.get(o.client_order_id) for o in ours}
    for coid, stored in now_ours.items():
        venue = at_venue[coid]
        if venue is None or stored is None:
            continue
        if not _agree(stored, venue):
            venue = broker.find_order(coid) or venue  # it may have moved on while we looked: ask again
        if stored.status is not before[coid]:
            adopted.append(f"{coid} ({stored.bot} {stored.symbol}): {before[coid].value} -> {stored.status.value} "
                           f"(venue: {venue.status.value}, filled {venue.filled_quantity})")
        if not _agree(stored, venue):
            mismatches.append(f"order {coid} ({stored.bot} {stored.symbol}): ours {stored.status.value} filled "
                              f"{stored.filled_quantity}, venue {venue.status.value} filled {venue.filled_quantity}")
    return adopted, mismatches


def _agree(stored: Order, venue: VenueOrderState) -> bool:
    # Open against open is agreement (a cancel may still be on its way); filled quantities must be equal.
    return stored.status.is_terminal == venue.status.is_terminal and stored.filled_quantity == venue.filled_quantity


def _unknown_venue_orders(venue_open: list[VenueOrderState], *, account: str,
                          uow_factory: UnitOfWorkFactory) -> list[str]:
    mismatches: list[str] = []
    with uow_factory() as uow:
        for venue in venue_open:
            stored = uow.orders.get(venue.client_order_id)
            if stored is None or stored.account != account:
                mismatches.append(f"venue order {venue.client_order_id} ({venue.venue_order_id}, {venue.status.value}, "
                                  f"filled {venue.filled_quantity}) is open at the venue; we never intended it")
            elif stored.status.is_terminal:
                mismatches.append(f"venue order {venue.client_order_id} ({stored.symbol}) is open at the venue "
                                  f"({venue.status.value}, filled {venue.filled_quantity}); ours is "
                                  f"{stored.status.value}, filled {stored.filled_quantity}")
    return mismatches


def _compare_positions(venue: Mapping[str, Decimal], *, account: str,
                       uow_factory: UnitOfWorkFactory) -> tuple[dict[str, tuple[Decimal, Decimal]], list[str]]:
    store: dict[str, Decimal] = {}
    with uow_factory() as uow:
        for _, position, _mark in uow.positions.list(account=account):
            store[position.symbol] = store.get(position.symbol, ZERO) + position.quantity
    positions: dict[str, tuple[Decimal, Decimal]] = {}
    mismatches: list[str] = []
    for symbol in sorted(set(store) | set(venue)):
        ours, theirs = store.get(symbol, ZERO), venue.get(symbol, ZERO)
        positions[symbol] = (ours, theirs)
        if ours != theirs:
            mismatches.append(f"position {symbol}: store {ours}, venue {theirs} (difference {theirs - ours})")
    return positions, mismatches


def _audit(report: ReconciliationReport, *, uow_factory: UnitOfWorkFactory) -> None:
    figures = (f"{report.checked_orders} open order(s) and {report.checked_fills} venue fill(s) checked, "
               f"{report.backfilled_fills} fill(s) backfilled, {len(report.adopted)} order(s) adopted, "
               f"{len(report.closed_unsent)} unsent intent(s) closed, {len(report.unresolved)} unresolved")
    if report.ok:
        entry = AuditEntry(ts=report.at, kind=AuditKind.SESSION, account=report.account,
                           message=f"reconciliation OK: {figures}", data=report.to_json())
    else:
        entry = AuditEntry(ts=report.at, kind=AuditKind.ERROR, severity="critical", account=report.account,
                           message=f"reconciliation MISMATCH ({len(report.mismatches)}): {report.mismatches[0]}; "
                                   f"{figures}", data=report.to_json())
    with uow_factory() as uow:
        uow.audit.append(entry)
        uow.commit()
