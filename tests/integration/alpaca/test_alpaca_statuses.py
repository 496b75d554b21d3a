"""Every Alpaca order status, through the real alpaca-py SDK against the fake venue: each
documented one in our state machine's words, and one the adapter does not know reported for
that order alone, never failing the listing, the resync or reconciliation."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from alpaca.trading.enums import OrderStatus as AlpacaStatus

from adapters.alpaca.mapping import ALPACA_STATUSES
from adapters.sqlite import SqliteStore
from application.trading.apply_broker_events import apply_broker_events
from application.trading.reconcile import reconcile
from domain.orders.order import OrderStatus, OrderType
from tests.fakes.alpaca_fixtures import order
from tests.support.events import poll_until

S = OrderStatus
# Alpaca's word -> ours, for an order of 3 with 1 filled (statuses that ignore the quantity aside).
EXPECTED = {
    "new": S.PARTIALLY_FILLED, "partially_filled": S.PARTIALLY_FILLED, "filled": S.FILLED,
    "done_for_day": S.PARTIALLY_FILLED, "canceled": S.CANCELLED, "expired": S.EXPIRED, "replaced": S.CANCELLED,
    "pending_cancel": S.PENDING_CANCEL, "pending_replace": S.PARTIALLY_FILLED, "pending_review": S.PARTIALLY_FILLED,
    "accepted": S.PARTIALLY_FILLED, "pending_new": S.PARTIALLY_FILLED, "accepted_for_bidding": S.PARTIALLY_FILLED,
    "stopped": S.PARTIALLY_FILLED, "rejected": S.REJECTED, "suspended": S.PARTIALLY_FILLED,
    "calculated": S.PARTIALLY_FILLED, "held": S.PARTIALLY_FILLED,
}


def test_the_adapter_knows_every_status_of_alpaca_py():
    assert ALPACA_STATUSES == {status.value for status in AlpacaStatus} == set(EXPECTED)


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_is_read_into_our_state_machine(fake_alpaca, alpaca, status):
    alpaca.broker.submit(order("qs-s", quantity="3", order_type=OrderType.LIMIT, limit="1"))
    fake_alpaca.fill("qs-s", "1", "1")
    fake_alpaca.set_status("qs-s", status)

    state = alpaca.broker.find_order("qs-s")

    assert (state.status, state.filled_quantity, state.venue_status, state.status_known) == (
        EXPECTED[status], Decimal(1), status, True)
    listed = {s.client_order_id: s for s in alpaca.broker.open_orders()}
    assert ("qs-s" in listed) is (status not in ("filled", "canceled", "expired", "replaced", "rejected"))


def test_an_order_held_for_review_is_working_and_is_listed(fake_alpaca, alpaca):
    fake_alpaca.next_order_status("pending_review")
    alpaca.broker.submit(order("qs-review", order_type=OrderType.LIMIT, limit="1"))

    (state,) = alpaca.broker.open_orders()

    assert (state.client_order_id, state.status, state.venue_status) == ("qs-review", S.ACCEPTED, "pending_review")


def test_an_unknown_status_is_reported_for_that_order_and_listing_resync_and_reconciliation_still_work(
        fake_alpaca, alpaca, tmp_path):
    store = SqliteStore(path=tmp_path / "store.db")
    try:
        with store() as uow:
            uow.accounts.ensure(account="paper", bot="bot", initial_cash=Decimal(10_000))
            uow.commit()
        for coid in ("qs-odd", "qs-plain"):
            placed = order(coid, order_type=OrderType.LIMIT, limit="1")
            with store() as uow:
                uow.orders.add(placed)
                uow.commit()
            apply_broker_events(alpaca.broker.submit(placed), uow_factory=store)
        fake_alpaca.set_status("qs-odd", "awaiting_liquidity")  # a status Alpaca may add one day

        listed = {s.client_order_id: s for s in alpaca.broker.open_orders()}

        assert set(listed) == {"qs-odd", "qs-plain"}
        assert (listed["qs-odd"].status, listed["qs-odd"].status_known, listed["qs-odd"].venue_status) == (
            S.ACCEPTED, False, "awaiting_liquidity")
        assert listed["qs-plain"].status_known
        # A reconnect resyncs over REST (it lists the open orders) without failing.
        poll_until(alpaca.broker, lambda seen: fake_alpaca.trading_stream.listening() == 1)
        before = alpaca.broker.resyncs
        fake_alpaca.drop_streams()
        fake_alpaca.restore_streams()
        poll_until(alpaca.broker, lambda seen: alpaca.broker.resyncs > before, timeout=10)
        assert alpaca.broker.resyncs > before
        report = reconcile(account="paper", broker=alpaca.broker, uow_factory=store, now=datetime.now(timezone.utc))
        assert report.ok, report.mismatches
        assert [line for line in report.unresolved if "awaiting_liquidity" in line and "qs-odd" in line]
    finally:
        store.close()
