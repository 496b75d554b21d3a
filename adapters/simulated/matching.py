"""The simulated venue's matching engine. The backtester uses this same engine, so a
backtest and a paper session of the same bars cannot disagree.

Time comes only from bars and orders: no clock, no store. Orders of a symbol match
in submission order against each bar of that symbol, sharing that bar's volume cap.
No event is ever stamped earlier than the order it is about was created (a live
feed delivers a bar a moment after the order that will fill at its open).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from adapters.simulated.fees import CommissionModel
from adapters.simulated.fill_model import FillModel, MarketFill
from application.records import VenueOrderState
from domain.errors import InvalidMarketData
from domain.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.fill import Fill
from domain.instrument import AssetClass, Instrument
from domain.market import Bar
from domain.numbers import ZERO
from domain.order import Order, OrderSide, OrderStatus, OrderType


@attrs.define(kw_only=True)
class _VenueOrder:
    """The venue's own copy: the caller's Order is never mutated here."""

    client_order_id: str
    venue_order_id: str
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


def _venue_order_id(client_order_id: str) -> str:
    """Derived from the client_order_id rather than a counter: a restarted venue would
    count from 1 again, and its fill ids ("SIM-1-1") would collide in the store with the
    previous run's, which the store then drops as duplicates. A hash stays unique across
    restarts and identical across runs of the same session."""
    return "SIM-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:20]


class MatchingEngine:
    def __init__(
        self,
        *,
        instruments: Mapping[str, Instrument],
        fill_model: FillModel,
        commissions: Mapping[AssetClass, CommissionModel],
    ) -> None:
        self._instruments = dict(instruments)
        self._model = fill_model
        self._commissions = dict(commissions)
        self._orders: dict[str, _VenueOrder] = {}
        self._rejected: dict[str, str] = {}  # remembered so a rejected id never becomes an order later
        self._resting: dict[str, list[_VenueOrder]] = {}
        self._last_bar: dict[str, Bar] = {}
        self._capacity: dict[str, Decimal] = {}  # what is left of the last bar's volume cap, per symbol

    # -- orders -------------------------------------------------------------------------

    def submit(self, order: Order) -> list[BrokerEvent]:
        coid = order.client_order_id
        if coid in self._orders or coid in self._rejected:
            return []  # idempotent: a known client_order_id never makes a second order
        at = self._stamp(order.symbol, not_before=order.created_at)
        reason = self._rejection(order)
        if reason:
            self._rejected[coid] = reason
            return [OrderRejected(client_order_id=coid, reason=reason, ts=at)]
        venue = _VenueOrder(
            client_order_id=coid, venue_order_id=_venue_order_id(coid), symbol=order.symbol, side=order.side,
            order_type=order.order_type, quantity=order.quantity, limit_price=order.limit_price,
            stop_price=order.stop_price, created_at=order.created_at,
        )
        self._orders[coid] = venue
        events: list[BrokerEvent] = [OrderAccepted(client_order_id=coid, venue_order_id=venue.venue_order_id, ts=at)]
        if self._model.market_fill is MarketFill.THIS_CLOSE:
            events.extend(self._fill_at_last_close(venue))
        if not venue.status.is_terminal:
            self._resting.setdefault(order.symbol, []).append(venue)
        return events

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        venue = self._orders.get(client_order_id)
        if venue is None or venue.status.is_terminal:
            return []
        venue.status = OrderStatus.CANCELLED
        self._resting[venue.symbol] = [o for o in self._resting.get(venue.symbol, []) if o is not venue]
        at = self._stamp(venue.symbol, not_before=venue.created_at)
        return [OrderCancelled(client_order_id=client_order_id, reason="cancelled by request", ts=at)]

    def find(self, client_order_id: str) -> VenueOrderState | None:
        venue = self._orders.get(client_order_id)
        return venue.state() if venue else None

    def open_orders(self) -> list[VenueOrderState]:
        return [o.state() for o in self._orders.values() if not o.status.is_terminal]

    # -- bars ---------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> list[BrokerEvent]:
        last = self._last_bar.get(bar.symbol)
        if last is not None and bar.ts <= last.ts:
            raise InvalidMarketData(
                f"{bar.symbol} bar at {bar.ts.isoformat()} is not after the last one ({last.ts.isoformat()}): "
                "the venue never matches on a replayed bar"
            )
        self._last_bar[bar.symbol] = bar
        instrument = self._instruments.get(bar.symbol)
        if instrument is None:
            return []  # no order of an unknown symbol can rest here
        capacity = self._model.volume_cap(bar.volume, instrument=instrument)
        resting = self._resting.get(bar.symbol, [])
        events: list[BrokerEvent] = []
        for venue in resting:
            # Matched even when the capacity is used up, so a stop the bar reached is elected.
            match = self._match(venue, bar, instrument=instrument)
            if match is None or capacity <= 0:
                continue
            price, liquidity = match
            quantity = min(venue.remaining, capacity)
            capacity -= quantity
            at = max(bar.ts, venue.created_at)
            events.append(self._fill(venue, quantity=quantity, price=price, liquidity=liquidity, at=at))
        self._capacity[bar.symbol] = capacity
        self._resting[bar.symbol] = [o for o in resting if not o.status.is_terminal]
        return events

    # -- internals ----------------------------------------------------------------------

    def _match(self, venue: _VenueOrder, bar: Bar, *, instrument: Instrument) -> tuple[Decimal, str] | None:
        """The price and liquidity of a fill on this bar, or None when the bar does not reach the order."""
        buy = venue.side is OrderSide.BUY
        if venue.order_type is OrderType.LIMIT:
            limit = venue.limit_price
            assert limit is not None
            # Resting limits are makers at the limit, or at the better open when the bar gaps through.
            if buy and bar.low <= limit:
                return min(limit, bar.open), "maker"
            if not buy and bar.high >= limit:
                return max(limit, bar.open), "maker"
            return None
        reference = bar.open
        if venue.order_type is OrderType.STOP and not venue.triggered:
            stop = venue.stop_price
            assert stop is not None
            if buy and bar.high >= stop:
                reference = max(stop, bar.open)
            elif not buy and bar.low <= stop:
                reference = min(stop, bar.open)
            else:
                return None
            venue.triggered = True
        return self._model.taker_price(reference, side=venue.side, instrument=instrument), "taker"

    def _fill_at_last_close(self, venue: _VenueOrder) -> list[BrokerEvent]:
        """THIS_CLOSE: a market order, or a limit marketable against the last close, takes
        what is left of the last bar's volume cap at once; any rest waits for the next bar."""
        last = self._last_bar.get(venue.symbol)
        if last is None:
            return []  # no price seen yet: it rests and fills at the next open
        if venue.order_type is OrderType.STOP:
            return []  # stops rest until a bar reaches them
        limit = venue.limit_price if venue.order_type is OrderType.LIMIT else None
        if limit is not None and (last.close > limit if venue.side is OrderSide.BUY else last.close < limit):
            return []  # not marketable: it rests, and fills later as a maker
        capacity = self._capacity.get(venue.symbol, ZERO)
        quantity = min(venue.remaining, capacity)
        if quantity <= 0:
            return []
        price = self._model.taker_price(last.close, side=venue.side, instrument=self._instruments[venue.symbol])
        if limit is not None:  # slippage never takes a limit beyond its limit
            price = min(price, limit) if venue.side is OrderSide.BUY else max(price, limit)
        self._capacity[venue.symbol] = capacity - quantity
        at = max(last.end, venue.created_at)
        return [self._fill(venue, quantity=quantity, price=price, liquidity="taker", at=at)]

    def _fill(self, venue: _VenueOrder, *, quantity: Decimal, price: Decimal, liquidity: str, at: datetime) -> OrderFilled:
        venue.fills += 1
        venue.filled += quantity
        venue.status = OrderStatus.FILLED if venue.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        instrument = self._instruments[venue.symbol]
        commission = self._commissions[instrument.asset_class].commission(
            quantity=quantity, price=price, liquidity=liquidity)
        return OrderFilled(fill=Fill(
            fill_id=f"{venue.venue_order_id}-{venue.fills}", client_order_id=venue.client_order_id,
            symbol=venue.symbol, side=venue.side, quantity=quantity, price=price, commission=commission,
            ts=at, liquidity=liquidity,
        ))

    def _rejection(self, order: Order) -> str:
        """Why the venue refuses the order, or "" when it takes it."""
        instrument = self._instruments.get(order.symbol)
        if instrument is None:
            return f"unknown symbol {order.symbol}"
        if instrument.asset_class not in self._commissions:
            return f"no commission model for {instrument.asset_class.value} ({order.symbol})"
        if not order.quantity.is_finite() or order.quantity <= 0:
            return f"quantity must be positive, got {order.quantity}"
        if order.quantity % instrument.lot_size != 0:
            return f"quantity {order.quantity} is not a multiple of the lot size {instrument.lot_size}"
        # Only the price the order type uses is checked; a real venue refuses sub-tick prices.
        price = {OrderType.LIMIT: order.limit_price, OrderType.STOP: order.stop_price}.get(order.order_type)
        if price is not None and (not price.is_finite() or price <= 0 or price % instrument.tick_size != 0):
            return (f"{order.order_type.value} price {price} is not a positive multiple "
                    f"of the tick size {instrument.tick_size}")
        return ""

    def _stamp(self, symbol: str, *, not_before: datetime) -> datetime:
        """The venue's "now": the end of the last bar of the symbol, never before the order."""
        last = self._last_bar.get(symbol)
        return max(last.end, not_before) if last else not_before
