"""The Coinbase Broker through the real coinbase-advanced-py SDK against a loopback fake venue
(HTTPS with a throwaway CA, JWT-checked; ws:// for the streams). No test reaches a real host."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import VenueUnavailable
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.accounting.instrument import AssetClass
from domain.orders.order import OrderSide, OrderStatus, OrderType
from tests.fakes.coinbase_fixtures import connect, order
from tests.support.events import poll_until
from tests.support.waiting import wait_until



def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def created_ids(fake):
    return [r.body["client_order_id"] for r in fake.requests if r.op == "create_order"]


def sent_configs(fake):
    return [r.body["order_configuration"] for r in fake.requests if r.op == "create_order"]


def test_market_buy_is_acked_filled_once_and_rest_fills_carry_the_same_ids(fake, venue):
    events = venue.broker.submit(order("qs-m1", symbol="BTC/USD"))

    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]  # read back at once: it filled
    # 2 subscription acks, the user snapshot, then the order's OPEN and FILLED updates.
    wait_until(lambda: venue.user_stream.received >= 5)
    assert fills_of(poll_until(venue.broker, lambda evs: True)) == []  # the websocket's copy is deduped
    (fill,) = fills_of(events)
    assert (fill.client_order_id, fill.symbol, fill.side, fill.quantity) == ("qs-m1", "BTC/USD", OrderSide.BUY,
                                                                            Decimal("0.5"))
    assert fill.price == Decimal(100) and fill.commission == Decimal("0.3")
    assert sent_configs(fake) == [{"market_market_ioc": {"base_size": "0.5"}}]
    assert [f.fill_id for f in venue.broker.fills()] == [fill.fill_id]
    assert venue.broker.positions() == {"BTC/USD": Decimal("0.5")}
    state = venue.broker.find_order("qs-m1")
    assert state.status is OrderStatus.FILLED and state.filled_quantity == Decimal("0.5")
    assert fake.orders_with("qs-m1") == 1
    assert venue.broker.poll_events() == []


def test_partial_fills_from_the_websocket_and_from_rest_agree_on_ids(fake, venue):
    venue.broker.submit(order("qs-l1", order_type=OrderType.LIMIT, quantity="1", limit="90"))
    (state,) = venue.broker.open_orders()
    assert state.client_order_id == "qs-l1" and state.status is OrderStatus.ACCEPTED
    vid = state.venue_order_id
    fake.book.execute(vid, "0.25", "89")
    fake.book.execute(vid, "0.75", "88")

    ws_fills = fills_of(poll_until(venue.broker, lambda evs: len(fills_of(evs)) == 2))
    rest_fills = venue.broker.fills()

    assert [f.fill_id for f in ws_fills] == [f"{vid}:0.25", f"{vid}:1"]
    assert [(f.fill_id, f.quantity, f.price) for f in ws_fills] == [(f.fill_id, f.quantity, f.price) for f in rest_fills]
    assert sent_configs(fake) == [{"limit_limit_gtc": {"base_size": "1", "limit_price": "90", "post_only": False}}]
    assert venue.broker.open_orders() == []


def test_a_fresh_session_sees_an_already_partly_filled_order_through_rest_ids(fake, clock, venue):
    venue.broker.submit(order("qs-l2", order_type=OrderType.LIMIT, quantity="1", limit="90"))
    vid = venue.broker.find_order("qs-l2").venue_order_id
    fake.book.execute(vid, "0.4", "89")
    fake.book.execute(vid, "0.1", "88")
    second = connect(fake, clock)  # a restarted process: it has never seen this order
    try:
        wait_until(lambda: fake.ws.subscribers("user") == 2)
        fake.book.execute(vid, "0.5", "87")
        got = fills_of(poll_until(second.broker, lambda evs: len(fills_of(evs)) == 3))
        assert [f.fill_id for f in got] == [f"{vid}:0.4", f"{vid}:0.5", f"{vid}:1"]
        assert [f.quantity for f in got] == [Decimal("0.4"), Decimal("0.1"), Decimal("0.5")]
    finally:
        second.close()


def test_limit_ioc_and_stop_limit_configurations(fake, clock):
    ioc = connect(fake, clock, limit_ioc=True, user_stream=False)
    try:
        ioc.broker.submit(order("qs-i1", order_type=OrderType.LIMIT, quantity="0.1", limit="101"))
        ioc.broker.submit(order("qs-s1", side=OrderSide.BUY, order_type=OrderType.STOP_LIMIT, quantity="0.1",
                                limit="111", stop="110.004"))
        assert sent_configs(fake) == [
            {"sor_limit_ioc": {"base_size": "0.1", "limit_price": "101"}},
            {"stop_limit_stop_limit_gtc": {"base_size": "0.1", "limit_price": "111", "stop_price": "110.01",
                                           "stop_direction": "STOP_DIRECTION_STOP_UP"}}]
        assert ioc.broker.find_order("qs-i1").status is OrderStatus.FILLED
        assert ioc.broker.find_order("qs-s1").status is OrderStatus.ACCEPTED
        fake.book.set_price("BTC-USD", "110.5")
        assert ioc.broker.find_order("qs-s1").status is OrderStatus.FILLED
    finally:
        ioc.close()


def test_plain_stop_is_refused_before_sending_and_stops_are_not_rested(fake, venue):
    (event,) = venue.broker.submit(order("qs-st", order_type=OrderType.STOP, stop="90", side=OrderSide.SELL))
    assert isinstance(event, OrderRejected) and "stop" in event.reason
    assert venue.broker.supports_stop_orders(AssetClass.CRYPTO) is False
    assert fake.count("create_order") == 0


def test_sizes_and_prices_are_rounded_to_the_product_increments(fake, venue):
    venue.broker.submit(order("qs-r1", symbol="ETH-USD", order_type=OrderType.LIMIT, quantity="1.23456789",
                              limit="9.999"))
    assert sent_configs(fake) == [{"limit_limit_gtc": {"base_size": "1.2345", "limit_price": "9.99",
                                                       "post_only": False}}]
    (event,) = venue.broker.submit(order("qs-r2", symbol="ETH-USD", quantity="0.00009"))
    assert isinstance(event, OrderRejected) and "base_min_size" in event.reason
    assert created_ids(fake) == ["qs-r1"]


def test_success_false_is_a_rejection_with_its_reason_and_no_trade(fake, venue):
    (event,) = venue.broker.submit(order("qs-big", quantity="5000"))
    assert isinstance(event, OrderRejected) and "INSUFFICIENT_FUND" in event.reason
    assert fake.orders_with("qs-big") == 0
    assert venue.broker.positions() == {}
    assert venue.broker.find_order("qs-big") is None


def test_429_waits_for_the_reset_and_resends_the_same_client_order_id(fake, venue):
    fake.fault("create_order", "429", retry_after=0.05)
    fake.fault("create_order", "429", reset_in=0.05)
    events = venue.broker.submit(order("qs-429"))
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert created_ids(fake) == ["qs-429"] * 3
    assert fake.orders_with("qs-429") == 1
    assert venue.governor.waited_seconds > 0


def test_429_that_does_not_clear_is_not_sent_and_says_so(fake, venue):
    fake.fault("create_order", "429", retry_after=0.01, times=10)
    with pytest.raises(VenueUnavailable, match="rate limited"):
        venue.broker.submit(order("qs-429b"))
    assert fake.orders_with("qs-429b") == 0 and set(created_ids(fake)) == {"qs-429b"}


@pytest.mark.parametrize("kind", ["500_after_create", "slow_after_create", "malformed_after_create"])
def test_unknown_outcome_after_the_venue_created_it_is_resolved_by_lookup(fake, clock, kind):
    broker_venue = connect(fake, clock, timeout=0.5, user_stream=False)
    try:
        fake.fault("create_order", kind, delay=1.0)
        events = broker_venue.broker.submit(order("qs-u1"))
        assert isinstance(events[0], OrderAccepted)
        assert [f.quantity for f in fills_of(events)] == [Decimal("0.5")]  # the market order filled at once
        assert fake.count("create_order") == 1 and fake.orders_with("qs-u1") == 1
        assert fake.count("list_orders") >= 1
    finally:
        broker_venue.close()


def test_server_error_before_creation_raises_unknown_and_a_resubmit_creates_once(fake, venue):
    fake.fault("create_order", "500")
    with pytest.raises(VenueUnavailable, match="outcome unknown"):
        venue.broker.submit(order("qs-5"))
    assert fake.orders_with("qs-5") == 0
    assert venue.broker.find_order("qs-5") is None
    assert isinstance(venue.broker.submit(order("qs-5"))[0], OrderAccepted)
    assert created_ids(fake) == ["qs-5", "qs-5"] and fake.orders_with("qs-5") == 1


def test_malformed_answer_with_lookup_down_is_unknown_then_find_order_resolves(fake, venue):
    fake.fault("create_order", "malformed_after_create")
    fake.fault("list_orders", "500", times=3)
    with pytest.raises(VenueUnavailable):
        venue.broker.submit(order("qs-mal"))
    state = venue.broker.find_order("qs-mal")
    assert state is not None and state.status is OrderStatus.FILLED
    assert fake.orders_with("qs-mal") == 1


@pytest.mark.parametrize("mode", ["existing", "error"])
def test_duplicate_client_order_id_adopts_the_existing_order(fake, clock, venue, mode):
    venue.broker.submit(order("qs-dup"))
    fake.duplicate_mode = mode
    restarted = connect(fake, clock, user_stream=False)  # a new process sends the same intent again
    try:
        events = restarted.broker.submit(order("qs-dup"))
        assert isinstance(events[0], OrderAccepted)
        assert [f.quantity for f in fills_of(events)] == [Decimal("0.5")]
        assert fake.orders_with("qs-dup") == 1
        assert restarted.broker.submit(order("qs-dup")) == []  # known in this session: nothing sent
        assert created_ids(fake) == ["qs-dup", "qs-dup"]
    finally:
        restarted.close()


def test_cancel_open_order_then_cancel_again_and_unknown(fake, venue):
    venue.broker.submit(order("qs-c1", order_type=OrderType.LIMIT, quantity="50", limit="50"))
    # Accepted at once, done a moment later (CANCEL_QUEUED, then CANCELLED): the end comes from the venue.
    answered = venue.broker.cancel("qs-c1")
    events = answered + poll_until(venue.broker, lambda evs: any(isinstance(e, OrderCancelled)
                                                                 for e in answered + evs))
    (event,) = [e for e in events if isinstance(e, OrderCancelled)]
    assert event.filled_quantity == 0
    assert venue.broker.cancel("qs-c1") == []
    assert venue.broker.cancel("qs-never") == []
    assert venue.broker.find_order("qs-c1").status is OrderStatus.CANCELLED
    late = poll_until(venue.broker, lambda evs: True)
    assert not any(isinstance(e, OrderCancelled) for e in late)  # reported once


def test_websocket_drop_while_an_order_fills_emits_the_fill_once_after_reconnect(fake, venue):
    venue.broker.submit(order("qs-ws", order_type=OrderType.LIMIT, quantity="1", limit="95"))
    poll_until(venue.broker, lambda evs: True)
    fake.ws.drop()
    wait_until(lambda: not venue.user_stream.connected.is_set())
    fake.book.set_price("BTC-USD", "94")  # fills while the stream is down: the update is lost
    assert venue.broker.poll_events() == []
    fake.ws.restore()
    got = poll_until(venue.broker, lambda evs: fills_of(evs))
    wait_until(lambda: fake.ws.subscribers("user") == 1)
    got += poll_until(venue.broker, lambda evs: True)
    (fill,) = fills_of(got)
    assert fill.client_order_id == "qs-ws" and fill.quantity == Decimal(1) and fill.price == Decimal(94)
    assert venue.user_stream.connects == 2
    assert [f.fill_id for f in venue.broker.fills()] == [fill.fill_id]


def test_foreign_orders_and_balances_are_reported(fake, venue):
    fake.add_foreign_order(client_order_id="web-ui-1")
    fake.book.set_balance("ETH", "2.5", hold="0.5")
    assert [s.client_order_id for s in venue.broker.open_orders()] == ["web-ui-1"]
    assert venue.broker.positions() == {"ETH-USD": Decimal("3.0")}
    assert venue.broker.find_order("web-ui-1").status is OrderStatus.ACCEPTED


def test_reads_retry_transient_errors_then_name_the_venue_and_call(fake, venue):
    fake.fault("accounts", "500")
    assert venue.broker.positions() == {}
    fake.fault("accounts", "malformed", times=3)
    with pytest.raises(VenueUnavailable, match="coinbase: list accounts failed after 3 attempts.*malformed"):
        venue.broker.positions()


def test_malformed_fields_become_venue_unavailable_naming_the_field(fake, venue):
    venue.broker.submit(order("qs-f1"))
    fake.book.fills[-1]["price"] = "not-a-number"
    with pytest.raises(VenueUnavailable, match="coinbase: list fills.*'price'"):
        venue.broker.fills()


def test_listings_are_read_whole_whatever_the_lookup_bound(fake, clock):
    # Reconciliation compares whole lists: the lookup bound of find_order never cuts a listing.
    for k in range(260):
        fake.add_foreign_order(client_order_id=f"open-{k}")
    venue = connect(fake, clock, user_stream=False, lookup_pages=1)
    try:
        listed = venue.broker.open_orders()
        assert sorted(o.client_order_id for o in listed) == sorted(f"open-{k}" for k in range(260))
        assert fake.count("list_orders") == 2  # two pages of 250
    finally:
        venue.close()


def test_find_order_pages_newest_first_within_a_bound_and_past_it_answers_unknown_not_absent(fake, clock):
    # Coinbase has no client_order_id filter: an order this session did not place is searched
    # for in list_orders pages of 250. Beyond the bound "not found" would be a guess.
    fake.add_foreign_order(client_order_id="old-1")
    for k in range(259):
        fake.add_foreign_order(client_order_id=f"newer-{k}")
    one_page = connect(fake, clock, user_stream=False, lookup_pages=1)
    two_pages = connect(fake, clock, user_stream=False, lookup_pages=2)
    try:
        with pytest.raises(VenueUnavailable, match="coinbase: find order old-1: not among the newest 250 orders"):
            one_page.broker.find_order("old-1")
        assert fake.count("list_orders") == 1
        assert one_page.broker.find_order("newer-258").status is OrderStatus.ACCEPTED  # on the first page
        with pytest.raises(VenueUnavailable):
            one_page.broker.cancel("old-1")  # nothing is cancelled on a guess either
        assert two_pages.broker.find_order("old-1").status is OrderStatus.ACCEPTED
        before = fake.count("list_orders")
        assert two_pages.broker.find_order("never-sent") is None  # the venue's whole list was read
        assert fake.count("list_orders") - before == 2
        assert all(r.query.get("limit") == ["250"] for r in fake.requests if r.op == "list_orders")
    finally:
        one_page.close()
        two_pages.close()
