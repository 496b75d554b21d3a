"""Alpaca orders, activities and trade updates <-> our orders, states, fills and events."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import attrs

from adapters.alpaca.errors import VENUE, MalformedResponse
from adapters.alpaca.schemas import Payload, fill_id_for
from application.records import VenueOrderState
from domain.numbers import ZERO
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

log = logging.getLogger(__name__)

_S = OrderStatus

# Statuses whose meaning does not depend on how much has filled.
_FIXED = {
    "filled": _S.FILLED,
    "canceled": _S.CANCELLED,
    "expired": _S.EXPIRED,
    "rejected": _S.REJECTED,
    "pending_cancel": _S.PENDING_CANCEL,
    # The order was replaced by a new one (another client_order_id): this one trades no more.
    "replaced": _S.CANCELLED,
}
# Still working at the venue (or parked there): ACCEPTED, or PARTIALLY_FILLED once some filled.
_WORKING = frozenset({
    "new", "accepted", "pending_new", "pending_review", "accepted_for_bidding", "partially_filled",
    "done_for_day", "pending_replace", "stopped", "suspended", "held", "calculated",
})
# Every value of alpaca-py's OrderStatus enum (tests check the two stay equal).
ALPACA_STATUSES = frozenset(_FIXED) | _WORKING


def map_status(status: str, *, filled: Decimal, quantity: Decimal | None, call: str) -> OrderStatus:
    """Every Alpaca order status in our state machine's words.

    pending_review (held for a compliance review), done_for_day, stopped, suspended, held,
    pending_replace: the order still exists and may trade later (or is a parked bracket leg).
    done_for_day is not an end: a gtc order works again the next session. calculated: done
    for the day with settlement figures pending, FILLED when all of it filled.

    A status Alpaca may add later is not an error: the order is still the venue's, so it is
    taken as working (never as ended, which could hide fills to come) and flagged unknown by
    parse_order, so one such order never makes a whole listing unreadable."""
    fixed = _FIXED.get(status)
    if fixed is not None:
        return fixed
    if status == "calculated" and quantity is not None and filled >= quantity:
        return _S.FILLED
    return _S.PARTIALLY_FILLED if filled > 0 else _S.ACCEPTED


_TYPES = {OrderType.MARKET: "market", OrderType.LIMIT: "limit", OrderType.STOP: "stop",
          OrderType.STOP_LIMIT: "stop_limit"}


def is_crypto_symbol(symbol: str) -> bool:
    return "/" in symbol  # Alpaca spells crypto pairs "BTC/USD"


_CENT = Decimal("0.01")
_SUB_PENNY = Decimal("0.0001")
_STOPS = (OrderType.STOP, OrderType.STOP_LIMIT)


def time_in_force(order: Order) -> str:
    """Crypto has no session: gtc. Equity stops (protective stops, the bot's exits) rest gtc,
    so a position keeps its stop overnight and through the next open; Alpaca takes fractional
    orders as day orders only, so a fractional stop stays day (the bot places it again each
    session). Other equity orders are day orders: an entry never rests overnight unseen."""
    if is_crypto_symbol(order.symbol):
        return "gtc"
    whole = order.quantity == order.quantity.to_integral_value()
    return "gtc" if order.order_type in _STOPS and whole else "day"


def sub_penny(price: Decimal, *, up: bool) -> Decimal:
    """An equity price on Alpaca's grid (SEC Rule 612): whole cents at or above $1, $0.0001
    below; rounded `up` or down, never to the nearest (the caller says which way is safe)."""
    tick = _CENT if price >= 1 else _SUB_PENNY
    rounded = price.quantize(tick, rounding=ROUND_CEILING if up else ROUND_FLOOR)
    if tick == _SUB_PENNY and rounded >= 1:  # rounded up onto $1: the cent grid from there
        rounded = rounded.quantize(_CENT, rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return rounded


def wire_price(price: Decimal) -> str:
    """A price as sent: plain digits, no exponent, no trailing zeros ("102.5", not "102.50")."""
    return format(price.normalize(), "f")


def _prices(order: Order) -> tuple[Decimal | None, Decimal | None]:
    """(limit, stop) as sent. Equities are rounded to the sub-penny rule in the direction that
    costs nothing: a buy limit down and a sell limit up (never a worse price than asked); a
    sell stop up and a buy stop down (it triggers no later than asked, so a protective stop
    still protects). Crypto prices go as given (the asset's own increment applies)."""
    limit = order.limit_price if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    stop = order.stop_price if order.order_type in _STOPS else None
    if is_crypto_symbol(order.symbol):
        return limit, stop
    buy = order.side is OrderSide.BUY
    return (None if limit is None else sub_penny(limit, up=not buy),
            None if stop is None else sub_penny(stop, up=not buy))


def order_request(order: Order) -> dict[str, str]:
    """The POST /v2/orders body. Numbers go as strings (Alpaca accepts them): the SDK's request
    models hold floats, and a Decimal quantity or price must reach the venue digit for digit."""
    body = {
        "symbol": order.symbol,
        "qty": format(order.quantity, "f"),
        "side": order.side.value,
        "type": _TYPES[order.order_type],
        "time_in_force": time_in_force(order),
        "client_order_id": order.client_order_id,
    }
    limit, stop = _prices(order)
    if limit is not None:
        body["limit_price"] = wire_price(limit)
    if stop is not None:
        body["stop_price"] = wire_price(stop)
    return body


@attrs.frozen(kw_only=True)
class VenueOrder:
    """The fields of an Alpaca order we use."""

    venue_order_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal | None  # None for notional orders
    filled_quantity: Decimal
    average_price: Decimal | None
    venue_status: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime  # what GET /v2/orders sorts and pages by (after/until)
    commission: Decimal | None = None  # cumulative, what the venue charged the order so far
    venue_type: str = "market"  # market, limit, stop, stop_limit, trailing_stop
    order_class: str = ""  # "", simple, bracket, oto, oco, mleg
    legs: tuple[VenueOrder, ...] = ()  # a bracket/oto parent's exit legs, when the answer carries them

    @property
    def status_known(self) -> bool:
        return self.venue_status in ALPACA_STATUSES

    def state(self) -> VenueOrderState:
        return VenueOrderState(client_order_id=self.client_order_id, venue_order_id=self.venue_order_id,
                               status=self.status, filled_quantity=self.filled_quantity,
                               venue_status=self.venue_status, status_known=self.status_known)


def parse_order(raw: object, *, call: str) -> VenueOrder:
    p = Payload(raw, call=call, what="order")
    side = p.str("side")
    if side not in ("buy", "sell"):
        raise MalformedResponse(f"{VENUE} {call}: field 'side' of the order is {side!r}")
    quantity = p.optional_decimal("qty")
    filled = p.decimal("filled_qty") if p.has("filled_qty") else ZERO
    venue_status = p.str("status")
    if venue_status not in ALPACA_STATUSES:
        log.warning("%s %s: order %s has status %r, which this adapter does not know; taken as still "
                    "working and reported as unknown", VENUE, call, p.raw.get("client_order_id"), venue_status)
    created = p.datetime("created_at")
    raw_legs = p.raw.get("legs")
    if raw_legs is not None and not isinstance(raw_legs, list):
        raise MalformedResponse(f"{VENUE} {call}: field 'legs' of the order is not a list ({raw_legs!r})")
    return VenueOrder(
        venue_order_id=p.str("id"), client_order_id=p.str("client_order_id"), symbol=p.str("symbol"),
        side=OrderSide(side), quantity=quantity, filled_quantity=filled,
        average_price=p.optional_decimal("filled_avg_price"), venue_status=venue_status,
        status=map_status(venue_status, filled=filled, quantity=quantity, call=call),
        created_at=created, updated_at=p.optional_datetime("updated_at") or created,
        submitted_at=p.optional_datetime("submitted_at") or created,
        commission=_commission(p),
        venue_type=p.optional_str("type") or p.optional_str("order_type") or "market",
        order_class=p.optional_str("order_class") or "",
        legs=tuple(parse_order(leg, call=call) for leg in raw_legs or ()),
    )


def _commission(p: Payload) -> Decimal | None:
    value = p.optional_decimal("commission")
    if value is not None and value < 0:
        raise MalformedResponse(f"{VENUE} {p.call}: field 'commission' of the order is negative ({value})")
    return value


@attrs.frozen(kw_only=True)
class Execution:
    """One execution of an order, with the cumulative quantity after it."""

    venue_order_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    cumulative_quantity: Decimal
    price: Decimal
    ts: datetime

    @property
    def fill_id(self) -> str:
        return fill_id_for(self.venue_order_id, self.cumulative_quantity)

    def fill(self, *, client_order_id: str, commission: Decimal = ZERO) -> Fill:
        """`commission`: what the venue charged the order with this execution (the order's
        `commission` grows with its fills; a FILL activity carries none). Regulatory fees
        come apart, as FEE activities."""
        return Fill(fill_id=self.fill_id, client_order_id=client_order_id, symbol=self.symbol, side=self.side,
                    quantity=self.quantity, price=self.price, commission=commission, ts=self.ts)


def _side(p: Payload, name: str = "side") -> OrderSide:
    side = p.str(name)
    # Activities spell short sales "sell_short".
    if side in ("sell", "sell_short"):
        return OrderSide.SELL
    if side == "buy":
        return OrderSide.BUY
    raise MalformedResponse(f"{VENUE} {p.call}: field {name!r} of the {p.what} is {side!r}")


def _positive(p: Payload, name: str) -> Decimal:
    value = p.decimal(name)
    if value <= 0:
        raise MalformedResponse(f"{VENUE} {p.call}: field {name!r} of the {p.what} must be positive, got {value}")
    return value


def execution_from_activity(raw: object, *, call: str) -> Execution:
    """A FILL account activity (it carries qty, cum_qty and price of one execution)."""
    p = Payload(raw, call=call, what="fill activity")
    return Execution(venue_order_id=p.str("order_id"), symbol=p.str("symbol"), side=_side(p),
                     quantity=_positive(p, "qty"), cumulative_quantity=_positive(p, "cum_qty"),
                     price=_positive(p, "price"), ts=p.datetime("transaction_time"))


def execution_from_trade_update(data: Payload, order: VenueOrder) -> Execution:
    """A fill / partial_fill trade update: qty and price of this execution, the order's
    cumulative filled_qty after it."""
    return Execution(venue_order_id=order.venue_order_id, symbol=order.symbol, side=order.side,
                     quantity=_positive(data, "qty"), cumulative_quantity=order.filled_quantity,
                     price=_positive(data, "price"), ts=data.datetime("timestamp"))
