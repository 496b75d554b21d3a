"""A fake venue implementing the Broker port: it records what it got and behaves like
a real venue where it matters to the reliability guarantees.

- idempotent on client_order_id: a second submit of a known id creates nothing and
  returns [] (the call is still recorded in `submits`);
- answers OrderAccepted on submit; fills are scripted by the test (`fill(...)`) and
  come back from poll_events, or at once with `fill_on_submit`;
- `fail_next_submit(created_anyway=...)` raises a TransientError on the next submit,
  optionally after creating the order (a timeout after the venue took it);
- `on_submit` is called with the order before the venue does anything, so a test can
  look into the store at the moment of sending;
- `fills()` and `positions()` answer from what the venue executed (`fill`, `fill_on_submit`),
  never from events pushed raw with `push`, which the venue did not make.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import Clock
from application.records import VenueOrderState
from domain.accounting.instrument import AssetClass
from domain.errors import VenueUnavailable
from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderFilled
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderStatus


@attrs.define
class VenueOrder:
    order: Order  # the copy the venue got
    venue_order_id: str
    status: OrderStatus = OrderStatus.ACCEPTED
    filled_quantity: Decimal = ZERO

    def state(self) -> VenueOrderState:
        return VenueOrderState(client_order_id=self.order.client_order_id, venue_order_id=self.venue_order_id,
                               status=self.status, filled_quantity=self.filled_quantity)


@attrs.define
class _Failure:
    created_anyway: bool
    late_ack: bool
    message: str


class RecordingBroker:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        on_submit: Callable[[Order], None] | None = None,
        fill_on_submit: Callable[[Order], Decimal | None] | None = None,
        commission: Decimal = ZERO,
        stop_orders: bool = True,
    ) -> None:
        self.stop_orders = stop_orders  # whether it rests stop orders (for protective stops)
        self.clock = clock
        self.on_submit = on_submit
        # Price to fill a new order completely at once (None: leave it open).
        self.fill_on_submit = fill_on_submit
        self.commission = commission
        self.submits: list[Order] = []  # every call, duplicates included
        self.cancels: list[str] = []
        self.lookups: list[str] = []  # find_order calls
        self.orders: dict[str, VenueOrder] = {}  # what the venue holds, in creation order
        self._events: list[BrokerEvent] = []
        self._failures: list[_Failure] = []
        self._cancel_failures = 0
        self._fills = 0
        self.executed: list[Fill] = []  # every fill the venue made, in the order made

    # Test controls.

    def fail_next_submit(self, *, created_anyway: bool = False, late_ack: bool = True,
                         message: str = "timeout waiting for the venue") -> None:
        """The next submit raises VenueUnavailable (a TransientError). With created_anyway
        the venue still made the order; with late_ack its ack comes from poll_events."""
        self._failures.append(_Failure(created_anyway=created_anyway, late_ack=late_ack, message=message))

    def fail_next_cancel(self, times: int = 1) -> None:
        """The next `times` cancels raise VenueUnavailable (recorded, nothing cancelled)."""
        self._cancel_failures += times

    def fill(
        self,
        client_order_id: str,
        quantity: Decimal | int | str,
        price: Decimal | int | str,
        ts: datetime,
        fill_id: str | None = None,
        *,
        commission: Decimal | None = None,
    ) -> OrderFilled:
        """Execute part of a resting order; the OrderFilled comes out of poll_events."""
        event = self._execute(client_order_id, Decimal(quantity), Decimal(price), ts, fill_id, commission)
        self._events.append(event)
        return event

    def push(self, *events: BrokerEvent) -> None:
        """Queue raw events (late, duplicated, out of order...) for poll_events."""
        self._events.extend(events)

    @property
    def created(self) -> list[str]:
        """client_order_ids of the orders the venue created, in order."""
        return list(self.orders)

    def submitted_ids(self) -> list[str]:
        return [o.client_order_id for o in self.submits]

    # The Broker port.

    def submit(self, order: Order) -> list[BrokerEvent]:
        got = copy.deepcopy(order)
        self.submits.append(got)
        if self.on_submit is not None:
            self.on_submit(copy.deepcopy(order))
        ts = self._now(order)
        if self._failures:
            failure = self._failures.pop(0)
            if failure.created_anyway and got.client_order_id not in self.orders:
                self._create(got)
                if failure.late_ack:
                    venue = self.orders[got.client_order_id]
                    self._events.append(OrderAccepted(client_order_id=got.client_order_id,
                                                      venue_order_id=venue.venue_order_id, ts=ts))
            raise VenueUnavailable(failure.message)
        if got.client_order_id in self.orders:
            return []  # idempotent: the venue already has this id
        venue = self._create(got)
        events: list[BrokerEvent] = [
            OrderAccepted(client_order_id=got.client_order_id, venue_order_id=venue.venue_order_id, ts=ts)
        ]
        if self.fill_on_submit is not None:
            price = self.fill_on_submit(got)
            if price is not None:
                events.append(self._execute(got.client_order_id, got.quantity, price, ts, None, None))
        return events

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        self.cancels.append(client_order_id)
        if self._cancel_failures:
            self._cancel_failures -= 1
            raise VenueUnavailable("cancel timed out")
        venue = self.orders.get(client_order_id)
        if venue is None or venue.status.is_terminal:
            return []
        venue.status = OrderStatus.CANCELLED
        ts = self.clock.now() if self.clock else (venue.order.updated_at or venue.order.created_at)
        return [OrderCancelled(client_order_id=client_order_id, reason="cancelled on request", ts=ts)]

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        self.lookups.append(client_order_id)
        venue = self.orders.get(client_order_id)
        return None if venue is None else venue.state()

    def open_orders(self) -> list[VenueOrderState]:
        return [v.state() for v in self.orders.values() if not v.status.is_terminal]

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        return self.stop_orders

    def poll_events(self) -> list[BrokerEvent]:
        events, self._events = self._events, []
        return events

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        return sorted((f for f in self.executed if since is None or f.ts >= since), key=lambda f: f.ts)

    def positions(self) -> dict[str, Decimal]:
        net: dict[str, Decimal] = {}
        for fill in self.executed:
            net[fill.symbol] = net.get(fill.symbol, ZERO) + fill.signed_quantity
        return {symbol: quantity for symbol, quantity in net.items() if quantity != 0}

    # Internals.

    def _now(self, order: Order) -> datetime:
        return self.clock.now() if self.clock else (order.updated_at or order.created_at)

    def _create(self, order: Order) -> VenueOrder:
        venue = VenueOrder(order=order, venue_order_id=f"V{len(self.orders) + 1:06d}")
        self.orders[order.client_order_id] = venue
        return venue

    def _execute(
        self, client_order_id: str, quantity: Decimal, price: Decimal, ts: datetime,
        fill_id: str | None, commission: Decimal | None,
    ) -> OrderFilled:
        venue = self.orders.get(client_order_id)
        if venue is None:
            raise KeyError(f"the venue has no order {client_order_id}")
        if venue.status.is_terminal or quantity > venue.order.quantity - venue.filled_quantity:
            raise ValueError(f"order {client_order_id} cannot fill {quantity} ({venue.status.value}, "
                             f"{venue.filled_quantity} of {venue.order.quantity} filled)")
        venue.filled_quantity += quantity
        venue.status = (OrderStatus.FILLED if venue.filled_quantity == venue.order.quantity
                        else OrderStatus.PARTIALLY_FILLED)
        self._fills += 1
        fill = Fill(
            fill_id=fill_id or f"{venue.venue_order_id}-F{self._fills}",
            client_order_id=client_order_id, symbol=venue.order.symbol, side=venue.order.side,
            quantity=quantity, price=Decimal(price),
            commission=self.commission if commission is None else commission, ts=ts,
        )
        self.executed.append(fill)
        return OrderFilled(fill=fill)
