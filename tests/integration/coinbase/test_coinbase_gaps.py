"""Lost user-stream messages: Coinbase numbers every message of a connection (`sequence_num`,
across its channels) and every heartbeat (`heartbeat_counter`). A number skipped means a lost
message, perhaps an order's FILLED update that nothing would ever repeat: the broker resyncs
over REST. Through the real SDK against the loopback fake venue, which loses messages on cue."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from domain.orders.events import OrderFilled
from domain.orders.order import OrderType
from tests.fakes.coinbase_fixtures import connect, order
from tests.support.events import events_for, poll_until
from tests.support.waiting import wait_until
from tests.fakes.coinbase_venue import FakeCoinbase


def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


@pytest.fixture
def quiet(tmp_path) -> Iterator[FakeCoinbase]:
    """A fake venue whose heartbeats the test sends (push_heartbeat), one at a time."""
    venue = FakeCoinbase.start(tmp_path, heartbeat_interval=None)
    yield venue
    venue.stop()


def resting(fake, clock, coid: str, **options: object):
    venue = connect(fake, clock, **options)
    assert venue.user_stream.connected.wait(5)
    wait_until(lambda: fake.ws.subscribers("user") == 1 and fake.ws.subscribers("heartbeats") == 1)
    venue.broker.submit(order(coid, order_type=OrderType.LIMIT, quantity="1", limit="95"))
    poll_until(venue.broker, lambda evs: True)
    return venue


def heartbeat_heard(fake, venue) -> None:
    """A heartbeat from the venue, once the client's socket has handled it."""
    before = venue.user_stream.received
    fake.push_heartbeat()
    wait_until(lambda: venue.user_stream.received > before)


def test_a_lost_filled_update_is_seen_as_a_sequence_gap_by_the_next_message_and_resynced(quiet, clock):
    venue = resting(quiet, clock, "qs-g1")
    try:
        quiet.ws.lose(1, channel="user")
        quiet.book.set_price("BTC-USD", "94")  # fills: its update is lost on the way
        wait_until(lambda: quiet.ws.lost == 1)
        assert fills_of(events_for(venue.broker, seconds=0.2)) == []  # nothing says it filled, yet
        heartbeat_heard(quiet, venue)  # the next message: its sequence_num skips one
        (fill,) = fills_of(poll_until(venue.broker, lambda evs: fills_of(evs)))
        assert (fill.client_order_id, fill.quantity, fill.price) == ("qs-g1", Decimal(1), Decimal(94))
        assert venue.broker.stream_gaps == 1 and venue.broker.resyncs == 1
        assert fills_of(events_for(venue.broker, seconds=0.1)) == []
        assert [f.fill_id for f in venue.broker.fills()] == [fill.fill_id]
    finally:
        venue.close()


def test_a_missed_heartbeat_triggers_a_resync(quiet, clock):
    venue = resting(quiet, clock, "qs-g2")
    try:
        quiet.push_heartbeat()
        quiet.ws.lose(1, channel="user")
        quiet.ws.lose(1, channel="heartbeats")
        quiet.book.set_price("BTC-USD", "94")
        quiet.push_heartbeat()  # lost: counter 2 never arrives
        wait_until(lambda: quiet.ws.lost == 2)
        heartbeat_heard(quiet, venue)  # counter 3 after 1, sequence_num three ahead
        (fill,) = fills_of(poll_until(venue.broker, lambda evs: fills_of(evs)))
        assert fill.client_order_id == "qs-g2" and fill.quantity == Decimal(1)
        assert venue.broker.stream_gaps == 1 and venue.broker.resyncs == 1
    finally:
        venue.close()


def test_the_venues_own_heartbeats_reveal_a_lost_update_within_a_second(fake, clock):
    fake.ws.heartbeat_interval = 0.2
    venue = resting(fake, clock, "qs-g3")
    try:
        fake.ws.lose(1, channel="user")
        fake.book.set_price("BTC-USD", "94")
        (fill,) = fills_of(poll_until(venue.broker, lambda evs: fills_of(evs), timeout=3))
        assert fill.client_order_id == "qs-g3"
        assert venue.broker.stream_gaps >= 1
    finally:
        venue.close()


def test_a_new_connection_numbers_from_zero_again_and_that_is_not_a_gap(quiet, clock):
    venue = resting(quiet, clock, "qs-g4")
    try:
        quiet.push_heartbeat()
        quiet.ws.drop()
        wait_until(lambda: not venue.user_stream.connected.is_set())
        quiet.ws.restore()
        wait_until(lambda: quiet.ws.subscribers("heartbeats") == 1)
        heartbeat_heard(quiet, venue)
        poll_until(venue.broker, lambda evs: True)
        assert venue.user_stream.connects == 2
        assert venue.broker.stream_gaps == 0
        assert venue.broker.resyncs == 1  # the reconnect's own resync, nothing more
    finally:
        venue.close()


def test_a_stream_that_falls_silent_is_resynced_after_the_silence_bound(quiet, clock):
    # No heartbeat at all any more (an open connection that delivers nothing): the lost FILLED
    # update has no successor to reveal it, so silence itself triggers the resync.
    venue = resting(quiet, clock, "qs-g5", stream_silence=0.3)
    try:
        quiet.ws.lose(1, channel="user")
        quiet.book.set_price("BTC-USD", "94")
        (fill,) = fills_of(poll_until(venue.broker, lambda evs: fills_of(evs), timeout=3))
        assert fill.client_order_id == "qs-g5"
        assert venue.broker.stream_gaps == 0 and venue.broker.resyncs >= 1
    finally:
        venue.close()
