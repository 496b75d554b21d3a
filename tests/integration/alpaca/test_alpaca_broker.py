"""The Alpaca Broker adapter through the REAL alpaca-py SDK against a loopback fake venue:
orders, the order journal rules under faults, cancels, lookups, fills and positions."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError

from adapters.alpaca import build_alpaca_venue
from application.venues.request_governor import RateLimit, RequestGovernor
from domain.errors import ConfigurationError, VenueUnavailable
from domain.orders.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from domain.accounting.instrument import AssetClass
from domain.orders.order import OrderSide, OrderStatus, OrderType
from tests.fakes.alpaca_fixtures import FAST, WallClock, order
from tests.support.events import events_for, poll_until

ORDERS = "/v2/orders"


def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def test_market_order_is_acknowledged_then_filled_with_the_cumulative_fill_id(fake_alpaca, alpaca):
    fake_alpaca.set_price("AAPL", "190.25")

    events = alpaca.broker.submit(order("qs-market"))

    venue_order = fake_alpaca.order("qs-market")
    assert events == [OrderAccepted(client_order_id="qs-market", venue_order_id=venue_order.id, ts=events[0].ts)]
    body = fake_alpaca.requests_to("POST", ORDERS)[0].body
    assert body == {"symbol": "AAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day",
                    "client_order_id": "qs-market"}
    streamed = poll_until(alpaca.broker, lambda seen: fills_of(seen), settle=0.2)
    (fill,) = fills_of(streamed)
    assert fill.fill_id == f"{venue_order.id}:3"
    assert (fill.quantity, fill.price, fill.commission, fill.side) == (Decimal(3), Decimal("190.25"), 0, OrderSide.BUY)
    assert [f.fill_id for f in alpaca.broker.fills()] == [fill.fill_id]  # REST gives the same id
    assert alpaca.broker.positions() == {"AAPL": Decimal(3)}
    state = alpaca.broker.find_order("qs-market")
    assert (state.status, state.filled_quantity, state.venue_order_id) == (OrderStatus.FILLED, 3, venue_order.id)


@pytest.mark.parametrize(("kind", "limit", "stop", "wire"), [
    (OrderType.LIMIT, "100.05", None, {"type": "limit", "limit_price": "100.05"}),
    (OrderType.STOP, None, "102.5", {"type": "stop", "stop_price": "102.5"}),
    (OrderType.STOP_LIMIT, "103", "102.5", {"type": "stop_limit", "limit_price": "103", "stop_price": "102.5"}),
])
def test_resting_orders_rest_then_fill_when_the_price_reaches_them(fake_alpaca, alpaca, kind, limit, stop, wire):
    fake_alpaca.set_price("MSFT", "101")
    alpaca.broker.submit(order("qs-rest", symbol="MSFT", order_type=kind, limit=limit, stop=stop))

    body = fake_alpaca.requests_to("POST", ORDERS)[0].body
    assert {k: body[k] for k in wire} == wire
    assert [s.client_order_id for s in alpaca.broker.open_orders()] == ["qs-rest"]
    fake_alpaca.set_price("MSFT", "100" if kind is OrderType.LIMIT else "102.75")
    fills = fills_of(poll_until(alpaca.broker, lambda seen: fills_of(seen)))
    assert [f.quantity for f in fills] == [Decimal(3)]
    assert alpaca.broker.open_orders() == []


def test_crypto_orders_are_good_till_cancelled(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-btc", symbol="BTC/USD", quantity="0.0125", order_type=OrderType.LIMIT,
                               limit="60000"))
    body = fake_alpaca.requests_to("POST", ORDERS)[0].body
    assert (body["symbol"], body["qty"], body["time_in_force"], body["limit_price"]) == (
        "BTC/USD", "0.0125", "gtc", "60000")


def test_a_429_waits_for_the_reset_and_resends_the_same_client_order_id(fake_alpaca, alpaca):
    fake_alpaca.rate_limit_next(times=1, reset_in=0.2)

    events = alpaca.broker.submit(order("qs-429"))

    posts = fake_alpaca.requests_to("POST", ORDERS)
    assert [p.body["client_order_id"] for p in posts] == ["qs-429", "qs-429"]
    assert posts[1].at >= math.ceil(posts[0].at + 0.2) - 0.05  # not before the X-RateLimit-Reset second
    assert len(fake_alpaca.book.orders) == 1
    assert isinstance(events[0], OrderAccepted)


def test_a_429_that_persists_raises_venue_unavailable_and_sends_nothing(fake_alpaca):
    venue = build_alpaca_venue(**fake_alpaca.connection(), clock=WallClock(), submit_attempts=2, **FAST)
    try:
        fake_alpaca.rate_limit_next(times=2, reset_in=0.1)
        with pytest.raises(VenueUnavailable, match="rate limited.*not sent"):
            venue.broker.submit(order("qs-429x"))
        assert fake_alpaca.count("POST", ORDERS) == 2
        assert fake_alpaca.book.orders == {}
    finally:
        venue.close()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_after_the_venue_created_the_order_adopts_it(fake_alpaca, alpaca, status):
    fake_alpaca.fail_after_create(status=status)

    events = alpaca.broker.submit(order("qs-5xx"))

    assert fake_alpaca.count("POST", ORDERS) == 1
    assert len(fake_alpaca.book.orders) == 1
    assert events[0] == OrderAccepted(client_order_id="qs-5xx", venue_order_id=fake_alpaca.order("qs-5xx").id,
                                      ts=events[0].ts)
    assert fake_alpaca.count("GET", "/v2/orders:by_client_order_id") >= 1


def test_a_timeout_after_the_venue_created_the_order_adopts_it(fake_alpaca, alpaca):
    fake_alpaca.slow_after_create(seconds=1.5)  # longer than the 0.5 s client timeout

    events = alpaca.broker.submit(order("qs-slow"))

    assert fake_alpaca.count("POST", ORDERS) == 1
    assert [type(e) for e in events[:1]] == [OrderAccepted]
    assert len(fake_alpaca.book.orders) == 1


def test_a_malformed_answer_is_unknown_and_resolved_by_lookup(fake_alpaca, alpaca):
    fake_alpaca.malformed_next()

    events = alpaca.broker.submit(order("qs-garbled"))

    assert isinstance(events[0], OrderAccepted) and fake_alpaca.count("POST", ORDERS) == 1


def test_malformed_answer_and_no_lookup_is_venue_unavailable_then_find_order_resolves_it(fake_alpaca, alpaca):
    fake_alpaca.malformed_next()
    fake_alpaca.fail_next(method="GET", path="/v2/orders:by_client_order_id", status=503, times=3)

    with pytest.raises(VenueUnavailable):
        alpaca.broker.submit(order("qs-unknown"))

    state = alpaca.broker.find_order("qs-unknown")
    assert state is not None and state.status is OrderStatus.ACCEPTED
    assert fake_alpaca.count("POST", ORDERS) == 1


def test_an_error_before_the_venue_created_anything_is_unknown_and_a_resubmit_makes_one_order(fake_alpaca, alpaca):
    fake_alpaca.fail_next(method="POST", path=ORDERS, status=503)

    with pytest.raises(VenueUnavailable, match="outcome unknown"):
        alpaca.broker.submit(order("qs-later"))
    assert fake_alpaca.book.orders == {}

    alpaca.broker.submit(order("qs-later"))
    alpaca.broker.submit(order("qs-later"))
    assert len(fake_alpaca.book.orders) == 1
    assert [p.body["client_order_id"] for p in fake_alpaca.requests_to("POST", ORDERS)] == ["qs-later"] * 3


def test_duplicate_client_order_id_adopts_the_existing_order(fake_alpaca, alpaca):
    existing = fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id="qs-dup", limit_price="10")

    events = alpaca.broker.submit(order("qs-dup", order_type=OrderType.LIMIT, limit="10"))

    assert events == [OrderAccepted(client_order_id="qs-dup", venue_order_id=existing.id, ts=events[0].ts)]
    assert alpaca.broker.submit(order("qs-dup", order_type=OrderType.LIMIT, limit="10")) == []  # told once
    assert len(fake_alpaca.book.orders) == 1


def test_duplicate_of_an_order_that_already_filled_returns_its_fills_from_the_activities(fake_alpaca, alpaca):
    fake_alpaca.set_price("AAPL", "50")
    existing = fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id="qs-done", type="market",
                                             limit_price=None, qty="4")
    fake_alpaca.book.match(existing)

    events = alpaca.broker.submit(order("qs-done", quantity="4"))

    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert events[1].fill.fill_id == f"{existing.id}:4" and events[1].fill.client_order_id == "qs-done"


def test_a_refused_order_is_rejected_with_the_venues_reason(fake_alpaca, alpaca):
    fake_alpaca.reject_next_order("insufficient buying power")

    events = alpaca.broker.submit(order("qs-poor"))

    assert len(events) == 1 and isinstance(events[0], OrderRejected)
    assert "insufficient buying power" in events[0].reason
    assert fake_alpaca.book.orders == {} and alpaca.broker.find_order("qs-poor") is None
    assert alpaca.broker.positions() == {}


def test_an_unknown_symbol_is_rejected(fake_alpaca, alpaca):
    (event,) = alpaca.broker.submit(order("qs-nope", symbol="NOPE"))
    assert isinstance(event, OrderRejected) and "NOPE" in event.reason


def test_cancel_by_client_order_id_and_never_an_exception_for_finished_or_unknown(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-cancel", order_type=OrderType.LIMIT, limit="1.00"))

    events = alpaca.broker.cancel("qs-cancel")

    assert [type(e) for e in events] == [OrderCancelled]
    deletes = fake_alpaca.requests_to("DELETE", f"{ORDERS}/{fake_alpaca.order('qs-cancel').id}")
    assert len(deletes) == 1
    assert alpaca.broker.cancel("qs-cancel") == []
    assert alpaca.broker.cancel("qs-never-sent") == []
    late = events_for(alpaca.broker, seconds=0.3)
    assert not [e for e in late if isinstance(e, OrderCancelled)]  # the stream's cancel is not told twice


@pytest.mark.parametrize("status", [404, 422])
def test_cancel_answered_already_done_gives_no_event_and_no_exception(fake_alpaca, alpaca, status):
    alpaca.broker.submit(order("qs-raced", order_type=OrderType.LIMIT, limit="1.00"))
    path = f"{ORDERS}/{fake_alpaca.order('qs-raced').id}"
    fake_alpaca.fail_next(method="DELETE", path=path, status=status)

    assert alpaca.broker.cancel("qs-raced") == []


def test_find_order_of_an_unknown_id_is_none(alpaca):
    assert alpaca.broker.find_order("qs-unknown-id") is None


def test_foreign_orders_and_positions_are_reported(fake_alpaca, alpaca):
    foreign = fake_alpaca.add_foreign_order(symbol="SPY", side="sell", qty="2", limit_price="999")
    fake_alpaca.set_position("SPY", "-5", "500")
    fake_alpaca.set_position("MSFT", "1.5", "400")

    (state,) = alpaca.broker.open_orders()

    assert (state.client_order_id, state.venue_order_id, state.status) == (
        foreign.client_order_id, foreign.id, OrderStatus.ACCEPTED)
    assert alpaca.broker.positions() == {"SPY": Decimal(-5), "MSFT": Decimal("1.5")}


def test_partial_fills_get_cumulative_ids_from_the_stream_and_from_rest_alike(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-parts", quantity="5", order_type=OrderType.LIMIT, limit="10"))
    for qty, price in (("1", "9.5"), ("1.5", "9.75"), ("2.5", "10")):
        fake_alpaca.fill("qs-parts", qty, price)

    # Fills made before the stream listened come from the REST resync, later ones from the stream:
    # the emission order may differ (the application adds fills up in any order), the ids may not.
    streamed = sorted(fills_of(poll_until(alpaca.broker, lambda seen: len(fills_of(seen)) == 3, settle=0.2)),
                      key=lambda f: Decimal(f.fill_id.rsplit(":", 1)[1]))

    venue_id = fake_alpaca.order("qs-parts").id
    assert [f.fill_id for f in streamed] == [f"{venue_id}:1", f"{venue_id}:2.5", f"{venue_id}:5"]
    assert [(f.quantity, f.price) for f in streamed] == [
        (Decimal(1), Decimal("9.5")), (Decimal("1.5"), Decimal("9.75")), (Decimal("2.5"), Decimal(10))]
    assert [f.fill_id for f in alpaca.broker.fills()] == [f.fill_id for f in streamed]


def test_fills_read_every_page_of_activities_and_honour_since(fake_alpaca, alpaca):
    fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id="qs-many", qty="230", limit_price="10")
    for _ in range(230):
        fake_alpaca.fill("qs-many", "1", "10")

    fills = alpaca.broker.fills()

    assert len(fills) == 230 and len({f.fill_id for f in fills}) == 230
    assert fake_alpaca.count("GET", "/v2/account/activities/FILL") == 3  # pages of 100
    assert all(f.client_order_id == "qs-many" for f in fills)
    since = fills[200].ts
    assert [f.fill_id for f in alpaca.broker.fills(since=since)] == [f.fill_id for f in fills if f.ts >= since]


def test_venue_cancels_and_expiries_arrive_as_events(fake_alpaca, alpaca):
    for coid in ("qs-c", "qs-e"):
        alpaca.broker.submit(order(coid, order_type=OrderType.LIMIT, limit="1"))
    fake_alpaca.cancel("qs-c")
    fake_alpaca.expire("qs-e")

    events = poll_until(alpaca.broker,
                        lambda seen: len([e for e in seen if isinstance(e, (OrderCancelled, OrderExpired))]) == 2)

    assert {(type(e), e.client_order_id) for e in events if not isinstance(e, OrderAccepted)} == {
        (OrderCancelled, "qs-c"), (OrderExpired, "qs-e")}


def test_reads_retry_transient_errors_then_give_up_naming_the_venue_and_call(fake_alpaca, alpaca):
    fake_alpaca.set_position("AAPL", "2", "100")
    fake_alpaca.fail_next(method="GET", path="/v2/positions", status=503, times=2)
    assert alpaca.broker.positions() == {"AAPL": Decimal(2)}

    fake_alpaca.fail_next(method="GET", path="/v2/positions", status=502, times=3)
    with pytest.raises(VenueUnavailable, match="alpaca positions"):
        alpaca.broker.positions()
    assert fake_alpaca.count("GET", "/v2/positions") == 6


def test_a_malformed_read_is_venue_unavailable_naming_the_field(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-x", order_type=OrderType.LIMIT, limit="1"))
    fake_alpaca.malformed_next(method="GET", path="/v2/orders", times=3)
    with pytest.raises(VenueUnavailable, match="alpaca open_orders"):
        alpaca.broker.open_orders()
    fake_alpaca.account_fields = {"cash": "lots"}
    with pytest.raises(VenueUnavailable, match="'cash'"):
        alpaca.account.account()


def test_wrong_keys_are_a_configuration_error(fake_alpaca):
    venue = build_alpaca_venue(**(fake_alpaca.connection() | {"secret_key": "wrong"}), clock=WallClock(), **FAST)
    try:
        with pytest.raises(ConfigurationError, match="401"):
            venue.broker.positions()
        permissions = venue.account.permissions()
        assert not permissions.can_read and not permissions.can_trade
    finally:
        venue.close()


def test_a_burst_of_submits_never_exceeds_the_configured_rate_at_the_venue(fake_alpaca):
    governor = RequestGovernor(limit=RateLimit(requests=4, per_seconds=0.5, headroom=1.0))
    venue = build_alpaca_venue(**fake_alpaca.connection(), clock=WallClock(), governor=governor, **FAST)
    try:
        for n in range(10):
            venue.broker.submit(order(f"qs-burst-{n}", order_type=OrderType.LIMIT, limit="1"))
    finally:
        venue.close()
    arrivals = sorted(r.at for r in fake_alpaca.requests)
    assert len(fake_alpaca.requests_to("POST", ORDERS)) == 10
    # Any 0.45 s window (the 0.5 s window less loopback jitter) holds at most 4 requests.
    assert max(sum(1 for t in arrivals if start <= t < start + 0.45) for start in arrivals) <= 4


def test_stop_orders_rest_at_alpaca_for_equities(alpaca):
    assert alpaca.broker.supports_stop_orders(AssetClass.EQUITY) is True
    assert alpaca.broker.supports_stop_orders(AssetClass.CRYPTO) is False


def test_open_orders_reads_every_page_and_loses_no_order_sharing_a_submission_time(fake_alpaca, alpaca):
    placed = [fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id=f"web-{n}") for n in range(1203)]
    base = datetime(2024, 3, 5, 15, 0, tzinfo=timezone.utc)
    with fake_alpaca.book.lock:
        for n, venue_order in enumerate(placed):
            # Seven orders per instant, instants 0.3 ms apart: page ends fall inside a group.
            venue_order.created_at = base + timedelta(microseconds=300 * (n // 7))
    fake_alpaca.cancel("web-3")  # closed: not listed

    states = alpaca.broker.open_orders()

    ids = [s.client_order_id for s in states]
    assert len(ids) == len(set(ids)) == 1202
    assert set(ids) == {f"web-{n}" for n in range(1203)} - {"web-3"}
    pages = fake_alpaca.requests_to("GET", ORDERS)
    assert 3 <= len(pages) <= 4
    assert all((p.query["status"], p.query["limit"], p.query["direction"]) == ("open", "500", "asc") for p in pages)
    assert "after" not in pages[0].query and all("after" in p.query for p in pages[1:])


def test_the_fake_lists_orders_as_alpaca_does(fake_alpaca, alpaca):
    first = fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id="web-a")
    second = fake_alpaca.add_foreign_order(symbol="AAPL", client_order_id="web-b")
    client = alpaca.broker._client
    newest_first = client.get("/orders", {"status": "open", "limit": 1})
    assert [o["id"] for o in newest_first] == [second.id]
    after = client.get("/orders", {"status": "open", "direction": "asc", "after": first.created_at.isoformat()})
    assert [o["id"] for o in after] == [second.id]  # `after` is exclusive
    until = client.get("/orders", {"status": "open", "until": second.created_at.isoformat()})
    assert [o["id"] for o in until] == [first.id]  # so is `until`
    with pytest.raises(APIError, match="max 500"):
        client.get("/orders", {"status": "open", "limit": 501})


def test_a_bracket_entry_fills_then_the_stop_leg_fills_and_the_take_profit_leg_is_cancelled(fake_alpaca, alpaca):
    fake_alpaca.set_price("AAPL", "100")

    placed = alpaca.broker.submit_bracket(order("qs-bracket"), take_profit=Decimal("110"), stop_loss=Decimal("95"))

    body = fake_alpaca.requests_to("POST", ORDERS)[0].body
    assert body == {"symbol": "AAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day",
                    "client_order_id": "qs-bracket", "order_class": "bracket",
                    "take_profit": {"limit_price": "110"}, "stop_loss": {"stop_price": "95"}}
    entry = fake_alpaca.order("qs-bracket")
    take_profit, stop_loss = entry.legs
    assert (take_profit.type, stop_loss.type) == ("limit", "stop")
    assert (placed.take_profit_client_order_id, placed.stop_loss_client_order_id) == (
        take_profit.client_order_id, stop_loss.client_order_id)
    assert {e.client_order_id for e in placed.events if isinstance(e, OrderAccepted)} == {
        "qs-bracket", take_profit.client_order_id, stop_loss.client_order_id}

    entered = poll_until(alpaca.broker, lambda seen: fills_of(seen))
    fake_alpaca.set_price("AAPL", "94")  # falls through the stop
    exited = poll_until(alpaca.broker, lambda seen: len(fills_of(seen)) == 1 and any(
        isinstance(e, OrderCancelled) for e in seen), settle=0.3)

    events = list(placed.events) + entered + exited
    assert [(f.client_order_id, f.side, f.quantity, f.price) for f in fills_of(events)] == [
        ("qs-bracket", OrderSide.BUY, Decimal(3), Decimal(100)),
        (stop_loss.client_order_id, OrderSide.SELL, Decimal(3), Decimal(94))]
    assert fills_of(events)[1].fill_id == f"{stop_loss.id}:3"
    assert [e.client_order_id for e in events if isinstance(e, OrderCancelled)] == [take_profit.client_order_id]
    acks = [e.client_order_id for e in events if isinstance(e, OrderAccepted)]
    assert sorted(acks) == sorted({"qs-bracket", take_profit.client_order_id, stop_loss.client_order_id})
    assert alpaca.broker.find_order(stop_loss.client_order_id).status is OrderStatus.FILLED
    assert alpaca.broker.find_order(take_profit.client_order_id).status is OrderStatus.CANCELLED
    assert alpaca.broker.positions() == {} and alpaca.broker.open_orders() == []
    assert {f.client_order_id for f in alpaca.broker.fills()} == {"qs-bracket", stop_loss.client_order_id}


def test_a_server_error_after_the_venue_created_a_bracket_adopts_the_one_entry(fake_alpaca, alpaca):
    fake_alpaca.fail_after_create(status=503)

    placed = alpaca.broker.submit_bracket(order("qs-bracket-5xx", order_type=OrderType.LIMIT, limit="50"),
                                          take_profit=Decimal("60"), stop_loss=Decimal("45"))
    again = alpaca.broker.submit_bracket(order("qs-bracket-5xx", order_type=OrderType.LIMIT, limit="50"),
                                         take_profit=Decimal("60"), stop_loss=Decimal("45"))

    assert fake_alpaca.count("POST", ORDERS) == 2  # the second answered "client_order_id must be unique"
    entries = [o for o in fake_alpaca.book.orders.values() if o.parent is None]
    assert [o.client_order_id for o in entries] == ["qs-bracket-5xx"]
    entry = entries[0]
    assert placed.events[0] == OrderAccepted(client_order_id="qs-bracket-5xx", venue_order_id=entry.id,
                                             ts=placed.events[0].ts)
    assert (placed.take_profit_client_order_id, placed.stop_loss_client_order_id) == tuple(
        leg.client_order_id for leg in entry.legs)
    assert again.events == ()  # told once
    held = {s.client_order_id: s.status for s in alpaca.broker.open_orders()}
    assert held == {"qs-bracket-5xx": OrderStatus.ACCEPTED, **{leg.client_order_id: OrderStatus.ACCEPTED
                                                               for leg in entry.legs}}


def test_an_oto_sends_the_stop_loss_leg_alone_and_a_bracket_the_wrong_way_round_is_refused(fake_alpaca, alpaca):
    placed = alpaca.broker.submit_bracket(order("qs-oto", side=OrderSide.SELL, order_type=OrderType.LIMIT,
                                                limit="200"), take_profit=None, stop_loss=Decimal("210"))

    body = fake_alpaca.requests_to("POST", ORDERS)[0].body
    assert (body["order_class"], body["stop_loss"], "take_profit" in body) == ("oto", {"stop_price": "210"}, False)
    (leg,) = fake_alpaca.order("qs-oto").legs
    assert (leg.side, leg.type, leg.stop_price, leg.status) == ("buy", "stop", Decimal(210), "held")
    assert (placed.take_profit_client_order_id, placed.stop_loss_client_order_id) == (None, leg.client_order_id)
    with pytest.raises(ConfigurationError, match="take_profit 90 must be above stop_loss 95"):
        alpaca.broker.submit_bracket(order("qs-upside-down"), take_profit=Decimal("90"), stop_loss=Decimal("95"))
    assert fake_alpaca.count("POST", ORDERS) == 1
