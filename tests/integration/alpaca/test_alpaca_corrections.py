"""Busted and restated trades and FEE activities at Alpaca, through the real alpaca-py SDK
against the fake venue, end to end into the store (SQLite and Postgres): the fill, the
position, the round trip and the cash corrected, audited, alerted, and reconciliation
agreeing afterwards."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from adapters.alpaca import build_alpaca_venue
from application.trading.apply_broker_events import apply_broker_events
from application.trading.reconcile import reconcile
from domain.orders.events import FillCorrected, OrderFilled
from domain.orders.order import OrderSide
from tests.fakes.alpaca_fixtures import FAST, WallClock, order
from tests.support.events import poll_until

D = Decimal
CASH = D(10_000)


@pytest.fixture
def book(store):
    """A fresh store of each engine (tests/integration/conftest.py) with the bot's account."""
    with store() as uow:
        uow.accounts.ensure(account="paper", bot="bot", initial_cash=CASH)
        uow.commit()
    return store


def _trade(alpaca, store, coid: str, side: OrderSide) -> None:
    """A market order of 3 AAPL at the venue's price, filled, recorded."""
    placed = order(coid, side=side)
    with store() as uow:
        uow.orders.add(placed)
        uow.commit()
    events = alpaca.broker.submit(placed)
    events += poll_until(alpaca.broker, lambda seen: any(isinstance(e, OrderFilled) for e in events + seen), settle=0.1)
    apply_broker_events(events, uow_factory=store)


def _corrections(alpaca) -> list:
    events = poll_until(alpaca.broker, lambda seen: any(isinstance(e, FillCorrected) for e in seen), settle=0.2)
    return [e for e in events if isinstance(e, FillCorrected)]


def _book(store):
    with store() as uow:
        return (uow.positions.get(account="paper", bot="bot", symbol="AAPL").quantity,
                [t for _, t in uow.trades.list(account="paper")], uow.accounts.get(account="paper", bot="bot").cash)


def test_a_busted_closing_trade_is_taken_out_of_the_store_and_reconciliation_agrees(fake_alpaca, alpaca, book):
    fake_alpaca.set_price("AAPL", "100")
    _trade(alpaca, book, "qs-in", OrderSide.BUY)
    fake_alpaca.set_price("AAPL", "110")
    _trade(alpaca, book, "qs-out", OrderSide.SELL)
    assert _book(book)[0] == 0 and _book(book)[1][0].gross_pnl == D(30)

    fake_alpaca.bust("qs-out", cum_qty="3")
    (bust,) = _corrections(alpaca)
    outcome = apply_broker_events([bust], uow_factory=book)

    assert bust.busted and bust.fill_id == f"{fake_alpaca.order('qs-out').id}:3"
    position, trips, cash = _book(book)
    assert (outcome.applied, position, trips, cash) == (1, D(3), [], CASH - 300)
    assert len(outcome.alerts) == 1 and "busted" in outcome.alerts[0]
    with book() as uow:
        assert uow.orders.get("qs-out").filled_quantity == 0
        assert [e for e in uow.audit.list(account="paper") if e.severity == "critical" and "busted" in e.message]
    report = reconcile(account="paper", broker=alpaca.broker, uow_factory=book, now=datetime.now(timezone.utc))
    assert report.ok, report.mismatches
    assert report.positions == {"AAPL": (D(3), D(3))}


def test_a_restated_price_corrects_the_round_trip(fake_alpaca, alpaca, book):
    fake_alpaca.set_price("AAPL", "100")
    _trade(alpaca, book, "qs-in", OrderSide.BUY)
    fake_alpaca.set_price("AAPL", "110")
    _trade(alpaca, book, "qs-out", OrderSide.SELL)

    fake_alpaca.restate("qs-in", cum_qty="3", price="99.5")
    (restated,) = _corrections(alpaca)
    apply_broker_events([restated], uow_factory=book)
    apply_broker_events([restated], uow_factory=book)  # told twice: corrected once

    _, (trip,), cash = _book(book)
    assert (trip.entry_price, trip.gross_pnl, cash) == (D("99.5"), D("31.5"), CASH + D("31.5"))
    report = reconcile(account="paper", broker=alpaca.broker, uow_factory=book, now=datetime.now(timezone.utc))
    assert report.ok, report.mismatches


def test_a_bust_of_a_fill_learnt_over_rest_is_found_by_what_the_execution_was(fake_alpaca, alpaca, book):
    fake_alpaca.set_price("AAPL", "100")
    _trade(alpaca, book, "qs-in", OrderSide.BUY)
    # Another session (a restart): this one never saw the fill's execution_id on the stream.
    restarted = build_alpaca_venue(**fake_alpaca.connection(), clock=WallClock(), **FAST)
    try:
        restarted.broker.poll_events()
        poll_until(restarted.broker, lambda seen: fake_alpaca.trading_stream.listening() == 2)
        fake_alpaca.bust("qs-in", cum_qty="3")
        (bust,) = _corrections(restarted)
        assert (bust.fill_id, bust.original_quantity, bust.original_price) == (None, D(3), D(100))
        apply_broker_events([bust], uow_factory=book)
    finally:
        restarted.close()
    assert _book(book) == (D(0), [], CASH)


def test_fee_activities_are_recorded_once_on_the_order_or_as_account_charges(fake_alpaca, alpaca, book):
    fake_alpaca.set_price("AAPL", "100")
    _trade(alpaca, book, "qs-in", OrderSide.BUY)
    fake_alpaca.set_price("AAPL", "110")
    _trade(alpaca, book, "qs-out", OrderSide.SELL)
    fake_alpaca.charge_fee("0.02", "TAF fee", symbol="AAPL", client_order_id="qs-out")
    fake_alpaca.charge_fee("0.01", "REG fee")  # names no order: the account's
    fake_alpaca.charge_fee("0.05", "CAT fee", status="canceled")  # charged, then taken back

    first = reconcile(account="paper", broker=alpaca.broker, uow_factory=book, now=datetime.now(timezone.utc))
    again = reconcile(account="paper", broker=alpaca.broker, uow_factory=book, now=datetime.now(timezone.utc))

    assert first.ok and len(first.charges) == 4 and again.charges == []
    _, (trip,), cash = _book(book)
    assert (trip.commission, trip.net_pnl, cash) == (D("0.02"), D("29.98"), CASH + D("29.98"))
    with book() as uow:
        charges = uow.venue_charges.list(account="paper")
    assert sorted((c.bot, c.amount) for c in charges) == [("", D("-0.05")), ("", D("0.01")), ("", D("0.05")),
                                                          ("bot", D("0.02"))]
