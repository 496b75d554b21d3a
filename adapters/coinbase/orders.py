"""Our Order -> Coinbase's order_configuration, at the product's increments.

Sizes are rounded DOWN to base_increment (never more than asked). Limit prices are rounded to
quote_increment never past the asked limit (a buy rounds down, a sell up); a stop price rounds
away from the market so it never triggers early (a buy stop up, a sell stop down).

The venue's limits are checked before anything is sent, and an order outside them is refused
with the figures in the reason (the venue would refuse it anyway, with a preview failure):
a size under base_min_size after rounding or over base_max_size, and a value (size x price)
under quote_min_size or over quote_max_size. The price is the limit price, or for a market
order the reference price the caller gives (the product's last price); without one the value
is not checked here and the venue decides.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from adapters.coinbase.products import Product
from domain.orders.order import Order, OrderSide, OrderType


class NotSendable(Exception):
    """The order cannot be expressed on Coinbase; the reason is for the OrderRejected."""


def _to_increment(value: Decimal, increment: Decimal, *, up: bool) -> Decimal:
    steps = (value / increment).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (steps * increment).quantize(increment)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _check_value(size: Decimal, price: Decimal | None, product: Product, *, what: str) -> None:
    if price is None:
        return
    value = size * price
    figures = f"{_plain(size)} x {what} {_plain(price)} = {_plain(value)} {product.quote_currency}"
    if value < product.quote_min_size:
        raise NotSendable(f"order value {figures} is under {product.product_id}'s quote_min_size "
                          f"{_plain(product.quote_min_size)} {product.quote_currency} (the venue refuses it)")
    if product.quote_max_size is not None and value > product.quote_max_size:
        raise NotSendable(f"order value {figures} is over {product.product_id}'s quote_max_size "
                          f"{_plain(product.quote_max_size)} {product.quote_currency} (the venue refuses it)")


def order_configuration(order: Order, product: Product, *, limit_ioc: bool = False,
                        reference_price: Decimal | None = None) -> dict[str, dict]:
    if order.order_type is OrderType.STOP:
        raise NotSendable("coinbase has no plain stop order (only stop-limit): the stop is monitored bar by bar")
    size = _to_increment(order.quantity, product.base_increment, up=False)
    if size <= 0 or size < product.base_min_size:
        raise NotSendable(
            f"size {order.quantity} rounds to {size} at base_increment {product.base_increment}, "
            f"under {product.product_id}'s base_min_size {product.base_min_size}")
    if product.base_max_size is not None and size > product.base_max_size:
        raise NotSendable(f"size {_plain(size)} is over {product.product_id}'s base_max_size "
                          f"{_plain(product.base_max_size)}")
    buy = order.side is OrderSide.BUY
    if order.order_type is OrderType.MARKET:
        _check_value(size, reference_price, product, what="last price")
        return {"market_market_ioc": {"base_size": _plain(size)}}
    assert order.limit_price is not None
    limit = _to_increment(order.limit_price, product.quote_increment, up=not buy)
    if limit <= 0:
        raise NotSendable(f"limit price {order.limit_price} rounds to {limit} at quote_increment {product.quote_increment}")
    _check_value(size, limit, product, what="limit")
    if order.order_type is OrderType.LIMIT:
        if limit_ioc:
            return {"sor_limit_ioc": {"base_size": _plain(size), "limit_price": _plain(limit)}}
        return {"limit_limit_gtc": {"base_size": _plain(size), "limit_price": _plain(limit), "post_only": False}}
    assert order.stop_price is not None
    # A buy stop triggers when the price rises to it, a sell stop when it falls to it.
    stop = _to_increment(order.stop_price, product.quote_increment, up=buy)
    return {"stop_limit_stop_limit_gtc": {
        "base_size": _plain(size), "limit_price": _plain(limit), "stop_price": _plain(stop),
        "stop_direction": "STOP_DIRECTION_STOP_UP" if buy else "STOP_DIRECTION_STOP_DOWN",
    }}
