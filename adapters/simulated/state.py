"""The simulated venue's state, as the matching engine keeps it and the journal records it.

A venue action (a submit, a cancel, a bar) is described by one `VenueChange`: the
journal writes it in one transaction first, then the engine applies it to memory,
so what the venue answered is always what a restarted venue reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from application.records import VenueOrderState
from domain.accounting.market import Bar
from domain.numbers import ZERO
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType


@attrs.define(kw_only=True)
class VenueOrder:
    """The venue's own copy of an accepted order: the caller's Order is never mutated here.

    Changed only on copies (attrs.evolve) until the change is recorded, so a failed
    journal write leaves the engine's order as it was."""

    client_order_id: str
    venue_order_id: str
    account: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    created_at: datetime
    status: OrderStatus = OrderStatus.ACCEPTED
    filled: Decimal = ZERO
    fills: int = 0
    triggered: bool = False  # a stop, once the price reached it, is a market order for good

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    def state(self) -> VenueOrderState:
        return VenueOrderState(client_order_id=self.client_order_id, venue_order_id=self.venue_order_id,
                               status=self.status, filled_quantity=self.filled)


@attrs.frozen(kw_only=True)
class Rejection:
    order: Order  # what the venue was sent (a copy)
    reason: str


@attrs.frozen(kw_only=True)
class LastBar:
    """The last bar the venue saw of a symbol, and what is left of its volume cap."""

    bar: Bar
    capacity: Decimal


@attrs.frozen(kw_only=True)
class VenueChange:
    """Everything one venue action changes. `orders` hold the full state after the action."""

    orders: tuple[VenueOrder, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    fills: tuple[Fill, ...] = ()
    last_bars: tuple[LastBar, ...] = ()
    action: str = ""  # submit, reject, cancel, bar: written to the journal's log


@attrs.frozen(kw_only=True)
class VenueSnapshot:
    """The whole venue, read back from a journal to rebuild an engine."""

    orders: tuple[VenueOrder, ...] = ()  # accepted orders, in submission order
    rejected: Mapping[str, str] = attrs.field(factory=dict)  # client_order_id -> reason
    known: tuple[str, ...] = ()  # every client_order_id accepted or rejected, first seen first
    fills: tuple[Fill, ...] = ()  # in the order they were made
    last_bars: Mapping[str, LastBar] = attrs.field(factory=dict)
