"""The simulated venue's matching engine. The backtester uses this same engine, so a
backtest and a paper session of the same bars cannot disagree.

Time comes only from bars and orders: no clock. Orders of a symbol match in submission
order against each bar of that symbol, sharing that bar's volume cap. No event is ever
stamped earlier than the order it is about was created (a live feed delivers a bar a
moment after the order that will fill at its open).

Every action is first worked out on copies, as one VenueChange; a recorder (the
journal), when there is one, writes it durably; only then does memory change. A failed
write raises and leaves the engine exactly as it was.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from adapters.simulated.fees import CommissionModel
from adapters.simulated.fill_model import FillModel, MarketFill
from adapters.simulated.state import LastBar, Rejection, VenueChange, VenueOrder, VenueSnapshot
from application.records import VenueOrderState
from domain.accounting.instrument import AssetClass, Instrument
from domain.accounting.market import Bar
from domain.errors import InvalidMarketData
from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType


class VenueRecorder(Protocol):
    def record(self, change: VenueChange) -> None:
        """Write the change durably, all or nothing; raise when it could not be written."""
        ...


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
        recorder: VenueRecorder | None = None,
        state: VenueSnapshot | None = None,
    ) -> None:
        self._instruments = dict(instruments)
        self._model = fill_model
        self._commissions = dict(commissions)
        self._recorder = recorder
        self._orders: dict[str, VenueOrder] = {}
        self._rejected: dict[str, str] = {}  # remembered so a rejected id never becomes an order later
        self._known: dict[str, None] = {}  # every client_order_id accepted or rejected, first seen first
        self._resting: dict[str, list[str]] = {}  # client_order_ids per symbol, in submission order
        self._last_bar: dict[str, Bar] = {}
        self._capacity: dict[str, Decimal] = {}  # what is left of the last bar's volume cap, per symbol
        self._fills: list[Fill] = []
        self._net: dict[str, Decimal] = {}
        if state is not None:
            self._restore(state)

    # -- orders -------------------------------------------------------------------------

    def submit(self, order: Order) -> list[BrokerEvent]:
        coid = order.client_order_id
        if coid in self._known:
            return []  # idempotent: a known client_order_id never makes a second order
        at = self._stamp(order.symbol, not_before=order.created_at)
        reason = self._rejection(order)
        if reason:
            self._commit(VenueChange(rejected=(Rejection(order=copy.copy(order), reason=reason),), action="reject"))
            return [OrderRejected(client_order_id=coid, reason=reason, ts=at)]
        venue = VenueOrder(
            client_order_id=coid, venue_order_id=_venue_order_id(coid), account=order.account, symbol=order.symbol,
            side=order.side, order_type=order.order_type, quantity=order.quantity, limit_price=order.limit_price,
            stop_price=order.stop_price, created_at=order.created_at,
        )
        events: list[BrokerEvent] = [OrderAccepted(client_order_id=coid, venue_order_id=venue.venue_order_id, ts=at)]
        capacity = self._capacity.get(order.symbol, ZERO)
        if self._model.market_fill is MarketFill.THIS_CLOSE:
            filled, capacity = self._fill_at_last_close(venue, capacity=capacity)
            events.extend(filled)
        last = self._last_bar.get(order.symbol)
        # The symbol's last bar goes with the order: it stamps the order's events and, with
        # THIS_CLOSE, prices its fills; a restarted venue must know it.
        self._commit(VenueChange(
            orders=(venue,), fills=tuple(e.fill for e in events if isinstance(e, OrderFilled)),
            last_bars=(LastBar(bar=last, capacity=capacity),) if last else (), action="submit",
        ))
        return events

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        venue = self._orders.get(client_order_id)
        if venue is None or venue.status.is_terminal:
            return []
        self._commit(VenueChange(orders=(attrs.evolve(venue, status=OrderStatus.CANCELLED),), action="cancel"))
        at = self._stamp(venue.symbol, not_before=venue.created_at)
        return [OrderCancelled(client_order_id=client_order_id, reason="cancelled by request", ts=at)]

    def find(self, client_order_id: str) -> VenueOrderState | None:
        venue = self._orders.get(client_order_id)
        return venue.state() if venue else None

    def open_orders(self) -> list[VenueOrderState]:
        return [o.state() for o in self._orders.values() if not o.status.is_terminal]

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        """Every fill made, oldest first (in the order made when two share a timestamp)."""
        return sorted((f for f in self._fills if since is None or f.ts >= since), key=lambda f: f.ts)

    def positions(self) -> dict[str, Decimal]:
        """Net signed quantity per symbol from every fill; flat symbols are left out."""
        return {symbol: quantity for symbol, quantity in self._net.items() if quantity != 0}

    def known_client_order_ids(self) -> list[str]:
        return list(self._known)

    # -- bars ---------------------------------------------------------------------------

    def on_bar(self, bar: Bar) -> list[BrokerEvent]:
        last = self._last_bar.get(bar.symbol)
        if last is not None and bar.ts <= last.ts:
            raise InvalidMarketData(
                f"{bar.symbol} bar at {bar.ts.isoformat()} is not after the last one ({last.ts.isoformat()}): "
                "the venue never matches on a replayed bar"
            )
        instrument = self._instruments.get(bar.symbol)
        resting = self._resting.get(bar.symbol, [])
        if instrument is None or not resting:
            # Nothing rests on this symbol: the bar changes no order. It is kept in memory
            # only (a journal write per bar would slow accelerated runs down); the next
            # submit of the symbol records it.
            capacity = ZERO if instrument is None else self._model.volume_cap(bar.volume, instrument=instrument)
            self._apply(VenueChange(last_bars=(LastBar(bar=bar, capacity=capacity),)))
            return []
        capacity = self._model.volume_cap(bar.volume, instrument=instrument)
        events: list[OrderFilled] = []
        changed: list[VenueOrder] = []
        for coid in resting:
            original = self._orders[coid]
            venue = attrs.evolve(original)
            # Matched even when the capacity is used up, so a stop the bar reached is elected.
            match = self._match(venue, bar, instrument=instrument)
            if match is not None and capacity > 0:
                price, liquidity = match
                quantity = min(venue.remaining, capacity)
                if liquidity == "taker":  # `price` is the reference: slippage and impact go against the taker
                    price = self._model.taker_price(price, side=venue.side, instrument=instrument,
                                                    quantity=quantity, volume=bar.volume)
                capacity -= quantity
                at = max(bar.ts, venue.created_at)
                events.append(self._fill(venue, quantity=quantity, price=price, liquidity=liquidity, at=at))
            if venue != original:
                changed.append(venue)
        self._commit(VenueChange(orders=tuple(changed), fills=tuple(e.fill for e in events),
                                 last_bars=(LastBar(bar=bar, capacity=capacity),), action="bar"))
        return list(events)

    # -- state --------------------------------------------------------------------------

    def _commit(self, change: VenueChange) -> None:
        """Durably first (when journaled), then in memory: a failed write changes nothing."""
        if self._recorder is not None:
            self._recorder.record(change)
        self._apply(change)

    def _apply(self, change: VenueChange) -> None:
        touched: set[str] = set()
        for venue in change.orders:
            if venue.client_order_id not in self._orders:
                self._known.setdefault(venue.client_order_id, None)
                self._resting.setdefault(venue.symbol, []).append(venue.client_order_id)
            self._orders[venue.client_order_id] = venue
            touched.add(venue.symbol)
        for rejection in change.rejected:
            self._rejected[rejection.order.client_order_id] = rejection.reason
            self._known.setdefault(rejection.order.client_order_id, None)
        for fill in change.fills:
            self._fills.append(fill)
            self._net[fill.symbol] = self._net.get(fill.symbol, ZERO) + fill.signed_quantity
        for last in change.last_bars:
            self._last_bar[last.bar.symbol] = last.bar
            self._capacity[last.bar.symbol] = last.capacity
        for symbol in touched:
            self._resting[symbol] = [c for c in self._resting[symbol] if not self._orders[c].status.is_terminal]

    def _restore(self, state: VenueSnapshot) -> None:
        for coid in state.known:
            self._known[coid] = None
        self._rejected.update(state.rejected)
        self._apply(VenueChange(orders=tuple(attrs.evolve(o) for o in state.orders), fills=tuple(state.fills),
                                last_bars=tuple(state.last_bars.values())))

    # -- internals ----------------------------------------------------------------------

    def _match(self, venue: VenueOrder, bar: Bar, *, instrument: Instrument) -> tuple[Decimal, str] | None:
        """(price, "maker") for a limit, (reference price, "taker") for a market or triggered stop
        (slippage and impact are added once the quantity is known), or None when the bar does
        not reach the order."""
        buy = venue.side is OrderSide.BUY
        if venue.order_type is OrderType.STOP_LIMIT and not venue.triggered:
            stop, limit = venue.stop_price, venue.limit_price
            assert stop is not None and limit is not None
            if buy and bar.high >= stop:
                elected = max(stop, bar.open)
            elif not buy and bar.low <= stop:
                elected = min(stop, bar.open)
            else:
                return None
            venue.triggered = True
            # Elected, it is a limit order: it trades at once only where the bar's election price is
            # within the limit (a maker at that price), otherwise it rests as a limit from the next bar.
            if (buy and elected <= limit) or (not buy and elected >= limit):
                return elected, "maker"
            return None
        if venue.order_type is OrderType.LIMIT or venue.order_type is OrderType.STOP_LIMIT:
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
        return reference, "taker"  # priced by the caller, which knows the fill's quantity

    def _fill_at_last_close(self, venue: VenueOrder, *, capacity: Decimal) -> tuple[list[BrokerEvent], Decimal]:
        """THIS_CLOSE: a market order, or a limit marketable against the last close, takes
        what is left of the last bar's volume cap at once; any rest waits for the next bar.
        Returns the fill events and the capacity left."""
        last = self._last_bar.get(venue.symbol)
        if last is None:
            return [], capacity  # no price seen yet: it rests and fills at the next open
        if venue.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            return [], capacity  # stops rest until a bar reaches them
        limit = venue.limit_price if venue.order_type is OrderType.LIMIT else None
        if limit is not None and (last.close > limit if venue.side is OrderSide.BUY else last.close < limit):
            return [], capacity  # not marketable: it rests, and fills later as a maker
        quantity = min(venue.remaining, capacity)
        if quantity <= 0:
            return [], capacity
        price = self._model.taker_price(last.close, side=venue.side, instrument=self._instruments[venue.symbol],
                                        quantity=quantity, volume=last.volume)
        if limit is not None:  # slippage never takes a limit beyond its limit
            price = min(price, limit) if venue.side is OrderSide.BUY else max(price, limit)
        at = max(last.end, venue.created_at)
        return [self._fill(venue, quantity=quantity, price=price, liquidity="taker", at=at)], capacity - quantity

    def _fill(self, venue: VenueOrder, *, quantity: Decimal, price: Decimal, liquidity: str, at: datetime) -> OrderFilled:
        """Fills `venue`, which must be a copy not yet applied."""
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
        for price in (order.limit_price, order.stop_price):
            if price is not None and (not price.is_finite() or price <= 0 or price % instrument.tick_size != 0):
                return (f"{order.order_type.value} price {price} is not a positive multiple "
                        f"of the tick size {instrument.tick_size}")
        return ""

    def _stamp(self, symbol: str, *, not_before: datetime) -> datetime:
        """The venue's "now": the end of the last bar of the symbol, never before the order."""
        last = self._last_bar.get(symbol)
        return max(last.end, not_before) if last else not_before
