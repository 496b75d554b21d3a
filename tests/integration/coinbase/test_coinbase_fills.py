"""What the venue charges, per fill: the streamed order updates say that an order filled and
its cumulative total_fees, never maker or taker; each execution's commission and
liquidity_indicator come from REST List Fills. Through the real SDK against the fake venue
(taker 0.6 %, maker 0.4 %)."""

from __future__ import annotations

from decimal import Decimal

from domain.orders.events import OrderFilled
from domain.orders.order import OrderType
from tests.fakes.coinbase_fixtures import order
from tests.support.events import poll_until

D = Decimal


def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def test_a_streamed_fill_of_a_resting_order_is_a_maker_fill_with_the_venues_commission(fake, venue):
    venue.broker.submit(order("qs-mk", order_type=OrderType.LIMIT, quantity="1", limit="95"))
    poll_until(venue.broker, lambda evs: True)
    vid = venue.broker.find_order("qs-mk").venue_order_id
    fake.book.execute(vid, "0.25", "95", maker=True)
    fake.book.execute(vid, "0.75", "94.5", maker=False)  # the rest taken by a crossing update, say
    got = fills_of(poll_until(venue.broker, lambda evs: len(fills_of(evs)) == 2))
    assert [(f.quantity, f.price, f.commission, f.liquidity) for f in got] == [
        (D("0.25"), D(95), D("0.095"), "maker"), (D("0.75"), D("94.5"), D("0.42525"), "taker")]
    assert [(f.fill_id, f.commission, f.liquidity) for f in venue.broker.fills()] == [
        (f.fill_id, f.commission, f.liquidity) for f in got]


def test_a_market_order_is_a_taker_fill_with_the_venues_commission(fake, venue):
    (fill,) = fills_of(venue.broker.submit(order("qs-tk", quantity="0.5")))
    assert (fill.commission, fill.liquidity) == (D("0.3"), "taker")


def test_when_rest_fills_do_not_answer_the_streamed_fill_is_recorded_with_the_venues_fee_total(fake, venue):
    venue.broker.submit(order("qs-fb", order_type=OrderType.LIMIT, quantity="1", limit="95"))
    poll_until(venue.broker, lambda evs: True)
    vid = venue.broker.find_order("qs-fb").venue_order_id
    fake.fault("fills", "500", times=30)  # List Fills is down (3 attempts a read)
    fake.book.execute(vid, "0.4", "95", maker=True)
    (fill,) = fills_of(poll_until(venue.broker, lambda evs: fills_of(evs)))
    # Derived from the update: its rise in total_fees is what the venue charged; maker or taker unknown.
    assert (fill.fill_id, fill.quantity, fill.price, fill.commission, fill.liquidity) == (
        f"{vid}:0.4", D("0.4"), D(95), D("0.152"), "unknown")
    fake.faults.clear()
    assert fills_of(poll_until(venue.broker, lambda evs: True)) == []  # REST's copy has the same id
