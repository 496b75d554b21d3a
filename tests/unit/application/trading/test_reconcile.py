"""Reconciliation of the store with the venue: what the venue did while we were not
listening is adopted or backfilled; what cannot be explained is a mismatch, named with
both sides' figures. Nothing here halts (the session does, on a mismatch)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from adapters.simulated import NoCommission, SimulatedBrokerConfig, VenueJournal, build_simulated_broker
from application.records import AuditKind
from application.trading.apply_broker_events import apply_broker_events
from application.trading.reconcile import ReconciliationReport, reconcile
from domain.accounting.instrument import equity
from domain.accounting.market import Bar
from domain.accounting.position import Position
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.fakes.builders import ACCOUNT, T0
from tests.fakes.harness import Harness

D = Decimal
MINUTE = timedelta(minutes=1)
CAPITAL = D(100_000)
LATER = T0 + 10 * MINUTE


def _order(coid: str, *, symbol: str = "SPY", side: OrderSide = OrderSide.BUY, qty: int = 10,
           bot: str = "bot1", account: str = ACCOUNT, at: datetime = T0) -> Order:
    return Order(client_order_id=coid, account=account, bot=bot, strategy="s", symbol=symbol, side=side,
                 order_type=OrderType.MARKET, quantity=D(qty), created_at=at, signal_ts=at)


def _harness(*bots: str) -> Harness:
    h = Harness()
    with h.store() as uow:
        for name in bots or ("bot1",):
            uow.accounts.ensure(account=ACCOUNT, bot=name, initial_cash=CAPITAL)
        uow.commit()
    return h


def _intend(h: Harness, order: Order, *, status: OrderStatus = OrderStatus.INITIALIZED) -> Order:
    """The intent committed to the store, moved on to `status` as our records would have it."""
    if status is not OrderStatus.INITIALIZED:
        order.transition(OrderStatus.SUBMITTED, at=order.created_at)
    if status is OrderStatus.ACCEPTED:
        order.transition(OrderStatus.ACCEPTED, at=order.created_at)
        order.venue_order_id = "set-below"
    with h.store() as uow:
        assert uow.orders.add(order)
        uow.commit()
    return order


def _sent_and_acked(h: Harness, order: Order) -> Order:
    """Intent stored, sent, and the venue's ack recorded: an ACCEPTED order in both places."""
    _intend(h, order)
    events = h.broker.submit(order)
    with h.store() as uow:
        stored = uow.orders.get(order.client_order_id)
        stored.transition(OrderStatus.SUBMITTED, at=order.created_at)
        uow.orders.save(stored)
        uow.commit()
    apply_broker_events(events, uow_factory=h.store)
    assert h.order(order.client_order_id).status is OrderStatus.ACCEPTED
    return h.order(order.client_order_id)


def _bar(i: int, price: int) -> Bar:
    p = D(price)
    return Bar(symbol="SPY", ts=T0 + i * MINUTE, open=p, high=p, low=p, close=p, volume=D(100))  # caps fills at 10


def _run(h: Harness) -> ReconciliationReport:
    return reconcile(account=ACCOUNT, broker=h.broker, uow_factory=h.store, now=LATER)


def _cash(h: Harness, bot: str = "bot1") -> Decimal:
    with h.store() as uow:
        return uow.accounts.get(account=ACCOUNT, bot=bot).cash


def _position(h: Harness, symbol: str = "SPY", bot: str = "bot1") -> Decimal:
    with h.store() as uow:
        return uow.positions.get(account=ACCOUNT, bot=bot, symbol=symbol).quantity


def _without_audit(h: Harness) -> dict[str, object]:
    return {k: v for k, v in h.store.snapshot().items() if k != "audit"}


# -- fills the store missed ---------------------------------------------------------------


def test_a_fill_the_store_missed_is_backfilled_and_position_and_cash_equal_the_venues():
    h = _harness()
    h.broker.commission = D("1.25")
    _sent_and_acked(h, _order("buy"))
    h.broker.fill("buy", 6, "100.10", T0 + MINUTE)
    h.broker.fill("buy", 4, "100.20", T0 + 2 * MINUTE)
    h.broker.poll_events()  # lost: the process died before recording them

    report = _run(h)

    assert report.ok, report.mismatches
    assert report.backfilled_fills == 2 and report.checked_fills == 2 and report.checked_orders == 1
    assert h.order("buy").status is OrderStatus.FILLED and h.order("buy").filled_quantity == 10
    assert _position(h) == h.broker.positions()["SPY"] == 10
    assert _cash(h) == CAPITAL - D(6) * D("100.10") - D(4) * D("100.20") - 2 * D("1.25")
    assert report.positions == {"SPY": (D(10), D(10))}
    with h.store() as uow:
        assert sorted(f.fill_id for f in uow.fills.list(account=ACCOUNT)) == sorted(
            f.fill_id for f in h.broker.fills())
    [entry] = h.audit(AuditKind.SESSION)
    assert entry.message.startswith("reconciliation OK") and entry.data["backfilled_fills"] == 2


def test_a_fill_recorded_already_is_not_applied_twice():
    h = _harness()
    _sent_and_acked(h, _order("buy"))
    h.broker.fill("buy", 10, 100, T0 + MINUTE)
    apply_broker_events(h.broker.poll_events(), uow_factory=h.store)
    cash = _cash(h)
    report = _run(h)
    assert report.ok and report.backfilled_fills == 0 and report.checked_fills == 1
    assert _cash(h) == cash and _position(h) == 10


# -- statuses adopted from the venue --------------------------------------------------------------


def test_an_order_filled_at_the_venue_while_we_were_down_is_adopted():
    h = _harness()
    order = _intend(h, _order("buy"), status=OrderStatus.SUBMITTED)  # sent; the ack never recorded
    h.broker.submit(order)
    h.broker.fill("buy", 10, 100, T0 + MINUTE)
    h.broker.poll_events()

    report = _run(h)

    stored = h.order("buy")
    assert (stored.status, stored.filled_quantity, stored.venue_order_id) == (OrderStatus.FILLED, 10, "V000001")
    assert report.ok and report.backfilled_fills == 1
    assert report.adopted == ["buy (bot1 SPY): submitted -> filled (venue: filled, filled 10)"]
    assert _position(h) == 10


def test_an_order_cancelled_at_the_venue_while_we_were_down_is_adopted():
    h = _harness()
    _sent_and_acked(h, _order("buy"))
    h.broker.cancel("buy")  # the venue cancelled it (end of day, say); we never heard

    report = _run(h)

    assert h.order("buy").status is OrderStatus.CANCELLED
    assert h.order("buy").reason == "cancelled at the venue"
    assert report.ok and report.adopted == ["buy (bot1 SPY): accepted -> cancelled (venue: cancelled, filled 0)"]


def test_a_partly_filled_order_cancelled_at_the_venue_keeps_its_fills():
    """The fills go in before the cancel: a cancelled order would refuse them."""
    h = _harness()
    _sent_and_acked(h, _order("buy"))
    h.broker.fill("buy", 4, 100, T0 + MINUTE)
    h.broker.cancel("buy")
    h.broker.poll_events()

    report = _run(h)

    stored = h.order("buy")
    assert (stored.status, stored.filled_quantity) == (OrderStatus.CANCELLED, 4)
    assert report.ok, report.mismatches
    assert report.backfilled_fills == 1 and _position(h) == 4 and _cash(h) == CAPITAL - 400


def test_an_intent_the_venue_has_is_acknowledged():
    h = _harness()
    order = _intend(h, _order("buy"))  # died after the send, before marking it sent
    h.broker.submit(order)
    report = _run(h)
    assert h.order("buy").status is OrderStatus.ACCEPTED and h.order("buy").venue_order_id == "V000001"
    assert report.ok and report.adopted == ["buy (bot1 SPY): initialized -> accepted (venue: accepted, filled 0)"]


# -- what the venue never got ---------------------------------------------------------------------


def test_an_intent_never_sent_is_closed_in_our_records_and_not_sent():
    h = _harness()
    _intend(h, _order("never-sent"))

    report = _run(h)

    stored = h.order("never-sent")
    assert stored.status is OrderStatus.CANCELLED and stored.reason.startswith("intent never sent")
    assert report.ok and report.adopted == []
    assert report.closed_unsent == ["never-sent (bot1 buy 10 SPY): intent never sent, closed in our records"]
    assert h.broker.submits == [] and h.broker.lookups == ["never-sent"]


def test_an_accepted_order_the_venue_does_not_have_is_a_mismatch():
    h = _harness()
    _intend(h, _order("ghost", qty=7), status=OrderStatus.ACCEPTED)

    report = _run(h)

    assert not report.ok
    assert report.mismatches == [
        "order ghost (bot1 buy 7 SPY): we think it is accepted (filled 0), the venue has no such order"]
    assert h.order("ghost").status is OrderStatus.ACCEPTED  # not touched: a person must look
    [entry] = h.audit(AuditKind.ERROR, severity="critical")
    assert entry.message.startswith("reconciliation MISMATCH (1): order ghost")
    assert entry.data["mismatches"] == report.mismatches and entry.data["ok"] is False


def test_a_sent_order_without_an_answer_is_left_to_the_in_flight_check():
    h = _harness()
    _intend(h, _order("timed-out"), status=OrderStatus.SUBMITTED)
    report = _run(h)
    assert report.ok and len(report.unresolved) == 1 and report.unresolved[0].startswith("timed-out")
    assert h.order("timed-out").status is OrderStatus.SUBMITTED


# -- what we never intended -----------------------------------------------------------------------


def test_a_venue_order_we_never_intended_is_a_mismatch_and_so_are_its_fills():
    h = _harness()
    stranger = _order("stranger", symbol="QQQ", qty=3)
    h.broker.submit(stranger)  # someone else traded the account
    h.broker.submit(_order("stranger-2", symbol="QQQ", qty=5))
    h.broker.fill("stranger-2", 5, 400, T0 + MINUTE)

    report = _run(h)

    assert report.mismatches == [
        "venue fill V000002-F1: buy 5 QQQ @ 400 for order stranger-2, which we never intended",
        "venue order stranger (V000001, accepted, filled 0) is open at the venue; we never intended it",
        "position QQQ: store 0, venue 5 (difference 5)",
    ]
    with h.store() as uow:
        assert uow.orders.get("stranger") is None and not uow.fills.exists("V000002-F1")


def test_a_venue_order_open_that_our_records_closed_is_a_mismatch():
    h = _harness()
    order = _sent_and_acked(h, _order("buy"))
    with h.store() as uow:
        stored = uow.orders.get("buy")
        stored.transition(OrderStatus.CANCELLED, at=T0, reason="closed by mistake")
        uow.orders.save(stored)
        uow.commit()
    assert order.status is OrderStatus.ACCEPTED
    report = _run(h)
    assert report.mismatches == [
        "venue order buy (SPY) is open at the venue (accepted, filled 0); ours is cancelled, filled 0"]


# -- positions ------------------------------------------------------------------------------------


def test_a_store_position_that_differs_from_the_venues_is_a_mismatch_naming_both_figures():
    h = _harness("bot1", "bot2")
    _sent_and_acked(h, _order("buy"))
    h.broker.fill("buy", 10, 100, T0 + MINUTE)
    apply_broker_events(h.broker.poll_events(), uow_factory=h.store)
    with h.store() as uow:  # a second bot's position the venue never filled
        uow.positions.upsert(Position(bot="bot2", symbol="SPY", quantity=D(-3)), account=ACCOUNT)
        uow.positions.upsert(Position(bot="bot2", symbol="IWM", quantity=D(2)), account=ACCOUNT)
        uow.commit()

    report = _run(h)

    assert report.positions == {"IWM": (D(2), D(0)), "SPY": (D(7), D(10))}
    assert report.mismatches == ["position IWM: store 2, venue 0 (difference -2)",
                                 "position SPY: store 7, venue 10 (difference 3)"]
    assert report.to_json()["positions"] == {"IWM": {"store": "2", "venue": "0"},
                                             "SPY": {"store": "7", "venue": "10"}}


def test_positions_of_several_bots_are_summed_per_symbol_and_other_accounts_ignored():
    h = _harness("bot1", "bot2")
    _sent_and_acked(h, _order("b1", qty=10))
    _sent_and_acked(h, _order("b2", qty=4, bot="bot2", side=OrderSide.SELL))
    h.broker.fill("b1", 10, 100, T0 + MINUTE)
    h.broker.fill("b2", 4, 100, T0 + MINUTE)
    apply_broker_events(h.broker.poll_events(), uow_factory=h.store)
    with h.store() as uow:
        uow.positions.upsert(Position(bot="bot1", symbol="SPY", quantity=D(99)), account="another-account")
        uow.commit()
    report = _run(h)
    assert report.ok and report.positions == {"SPY": (D(6), D(6))}


# -- idempotence ------------------------------------------------------------------------------------


def test_reconciling_twice_changes_nothing_the_second_time():
    h = _harness()
    _sent_and_acked(h, _order("missed-fill"))
    _sent_and_acked(h, _order("missed-cancel", symbol="QQQ"))
    _intend(h, _order("never-sent", symbol="IWM"))
    late = _intend(h, _order("late-ack", symbol="DIA"), status=OrderStatus.SUBMITTED)
    h.broker.submit(late)
    h.broker.fill("missed-fill", 10, 100, T0 + MINUTE)
    h.broker.cancel("missed-cancel")
    h.broker.poll_events()

    first = _run(h)
    assert first.ok and first.backfilled_fills == 1 and len(first.adopted) == 3 and len(first.closed_unsent) == 1
    after_first = _without_audit(h)
    audits = len(h.audit())

    second = _run(h)

    assert (second.adopted, second.closed_unsent, second.backfilled_fills, second.mismatches) == ([], [], 0, [])
    assert second.positions == first.positions
    assert _without_audit(h) == after_first
    assert [e.kind for e in h.audit()[audits:]] == [AuditKind.SESSION]  # only the report itself


# -- with the real simulated venue and its journal ----------------------------------------------------


def test_fills_the_venue_made_while_the_bot_was_dead_are_backfilled_from_its_journal(tmp_path):
    h = _harness()
    config = SimulatedBrokerConfig(slippage_bps=D(0), max_volume_share=D("0.1"), equity_commission=NoCommission())
    instruments = {"SPY": equity("SPY")}
    venue = build_simulated_broker(config=config, instruments=instruments,
                                   journal=VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT))
    h.broker = venue  # type: ignore[assignment]
    order = _intend(h, _order("big", qty=25))
    venue.submit(order)  # the process dies before recording the ack ...
    venue.on_bar(_bar(1, 100))  # ... and the venue fills 10 + 10 while nobody listens
    venue.on_bar(_bar(2, 101))
    venue.close()  # the queued events die with the process

    restarted = build_simulated_broker(config=config, instruments=instruments,
                                       journal=VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT))
    assert restarted.poll_events() == []
    report = reconcile(account=ACCOUNT, broker=restarted, uow_factory=h.store, now=LATER)

    assert report.ok, report.mismatches
    assert report.backfilled_fills == 2
    assert report.positions == {"SPY": (D(20), D(20))}
    stored = h.order("big")
    assert (stored.status, stored.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 20)
    assert _cash(h) == CAPITAL - 10 * 100 - 10 * 101

    # The venue goes on matching the rest; the session records it, and nothing is left to reconcile.
    restarted.on_bar(_bar(3, 102))
    apply_broker_events(restarted.poll_events(), uow_factory=h.store)
    again = reconcile(account=ACCOUNT, broker=restarted, uow_factory=h.store, now=LATER)
    assert again.ok and again.backfilled_fills == 0 and again.positions == {"SPY": (D(25), D(25))}
    assert h.order("big").status is OrderStatus.FILLED
    restarted.close()


@pytest.mark.parametrize("status", [OrderStatus.INITIALIZED, OrderStatus.SUBMITTED])
def test_the_report_says_what_it_checked(status):
    h = _harness()
    order = _intend(h, _order("x"), status=status)
    h.broker.submit(order)
    report = _run(h)
    data = report.to_json()
    assert data["checked_orders"] == 1 and data["checked_fills"] == 0 and data["ok"] is True
    assert data["account"] == ACCOUNT and data["at"] == LATER.isoformat()
