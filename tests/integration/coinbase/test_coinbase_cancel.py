"""Coinbase cancels asynchronously: a cancel request is accepted with the order CANCEL_QUEUED,
and the order can still fill until the venue reports it done (CANCELLED with its final filled
size). Through the real coinbase-advanced-py SDK against the loopback fake venue, and end to
end into a real SQLite store, with reconciliation agreeing afterwards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from adapters.sqlite import SqliteStore
from application.trading.apply_broker_events import apply_broker_events
from application.trading.cancel_orders import cancel_open_orders
from application.trading.reconcile import reconcile
from domain.orders.events import OrderCancelled, OrderFilled
from domain.orders.order import OrderStatus, OrderType
from tests.fakes.coinbase_fixtures import NOW, connect, order
from tests.support.events import poll_until
from tests.support.waiting import wait_until

ACCOUNT = "coinbase-sandbox"


def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def cancels_of(events):
    return [e for e in events if isinstance(e, OrderCancelled)]


@pytest.fixture
def store(tmp_path):
    opened = SqliteStore(path=tmp_path / "store.db")
    with opened() as uow:
        uow.accounts.ensure(account=ACCOUNT, bot="bot", initial_cash=Decimal(10_000))
        uow.commit()
    yield opened
    opened.close()


def sent(store, venue, placed) -> str:
    """The intent stored, sent through the broker and its answer recorded: the venue order id."""
    placed = attrs.evolve(placed, account=ACCOUNT)
    with store() as uow:
        assert uow.orders.add(placed)
        uow.commit()
    with store() as uow:
        stored = uow.orders.get(placed.client_order_id)
        stored.transition(OrderStatus.SUBMITTED, at=NOW)
        uow.orders.save(stored)
        uow.commit()
    apply_broker_events(venue.broker.submit(placed), uow_factory=store)
    with store() as uow:
        stored = uow.orders.get(placed.client_order_id)
    assert stored.status is OrderStatus.ACCEPTED
    return stored.venue_order_id


def stored_order(store, coid):
    with store() as uow:
        return uow.orders.get(coid)


def test_a_cancel_request_is_not_a_cancel_and_a_fill_while_it_is_queued_is_reported_before_the_end(fake, venue):
    fake.book.hold_cancels = True
    venue.broker.submit(order("qs-cq", order_type=OrderType.LIMIT, quantity="1", limit="90"))
    vid = venue.broker.find_order("qs-cq").venue_order_id
    poll_until(venue.broker, lambda evs: True)

    assert cancels_of(venue.broker.cancel("qs-cq")) == []  # accepted, not done
    assert venue.broker.find_order("qs-cq").status is OrderStatus.PENDING_CANCEL
    assert [s.client_order_id for s in venue.broker.open_orders()] == ["qs-cq"]  # still live at the venue
    fake.book.execute(vid, "0.4", "89", maker=True)  # it fills while the cancel is queued
    again = venue.broker.cancel("qs-cq")  # DUPLICATE_CANCEL_REQUEST; the read-back shows the fill
    assert cancels_of(again) == []
    fake.book.finish_cancel(vid)

    got = again + poll_until(venue.broker, lambda evs: cancels_of(evs))
    (fill,) = fills_of(got)
    (cancelled,) = cancels_of(got)
    assert got.index(cancelled) > got.index(next(e for e in got if isinstance(e, OrderFilled)))
    assert (fill.fill_id, fill.quantity, fill.price) == (f"{vid}:0.4", Decimal("0.4"), Decimal(89))
    assert cancelled.filled_quantity == Decimal("0.4")
    state = venue.broker.find_order("qs-cq")
    assert state.status is OrderStatus.CANCELLED and state.filled_quantity == Decimal("0.4")


def test_an_order_that_fills_completely_while_its_cancel_is_queued_ends_filled(fake, venue):
    fake.book.hold_cancels = True
    venue.broker.submit(order("qs-cf", order_type=OrderType.LIMIT, quantity="1", limit="90"))
    vid = venue.broker.find_order("qs-cf").venue_order_id
    venue.broker.cancel("qs-cf")
    fake.book.set_price("BTC-USD", "89")  # the rest of the book reaches it before the cancel is done
    fake.book.finish_cancel(vid)  # too late: nothing left to cancel

    got = poll_until(venue.broker, lambda evs: fills_of(evs))
    got += poll_until(venue.broker, lambda evs: True)
    assert [f.quantity for f in fills_of(got)] == [Decimal(1)] and cancels_of(got) == []
    assert venue.broker.find_order("qs-cf").status is OrderStatus.FILLED


def test_a_fill_after_the_cancel_request_reaches_the_store_and_reconciliation_agrees(fake, clock, store):
    fake.book.hold_cancels = True
    venue = connect(fake, clock)
    try:
        assert venue.user_stream.connected.wait(5)
        wait_until(lambda: fake.ws.subscribers("user") == 1)
        vid = sent(store, venue, order("qs-e2e", order_type=OrderType.LIMIT, quantity="1", limit="90"))

        # A halt (or a stop being moved) cancels the order: the venue queues the cancel.
        cancel_open_orders(account=ACCOUNT, bot=None, broker=venue.broker, uow_factory=store, now=NOW,
                           reason="halted by test")
        assert stored_order(store, "qs-e2e").status is OrderStatus.PENDING_CANCEL
        assert stored_order(store, "qs-e2e").reason == "halted by test"

        fake.book.execute(vid, "0.25", "90", maker=True)
        fake.book.execute(vid, "0.15", "89.5", maker=True)
        fake.book.finish_cancel(vid)
        events = poll_until(venue.broker, lambda evs: cancels_of(evs))
        apply_broker_events(events, uow_factory=store)
        apply_broker_events(poll_until(venue.broker, lambda evs: True), uow_factory=store)  # nothing twice

        cancelled = stored_order(store, "qs-e2e")
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.filled_quantity == Decimal("0.4")
        with store() as uow:
            rows = sorted((f.fill_id, f.quantity, f.commission, f.liquidity) for f in uow.fills.list(account=ACCOUNT))
            position = uow.positions.get(account=ACCOUNT, bot="bot", symbol="BTC-USD")
        # What the venue charged a maker (0.4 %), per execution, from its fills.
        assert rows == [(f"{vid}:0.25", Decimal("0.25"), Decimal("0.09"), "maker"),
                        (f"{vid}:0.4", Decimal("0.15"), Decimal("0.0537"), "maker")]
        assert position.quantity == Decimal("0.4") == fake.book.balances["BTC"][0]

        report = reconcile(account=ACCOUNT, broker=venue.broker, uow_factory=store, now=NOW + timedelta(minutes=1))
        assert report.ok, report.mismatches
        assert report.backfilled_fills == 0
        assert report.positions == {"BTC-USD": (Decimal("0.4"), Decimal("0.4"))}
    finally:
        venue.close()


def test_a_cancel_whose_fill_the_stream_lost_is_completed_by_reconciliation(fake, clock, store):
    # The stream reports the end, but the update of the fill made while the cancel was queued
    # never arrives (no user stream at all here): reconciliation records the fill once.
    fake.book.hold_cancels = True
    venue = connect(fake, clock, user_stream=False)
    try:
        vid = sent(store, venue, order("qs-rc", order_type=OrderType.LIMIT, quantity="1", limit="90"))
        cancel_open_orders(account=ACCOUNT, bot=None, broker=venue.broker, uow_factory=store, now=NOW,
                           reason="stop moved")
        fake.book.execute(vid, "0.3", "90")
        fake.book.finish_cancel(vid)
        first = reconcile(account=ACCOUNT, broker=venue.broker, uow_factory=store, now=NOW + timedelta(minutes=1))
        assert first.ok, first.mismatches
        assert first.backfilled_fills == 1
        cancelled = stored_order(store, "qs-rc")
        assert cancelled.status is OrderStatus.CANCELLED and cancelled.filled_quantity == Decimal("0.3")
        again = reconcile(account=ACCOUNT, broker=venue.broker, uow_factory=store, now=NOW + timedelta(minutes=2))
        assert again.ok and again.backfilled_fills == 0
        assert again.positions == {"BTC-USD": (Decimal("0.3"), Decimal("0.3"))}
    finally:
        venue.close()
