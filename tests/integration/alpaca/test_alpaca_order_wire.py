"""What goes on the wire to Alpaca and what comes back, through the real alpaca-py SDK against
the fake venue: time in force (stops rest gtc where Alpaca allows it), prices on the sub-penny
grid, the venue's commission on fills, and trade updates in binary frames."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from websockets.sync.client import connect

from domain.orders.events import OrderFilled
from domain.orders.order import OrderSide, OrderType
from tests.fakes.alpaca_fixtures import order
from tests.support.events import poll_until

ORDERS = "/v2/orders"
D = Decimal


def _body(fake_alpaca) -> dict:
    return fake_alpaca.requests_to("POST", ORDERS)[-1].body


@pytest.mark.parametrize(("kind", "quantity", "tif"), [
    (OrderType.STOP, "3", "gtc"),  # a protective stop rests overnight and through the open
    (OrderType.STOP_LIMIT, "3", "gtc"),
    (OrderType.STOP, "0.5", "day"),  # Alpaca takes fractional orders as day orders only
    (OrderType.LIMIT, "3", "day"),  # entries never rest overnight unseen
    (OrderType.MARKET, "3", "day"),
])
def test_equity_stops_go_out_good_till_cancelled_unless_fractional(fake_alpaca, alpaca, kind, quantity, tif):
    fake_alpaca.set_price("AAPL", "100")
    limit = "90" if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    stop = "95" if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None
    alpaca.broker.submit(order("qs-tif", side=OrderSide.SELL, quantity=quantity, order_type=kind, limit=limit,
                               stop=stop))

    assert _body(fake_alpaca)["time_in_force"] == tif
    assert fake_alpaca.order("qs-tif").time_in_force == tif


@pytest.mark.parametrize(("side", "kind", "limit", "stop", "wire"), [
    # A sell stop protecting a long rounds up (triggers no later), a buy stop protecting a short down.
    (OrderSide.SELL, OrderType.STOP, None, "95.123", {"stop_price": "95.13"}),
    (OrderSide.BUY, OrderType.STOP, None, "105.129", {"stop_price": "105.12"}),
    # A buy limit rounds down (pays no more), a sell limit up (takes no less).
    (OrderSide.BUY, OrderType.LIMIT, "100.059", None, {"limit_price": "100.05"}),
    (OrderSide.SELL, OrderType.LIMIT, "100.051", None, {"limit_price": "100.06"}),
    # Below $1: four decimals.
    (OrderSide.BUY, OrderType.LIMIT, "0.123456", None, {"limit_price": "0.1234"}),
    (OrderSide.SELL, OrderType.STOP_LIMIT, "0.99991", "0.99995", {"limit_price": "1", "stop_price": "1"}),
    (OrderSide.BUY, OrderType.LIMIT, "100.05", None, {"limit_price": "100.05"}),  # on the grid: unchanged
])
def test_equity_prices_are_rounded_to_the_sub_penny_rule_the_safe_way(fake_alpaca, alpaca, side, kind, limit, stop,
                                                                        wire):
    alpaca.broker.submit(order("qs-tick", symbol="MSFT", side=side, order_type=kind, limit=limit, stop=stop))

    body = _body(fake_alpaca)
    assert {k: body[k] for k in wire} == wire


def test_crypto_prices_are_not_put_on_the_equity_grid(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-btc", symbol="BTC/USD", quantity="0.01", order_type=OrderType.LIMIT,
                               limit="60000.123"))
    assert _body(fake_alpaca)["limit_price"] == "60000.123"


def test_bracket_exits_are_rounded_the_safe_way_too(fake_alpaca, alpaca):
    fake_alpaca.set_price("AAPL", "100")
    alpaca.broker.submit_bracket(order("qs-br"), take_profit=D("110.001"), stop_loss=D("95.001"))
    body = _body(fake_alpaca)
    assert (body["take_profit"], body["stop_loss"]) == ({"limit_price": "110.01"}, {"stop_price": "95.01"})


def test_the_commission_the_venue_charges_is_on_the_fills_once(fake_alpaca, alpaca):
    fake_alpaca.charge_commission(per_share="0.01")
    alpaca.broker.submit(order("qs-fee", quantity="300", order_type=OrderType.LIMIT, limit="10"))
    poll_until(alpaca.broker, lambda seen: fake_alpaca.trading_stream.listening() == 1)
    fake_alpaca.fill("qs-fee", "100", "10")
    fake_alpaca.fill("qs-fee", "200", "10")

    filled = poll_until(alpaca.broker, lambda seen: len([e for e in seen if isinstance(e, OrderFilled)]) == 2, settle=0.2)
    fills = [e.fill for e in filled if isinstance(e, OrderFilled)]

    assert [(f.quantity, f.commission) for f in fills] == [(D(100), D(1)), (D(200), D(2))]
    assert sum(f.commission for f in fills) == fake_alpaca.order("qs-fee").commission == D(3)


def test_the_commission_of_an_order_learnt_over_rest_goes_with_its_fills(fake_alpaca, alpaca):
    fake_alpaca.charge_commission(per_share="0.01")
    fake_alpaca.set_price("AAPL", "10")
    fake_alpaca.drop_streams()  # nothing from the stream
    alpaca.broker.submit(order("qs-rest-fee", quantity="50"))
    # Sent again (a restart): the venue has it filled; its fills are read from the activities.
    events = alpaca.broker.submit(order("qs-rest-fee", quantity="50"))
    fills = [e.fill for e in events if isinstance(e, OrderFilled)]
    assert [(f.quantity, f.commission) for f in fills] == [(D(50), D("0.5"))]


def test_the_trade_updates_stream_speaks_in_binary_frames_like_alpaca(fake_alpaca):
    with connect(fake_alpaca.trading_stream.url) as socket:
        socket.send(json.dumps({"action": "authenticate",
                                "data": {"key_id": fake_alpaca.api_key, "secret_key": fake_alpaca.secret_key}}))
        frame = socket.recv(timeout=5)
    assert isinstance(frame, bytes) and json.loads(frame)["data"]["status"] == "authorized"
