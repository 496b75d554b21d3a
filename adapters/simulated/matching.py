"""The simulated venue's matching engine. The backtester uses this same engine, so a
backtest and a paper session of the same bars cannot disagree.

Time comes only from bars and orders: no clock, no store. Orders of a symbol match
in submission order against each bar of that symbol.
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

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    def state(self) -> VenueOrderState:
        return VenueOrderState(client_order_id=self.client_order_id, venue_order_id=self.venue_order_id,
                               status=self.status, filled_quantity=self.filled)


def _venue_order_id(client_order_id: str) -> str:
    """Derived from the client_order_id, so ids (and the fill ids built on them) stay unique
    across restarts of the venue and identical across runs of the same session."""
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
        self._resting: dict[str, list[_VenueOrder]] = {}
        self._last_bar: dict[str, Bar] = {}
        self._rejected: dict[str, str] = {}

    # -- orders -------------------------------------------------------------------------

    def submit(self, order: Order) -> list[BrokerEvent]:
        coid = order.client_order_id
        if coid in self._orders or coid in self._rejected:
            return []  # idempotent: a known client_order_id never makes a second order
        at = self._now(order.symbol, fallback=order.created_at)
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
        last = self._last_bar.get(order.symbol)
        if last is not None and self._model.market_fill is MarketFill.THIS_CLOSE and self._marketable_now(venue, last):
            price = self._model.taker_price(last.close, side=venue.side, instrument=self._instrument(venue))
            if venue.limit_price is not None:
                price = min(price, venue.limit_price) if venue.side is OrderSide.BUY else max(price, venue.limit_price)
            events.extend(self._fill(venue, quantity=venue.quantity, price=price, liquidity="taker", at=last.end))
        if venue.status is not OrderStatus.FILLED:
            self._resting.setdefault(order.symbol, []).append(venue)
        return events

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        venue = self._orders.get(client_order_id)
        if venue is None or venue.status.is_terminal:
            return []
        venue.status = OrderStatus.CANCELLED
        self._resting[venue.symbol] = [o for o in self._resting.get(venue.symbol, []) if o is not venue]
        at = self._now(venue.symbol, fallback=venue.created_at)
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
        resting = self._resting.get(bar.symbol)
        if not resting:
            return []
        instrument = self._instruments[bar.symbol]
        capacity = self._model.volume_cap(bar.volume, instrument=instrument)
        events: list[BrokerEvent] = []
        for venue in list(resting):
            if capacity <= 0:
                break
            match = self._match(venue, bar)
            if match is None:
                continue
            price, liquidity = match
            quantity = min(venue.remaining, capacity)
            capacity -= quantity
            events.extend(self._fill(venue, quantity=quantity, price=price, liquidity=liquidity, at=bar.ts))
        self._resting[bar.symbol] = [o for o in resting if not o.status.is_terminal]
        return events

    # -- internals ----------------------------------------------------------------------

    def _match(self, venue: _VenueOrder, bar: Bar) -> tuple[Decimal, str] | None:
        """The price and liquidity of a fill on this bar, or None when the bar does not reach the order."""
        instrument = self._instrument(venue)
        buy = venue.side is OrderSide.BUY
        if venue.order_type is OrderType.MARKET:
            return self._model.taker_price(bar.open, side=venue.side, instrument=instrument), "taker"
        if venue.order_type is OrderType.LIMIT:
            limit = venue.limit_price
            assert limit is not None
            if buy and bar.low <= limit:
                return min(limit, bar.open), "maker"  # a gap down through the limit gives the better open
            if not buy and bar.high >= limit:
                return max(limit, bar.open), "maker"
            return None
        stop = venue.stop_price
        assert stop is not None
        if buy and bar.high >= stop:
            return self._model.taker_price(max(stop, bar.open), side=venue.side, instrument=instrument), "taker"
        if not buy and bar.low <= stop:
            return self._model.taker_price(min(stop, bar.open), side=venue.side, instrument=instrument), "taker"
        return None

    def _marketable_now(self, venue: _VenueOrder, last: Bar) -> bool:
        if venue.order_type is OrderType.MARKET:
            return True
        if venue.order_type is OrderType.LIMIT and venue.limit_price is not None:
            return last.close <= venue.limit_price if venue.side is OrderSide.BUY else last.close >= venue.limit_price
        return False

    def _fill(self, venue: _VenueOrder, *, quantity: Decimal, price: Decimal, liquidity: str, at: datetime) -> list[BrokerEvent]:
        venue.fills += 1
        venue.filled += quantity
        venue.status = OrderStatus.FILLED if venue.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        instrument = self._instrument(venue)
        commission = self._commissions[instrument.asset_class].commission(quantity=quantity, price=price, liquidity=liquidity)
        fill = Fill(
            fill_id=f"{venue.venue_order_id}-{venue.fills}", client_order_id=venue.client_order_id,
            symbol=venue.symbol, side=venue.side, quantity=quantity, price=price, commission=commission,
            ts=at, liquidity=liquidity,
        )
        return [OrderFilled(fill=fill)]

    def _rejection(self, order: Order) -> str:
        instrument = self._instruments.get(order.symbol)
        if instrument is None:
            return f"unknown symbol {order.symbol}"
        if order.quantity <= 0:
            return f"quantity must be positive, got {order.quantity}"
        if order.quantity % instrument.lot_size != 0:
            return f"quantity {order.quantity} is not a multiple of the lot size {instrument.lot_size}"
        return ""

    def _instrument(self, venue: _VenueOrder) -> Instrument:
        return self._instruments[venue.symbol]

    def _now(self, symbol: str, *, fallback: datetime) -> datetime:
        last = self._last_bar.get(symbol)
        return last.end if last else fallback
