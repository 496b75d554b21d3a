"""The product's limits (base_min_size, quote_min_size, base_max_size) are checked before an
order is sent: the venue would refuse it with a preview failure. Through the real SDK against
the fake venue, which enforces them as Coinbase does."""

from __future__ import annotations

from decimal import Decimal

from domain.orders.events import OrderAccepted, OrderRejected
from domain.orders.order import OrderSide, OrderType
from tests.fakes.coinbase_fixtures import connect, order


def created(fake) -> list[str]:
    return [r.body["client_order_id"] for r in fake.requests if r.op == "create_order"]


def test_an_order_worth_less_than_quote_min_size_is_refused_before_sending_with_the_figures(fake, venue):
    (market,) = venue.broker.submit(order("qs-q1", quantity="0.005"))  # 0.005 x 100 = 0.5 USD
    (limit,) = venue.broker.submit(order("qs-q2", side=OrderSide.SELL, order_type=OrderType.LIMIT,
                                         quantity="0.009", limit="100"))
    assert isinstance(market, OrderRejected) and isinstance(limit, OrderRejected)
    assert market.reason == ("order value 0.005 x last price 100 = 0.5 USD is under BTC-USD's quote_min_size 1 USD "
                             "(the venue refuses it)")
    assert "0.009 x limit 100 = 0.9 USD is under BTC-USD's quote_min_size 1 USD" in limit.reason
    assert created(fake) == []
    assert isinstance(venue.broker.submit(order("qs-q3", quantity="0.01"))[0], OrderAccepted)  # 1 USD: taken


def test_the_fake_venue_refuses_it_as_coinbase_does(fake, venue):
    body = venue.rest.client.create_order(client_order_id="raw-1", product_id="BTC-USD", side="BUY",
                                          order_configuration={"market_market_ioc": {"base_size": "0.005"}})
    answer = body.to_dict()
    assert answer["success"] is False
    assert answer["error_response"]["preview_failure_reason"] == "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"
    assert fake.orders_with("raw-1") == 0


def test_a_market_order_near_the_minimum_is_checked_at_a_fresh_price(fake, venue):
    venue.broker.submit(order("qs-p0", quantity="0.5"))  # caches the product (price 100)
    fake.book.set_price("BTC-USD", "300")
    events = venue.broker.submit(order("qs-p1", quantity="0.004"))  # 0.4 USD at 100, 1.2 USD at 300
    assert isinstance(events[0], OrderAccepted)
    assert created(fake) == ["qs-p0", "qs-p1"]


def test_a_size_over_base_max_size_is_refused(fake, clock):
    fake.book.products["BTC-USD"]["base_max_size"] = "2"
    venue = connect(fake, clock, user_stream=False)
    try:
        (event,) = venue.broker.submit(order("qs-big", quantity="3"))
        assert isinstance(event, OrderRejected) and "over BTC-USD's base_max_size 2" in event.reason
        assert created(fake) == []
        assert Decimal(fake.book.products["BTC-USD"]["quote_min_size"]) == 1
    finally:
        venue.close()
