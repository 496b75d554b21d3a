"""Fills that race a cancel at Alpaca, through the real alpaca-py SDK against the fake venue.

Alpaca cancels asynchronously (a DELETE makes the order pending_cancel; the market answers
later) and its REST API and trade_updates stream are separate channels: a read-back can say
"canceled, filled_qty 1" before the partial_fill reaches the stream handler. The adapter
tells an end only once the fills the venue counted in it are told, and every fill reaches
the store once, whatever our copy of the order says by then.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from application.trading.apply_broker_events import apply_broker_events
from application.trading.cancel_orders import cancel_open_orders
from application.trading.reconcile import reconcile
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled
from domain.orders.order import OrderStatus, OrderType
from tests.fakes.alpaca_fixtures import order
from tests.support.events import events_for, poll_until

D = Decimal


def _resting(fake_alpaca, alpaca, coid: str) -> None:
    """A resting limit order for 3, acknowledged, with the stream listening."""
    alpaca.broker.submit(order(coid, quantity="3", order_type=OrderType.LIMIT, limit="10"))
    poll_until(alpaca.broker, lambda seen: fake_alpaca.trading_stream.listening() == 1)


def _kinds(events) -> list[tuple[str, object]]:
    out = []
    for e in events:
        if isinstance(e, OrderFilled):
            out.append(("fill", e.fill.quantity))
        elif isinstance(e, OrderCancelled):
            out.append(("cancelled", e.filled_quantity))
    return out


def test_a_fill_racing_the_cancel_is_told_before_the_cancel_which_carries_the_final_quantity(fake_alpaca, alpaca):
    _resting(fake_alpaca, alpaca, "qs-race")
    fake_alpaca.hold_trade_updates()  # the stream lags the REST read-back
    fake_alpaca.fill_before_cancel("qs-race", "1", "10")

    events = alpaca.broker.cancel("qs-race")

    assert fake_alpaca.order("qs-race").status == "canceled"
    assert _kinds(events) == [("fill", D(1)), ("cancelled", D(1))]
    fake_alpaca.release_trade_updates()  # partial_fill, pending_cancel, canceled: nothing told twice
    late = events_for(alpaca.broker, seconds=0.5)
    assert _kinds(late) == []


def test_a_cancel_whose_fills_are_not_listed_yet_waits_for_them(fake_alpaca, alpaca):
    _resting(fake_alpaca, alpaca, "qs-wait")
    fake_alpaca.hold_trade_updates()
    fake_alpaca.hold_activities()  # the order shows filled_qty 1, the FILL activity is not listed yet
    fake_alpaca.fill_before_cancel("qs-wait", "1", "10")

    assert _kinds(alpaca.broker.cancel("qs-wait")) == []  # the end waits for its fill
    assert _kinds(alpaca.broker.poll_events()) == []

    fake_alpaca.release_trade_updates()  # the partial_fill arrives: the end follows it
    events = poll_until(alpaca.broker, lambda seen: any(isinstance(e, OrderCancelled) for e in seen), settle=0.3)
    assert _kinds(events) == [("fill", D(1)), ("cancelled", D(1))]


def test_a_pending_cancel_still_fills_and_ends_with_the_venues_final_quantity(fake_alpaca, alpaca):
    _resting(fake_alpaca, alpaca, "qs-pending")
    fake_alpaca.hold_cancels()

    assert _kinds(alpaca.broker.cancel("qs-pending")) == []  # pending_cancel: not an end
    assert fake_alpaca.order("qs-pending").status == "pending_cancel"
    fake_alpaca.fill("qs-pending", "2", "10")  # it still trades
    fake_alpaca.finish_cancel("qs-pending")

    events = poll_until(alpaca.broker, lambda seen: any(isinstance(e, OrderCancelled) for e in seen), settle=0.3)
    assert _kinds(events) == [("fill", D(2)), ("cancelled", D(2))]


def test_a_fill_after_a_cancel_reaches_the_store_once_and_reconciliation_agrees(fake_alpaca, alpaca, store):
    # `store`: a fresh SQLite and a fresh Postgres store (tests/integration/conftest.py).
    with store() as uow:
        uow.accounts.ensure(account="paper", bot="bot", initial_cash=D(10_000))
        resting = order("qs-stop-moved", quantity="3", order_type=OrderType.LIMIT, limit="10")
        uow.orders.add(resting)
        uow.commit()
    apply_broker_events(alpaca.broker.submit(resting), uow_factory=store)
    poll_until(alpaca.broker, lambda seen: fake_alpaca.trading_stream.listening() == 1)
    apply_broker_events(alpaca.broker.poll_events(), uow_factory=store)
    fake_alpaca.hold_trade_updates()
    fake_alpaca.fill_before_cancel("qs-stop-moved", "1", "10")

    # The protective stop moved: its old order is cancelled, and one share filled as it went.
    now = datetime.now(timezone.utc)
    cancel_open_orders(account="paper", bot="bot", broker=alpaca.broker, uow_factory=store, now=now,
                       reason="stop moved")

    with store() as uow:
        stored = uow.orders.get("qs-stop-moved")
        assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELLED, D(1))
        assert [(f.quantity, f.price) for f in uow.fills.list(account="paper")] == [(D(1), D(10))]
        assert uow.positions.get(account="paper", bot="bot", symbol="AAPL").quantity == D(1)
    # The stream's late copies of the same fill and cancel change nothing.
    fake_alpaca.release_trade_updates()
    late = events_for(alpaca.broker, seconds=0.5)
    outcome = apply_broker_events(late, uow_factory=store)
    assert outcome.applied == 0
    report = reconcile(account="paper", broker=alpaca.broker, uow_factory=store, now=datetime.now(timezone.utc))
    assert report.ok, report.mismatches
    assert report.positions == {"AAPL": (D(1), D(1))}
    with store() as uow:
        assert uow.fills.count(account="paper") == 1


def test_accepted_then_cancelled_orders_still_give_one_ack(fake_alpaca, alpaca):
    _resting(fake_alpaca, alpaca, "qs-ack")
    events = alpaca.broker.cancel("qs-ack") + events_for(alpaca.broker, seconds=0.3)
    assert [type(e) for e in events if isinstance(e, OrderAccepted)] == []  # submit told the ack already
    assert _kinds(events) == [("cancelled", D(0))]
