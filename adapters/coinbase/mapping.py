"""Coinbase wire values -> domain values. Venue wire types never leave this folder.

Every field read goes through `field`/`dec`/`ts`, which turn a missing field or a bad number
into MalformedResponse naming the call and the field (never a KeyError or TypeError).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from adapters.coinbase.http import VENUE, MalformedResponse
from domain.numbers import ZERO
from domain.orders.fill import Fill
from domain.orders.order import OrderSide, OrderStatus

log = logging.getLogger(__name__)
QUOTE_CURRENCIES = ("USD", "USDC", "USDT", "EUR", "GBP")

# Coinbase order status (every value of the API's and the SDK's order status) -> ours.
# QUEUED/PENDING: taken, not yet working; CANCEL_QUEUED: a cancel was accepted but the venue has
# not finished it, so the order can still fill (it is not cancelled until CANCELLED);
# EDIT_QUEUED: an edit is on its way, still working; FAILED: refused after submission.
STATUS_MAP: dict[str, OrderStatus] = {
    "PENDING": OrderStatus.SUBMITTED,
    "QUEUED": OrderStatus.SUBMITTED,
    "OPEN": OrderStatus.ACCEPTED,
    "EDIT_QUEUED": OrderStatus.ACCEPTED,
    "CANCEL_QUEUED": OrderStatus.PENDING_CANCEL,
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.REJECTED,
    # The venue does not know the status: the order exists, nothing is assumed beyond that.
    "UNKNOWN_ORDER_STATUS": OrderStatus.SUBMITTED,
}
# The statuses of an order that can still trade: the open-orders query asks for all of them
# (List Orders takes order_status as a repeated parameter).
LIVE_STATUSES = ("OPEN", "PENDING", "QUEUED", "CANCEL_QUEUED", "EDIT_QUEUED")
# A status this adapter does not know (one the venue adds later) is reported like the venue's
# own UNKNOWN_ORDER_STATUS: the order exists, open, nothing more assumed; never an error that
# would fail a whole listing.
UNKNOWN_STATUS = OrderStatus.SUBMITTED
_unknown_seen: set[str] = set()


def product_id(symbol: str) -> str:
    """"BTC/USD", "btc-usd", "BTC-USD" -> "BTC-USD" (Coinbase's product id)."""
    return symbol.strip().upper().replace("/", "-")


def field(obj: object, name: str, *, what: str) -> object:
    if not isinstance(obj, Mapping) or name not in obj or obj[name] is None:
        raise MalformedResponse(f"{VENUE}: {what}: missing field {name!r}")
    return obj[name]


def text(obj: object, name: str, *, what: str) -> str:
    value = field(obj, name, what=what)
    if not isinstance(value, str):
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not a string")
    return value


def dec(obj: object, name: str, *, what: str, default: Decimal | None = None) -> Decimal:
    if default is not None and (not isinstance(obj, Mapping) or obj.get(name) in (None, "")):
        return default
    value = field(obj, name, what=what)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not a number ({value!r})") from None
    if not result.is_finite():
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not finite")
    return result


def ts(obj: object, name: str, *, what: str) -> datetime:
    value = field(obj, name, what=what)
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        if not isinstance(value, str):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not a time ({value!r})") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def items(obj: object, name: str, *, what: str) -> list[Mapping]:
    """A list of objects; an absent list is empty (the venue omits empty lists)."""
    value = obj.get(name) if isinstance(obj, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise MalformedResponse(f"{VENUE}: {what}: field {name!r} is not a list of objects")
    return value


def status(value: str, *, what: str) -> OrderStatus:
    known = STATUS_MAP.get(value.upper())
    if known is not None:
        return known
    if value not in _unknown_seen:  # said once per status word, not once per order and poll
        _unknown_seen.add(value)
        log.warning("%s: %s: order status %r is unknown to this adapter; the order is reported as open with "
                    "an unknown outcome (%s) until the venue says more", VENUE, what, value, UNKNOWN_STATUS.value)
    return UNKNOWN_STATUS


def is_known_status(value: str) -> bool:
    return value.upper() in STATUS_MAP


def side(value: str, *, what: str) -> OrderSide:
    try:
        return OrderSide(value.lower())
    except ValueError:
        raise MalformedResponse(f"{VENUE}: {what}: unknown side {value!r}") from None


def normalized(quantity: Decimal) -> str:
    """"10", "10.000" and "1E+1" all give "10": the fill id must not depend on formatting."""
    text_form = format(quantity.normalize(), "f")
    return text_form


def fill_id(venue_order_id: str, cumulative: Decimal) -> str:
    """A fill's id: the venue order and the cumulative filled quantity after it. The same
    execution learnt from the websocket or from REST gets the same id, so it counts once."""
    return f"{venue_order_id}:{normalized(cumulative)}"


def cumulative_fills(
    *, rows: Iterable[Mapping], client_ids: Mapping[str, str], symbols: Mapping[str, str], what: str
) -> list[Fill]:
    """REST fills (any orders) -> Fills with cumulative ids: grouped by order, ordered by
    trade_time (then trade_id), cumulative sums. `client_ids` maps venue order id ->
    client_order_id (rows of unknown orders are skipped); `symbols` maps product id -> our symbol."""
    by_order: dict[str, list[Mapping]] = {}
    for row in rows:
        by_order.setdefault(text(row, "order_id", what=what), []).append(row)
    fills: list[Fill] = []
    for order_id, trades in by_order.items():
        client_order_id = client_ids.get(order_id)
        if client_order_id is None:
            continue
        trades.sort(key=lambda r: (ts(r, "trade_time", what=what), str(r.get("trade_id", ""))))
        cumulative = ZERO
        for row in trades:
            price = dec(row, "price", what=what)
            size = dec(row, "size", what=what)
            if row.get("size_in_quote") is True and price > 0:
                size = size / price  # the size is quote currency: convert to base units
            cumulative += size
            product = text(row, "product_id", what=what)
            try:
                fills.append(Fill(
                    fill_id=fill_id(order_id, cumulative), client_order_id=client_order_id,
                    symbol=symbols.get(product, product), side=side(text(row, "side", what=what), what=what),
                    quantity=size, price=price, commission=dec(row, "commission", what=what, default=ZERO),
                    ts=ts(row, "trade_time", what=what),
                    liquidity="maker" if str(row.get("liquidity_indicator", "")).upper() == "MAKER" else "taker",
                ))
            except ValueError as error:
                raise MalformedResponse(f"{VENUE}: {what}: bad fill of order {order_id}: {error}") from None
    fills.sort(key=lambda f: (f.ts, f.fill_id))
    return fills
