"""Every order status Coinbase documents, read through the real SDK from the loopback fake
venue; a status the adapter does not know is reported as unknown (open, outcome unknown) and
never fails a listing; the open-orders query asks for every status of a live order."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
import requests

from domain.orders.events import OrderAccepted, OrderCancelled, OrderExpired, OrderRejected
from domain.orders.order import OrderStatus, OrderType
from tests.fakes.coinbase_book import LIVE
from tests.fakes.coinbase_fixtures import connect, order
from tests.support.events import poll_until

S = OrderStatus


@pytest.mark.parametrize(("venue_status", "ours"), [
    ("PENDING", S.SUBMITTED), ("QUEUED", S.SUBMITTED), ("OPEN", S.ACCEPTED), ("EDIT_QUEUED", S.ACCEPTED),
    ("CANCEL_QUEUED", S.PENDING_CANCEL), ("FILLED", S.FILLED), ("CANCELLED", S.CANCELLED), ("EXPIRED", S.EXPIRED),
    ("FAILED", S.REJECTED), ("UNKNOWN_ORDER_STATUS", S.SUBMITTED), ("SOME_STATUS_ADDED_LATER", S.SUBMITTED),
])
def test_every_documented_status_maps_and_an_unknown_one_is_reported_as_unknown(fake, clock, venue_status, ours):
    vid = fake.add_foreign_order(client_order_id="web-1")
    fake.book.set_status(vid, venue_status)
    broker = connect(fake, clock, user_stream=False)
    try:
        state = broker.broker.find_order("web-1")
        assert (state.venue_order_id, state.status, state.venue_status) == (vid, ours, venue_status)
        assert state.status_known is (venue_status not in ("UNKNOWN_ORDER_STATUS", "SOME_STATUS_ADDED_LATER"))
    finally:
        broker.close()


def test_open_orders_asks_for_every_live_status_and_lists_each(fake, clock):
    ids = {}
    for status in ("OPEN", "PENDING", "QUEUED", "CANCEL_QUEUED", "EDIT_QUEUED", "FILLED", "CANCELLED", "EXPIRED",
                   "FAILED"):
        ids[status] = fake.add_foreign_order(client_order_id=f"web-{status.lower()}")
        fake.book.set_status(ids[status], status)
    broker = connect(fake, clock, user_stream=False)
    try:
        listed = {s.client_order_id: s.status for s in broker.broker.open_orders()}
        assert listed == {"web-open": S.ACCEPTED, "web-pending": S.SUBMITTED, "web-queued": S.SUBMITTED,
                          "web-cancel_queued": S.PENDING_CANCEL, "web-edit_queued": S.ACCEPTED}
        (request,) = [r for r in fake.requests if r.op == "list_orders"]
        # One repeated parameter (order_status=OPEN&order_status=PENDING...), as the venue takes it.
        assert sorted(request.query["order_status"]) == sorted(LIVE)
    finally:
        broker.close()


def test_the_fake_refuses_a_status_list_the_venue_cannot_parse(fake, clock):
    broker = connect(fake, clock, user_stream=False)
    try:
        with pytest.raises(requests.HTTPError) as refused:
            broker.rest.client.list_orders(order_status=["OPEN,QUEUED"])
        assert refused.value.response.json()["message"] == (
            'parsing list "order_status": "OPEN,QUEUED" is not a valid value')
    finally:
        broker.close()


def test_an_unknown_status_in_the_stream_keeps_the_order_open_and_its_fills_and_end_still_count(fake, venue, caplog):
    venue.broker.submit(order("qs-u", order_type=OrderType.LIMIT, quantity="1", limit="90"))
    vid = venue.broker.find_order("qs-u").venue_order_id
    poll_until(venue.broker, lambda evs: True)
    with caplog.at_level(logging.WARNING, logger="adapters.coinbase.mapping"):
        fake.book.set_status(vid, "BRAND_NEW_STATUS")
        poll_until(venue.broker, lambda evs: "BRAND_NEW_STATUS" in caplog.text)
        fake.book.orders[vid].status = "OPEN"
        fake.book.execute(vid, "0.5", "90")
        fake.book.set_status(vid, "EXPIRED")
        got = poll_until(venue.broker, lambda evs: any(isinstance(e, OrderExpired) for e in evs))
    assert not any(isinstance(e, OrderCancelled | OrderRejected) for e in got)
    assert [e.fill.quantity for e in got if hasattr(e, "fill")] == [Decimal("0.5")]
    (expired,) = [e for e in got if isinstance(e, OrderExpired)]
    assert expired.filled_quantity == Decimal("0.5")
    assert venue.broker.stream_gaps == 0 and venue.broker.resyncs == 0  # not taken for a malformed message
    assert "unknown to this adapter" in caplog.text
    assert not [e for e in got if isinstance(e, OrderAccepted)]  # accepted once, earlier
