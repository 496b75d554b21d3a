"""Alpaca's attached exits: an entry order with a take-profit and a stop-loss leg (order_class
bracket; the two legs are one-cancels-other) or with a stop-loss leg only (order_class oto).

Alpaca creates the legs with the entry, holds them until the entry fills, then works them;
when one leg fills the venue cancels the other. The legs get client_order_ids of Alpaca's
own making: they are reported under those.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from adapters.alpaca.errors import VENUE
from adapters.alpaca.mapping import VenueOrder, is_crypto_symbol, order_request, sub_penny, wire_price
from domain.errors import ConfigurationError
from domain.orders.events import BrokerEvent
from domain.orders.order import Order, OrderSide, OrderType

_STOP_TYPES = frozenset({"stop", "stop_limit"})


@attrs.frozen(kw_only=True)
class BracketSubmission:
    """What submit_bracket learnt: the events of the entry and of its legs (told once, like
    submit's), and the legs' client_order_ids (None: no such leg, or the venue's answer did not
    show the legs; their events then name them when they come)."""

    events: tuple[BrokerEvent, ...]
    take_profit_client_order_id: str | None
    stop_loss_client_order_id: str | None


def bracket_request(order: Order, *, take_profit: Decimal | None, stop_loss: Decimal) -> dict[str, object]:
    """The POST /v2/orders body of an entry with its exit legs. The prices are checked here
    (positive, on the right side of each other and of a limit entry): a bracket the wrong way
    round is a mistake in the caller's input, not something to send and see."""
    where = f"{VENUE} bracket {order.client_order_id}"
    if is_crypto_symbol(order.symbol):
        raise ConfigurationError(f"{where}: Alpaca takes bracket and oto orders for equities only")
    if order.order_type not in (OrderType.MARKET, OrderType.LIMIT):
        raise ConfigurationError(f"{where}: the entry of a bracket is a market or limit order, "
                                 f"not {order.order_type.value}")
    prices = {"stop_loss": stop_loss} | ({} if take_profit is None else {"take_profit": take_profit})
    for name, price in prices.items():
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise ConfigurationError(f"{where}: {name} must be a positive Decimal, got {price!r}")
    # A long entry exits above (take profit) and below (stop loss) its price; a short one the
    # other way round. `sign` turns "above" into "below" for a short.
    sign = 1 if order.side is OrderSide.BUY else -1
    if take_profit is not None and sign * (take_profit - stop_loss) <= 0:
        raise ConfigurationError(f"{where}: take_profit {take_profit} must be "
                                 f"{'above' if sign > 0 else 'below'} stop_loss {stop_loss}")
    entry = order.limit_price if order.order_type is OrderType.LIMIT else None
    if entry is not None:
        if sign * (entry - stop_loss) <= 0:
            raise ConfigurationError(f"{where}: stop_loss {stop_loss} must be "
                                     f"{'below' if sign > 0 else 'above'} the entry limit {entry}")
        if take_profit is not None and sign * (take_profit - entry) <= 0:
            raise ConfigurationError(f"{where}: take_profit {take_profit} must be "
                                     f"{'above' if sign > 0 else 'below'} the entry limit {entry}")
    body: dict[str, object] = dict(order_request(order))
    body["order_class"] = "oto" if take_profit is None else "bracket"
    # The exits trade the other way: for a long, a sell limit and a sell stop, both rounded up
    # to the sub-penny grid (no worse a price, no later a trigger); for a short, both down.
    if take_profit is not None:
        body["take_profit"] = {"limit_price": wire_price(sub_penny(take_profit, up=sign > 0))}
    body["stop_loss"] = {"stop_price": wire_price(sub_penny(stop_loss, up=sign > 0))}
    return body


def leg_ids(parent: VenueOrder) -> tuple[str | None, str | None]:
    """(take-profit leg, stop-loss leg) client_order_ids: the limit leg takes profit, the
    stop (or stop-limit) leg stops the loss."""
    take_profit = next((leg.client_order_id for leg in parent.legs if leg.venue_type == "limit"), None)
    stop_loss = next((leg.client_order_id for leg in parent.legs if leg.venue_type in _STOP_TYPES), None)
    return take_profit, stop_loss
