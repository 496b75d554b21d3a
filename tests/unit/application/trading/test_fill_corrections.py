"""Busted and restated fills and late fees: the fill, the order, the position, the round trip
and the cash corrected as if it had been so from the start, once, audited and alerted."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from application.records import AuditKind, VenueCharge
from application.trading.apply_broker_events import apply_broker_events
from application.trading.fill_corrections import record_venue_charges
from domain.orders.events import FillCorrected, OrderFilled
from domain.orders.fill import Fill
from domain.orders.fill_corrections import effective_fills, replay
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.fakes.builders import ACCOUNT, T0
from tests.fakes.memory_store import InMemoryStore

D = Decimal
CASH = D(100_000)


def _store(*orders: tuple[str, OrderSide, str]) -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        uow.accounts.ensure(account=ACCOUNT, bot="b", initial_cash=CASH)
        for coid, side, quantity in orders:
            order = Order(client_order_id=coid, account=ACCOUNT, bot="b", strategy="s", symbol="SPY", side=side,
                          order_type=OrderType.MARKET, quantity=D(quantity), created_at=T0, signal_ts=T0)
            order.transition(OrderStatus.SUBMITTED, at=T0)
            uow.orders.add(order)
        uow.commit()
    return store


def _fill(fill_id: str, coid: str, side: OrderSide, quantity: str, price: str, *, at: int,
          commission: str = "0") -> OrderFilled:
    return OrderFilled(fill=Fill(fill_id=fill_id, client_order_id=coid, symbol="SPY", side=side, quantity=D(quantity),
                                 price=D(price), commission=D(commission), ts=T0 + timedelta(minutes=at)))


def _round_trip_store() -> InMemoryStore:
    """Bought 10 @ 100, sold 10 @ 110: one round trip, +100."""
    store = _store(("buy", OrderSide.BUY, "10"), ("sell", OrderSide.SELL, "10"))
    apply_broker_events([_fill("v-buy:10", "buy", OrderSide.BUY, "10", "100", at=1),
                         _fill("v-sell:10", "sell", OrderSide.SELL, "10", "110", at=2)], uow_factory=store)
    return store


def _book(store: InMemoryStore):
    with store() as uow:
        return (uow.positions.get(account=ACCOUNT, bot="b", symbol="SPY"),
                [trip for _, trip in uow.trades.list(account=ACCOUNT)],
                uow.accounts.get(account=ACCOUNT, bot="b").cash, uow.orders.get("buy"), uow.orders.get("sell"),
                uow.audit.list(account=ACCOUNT))


def test_a_busted_closing_fill_reopens_the_position_removes_the_round_trip_and_restores_cash():
    store = _round_trip_store()
    assert _book(store)[2] == CASH + 100

    outcome = apply_broker_events([FillCorrected(
        correction_id="bust-1", client_order_id="sell", fill_id="v-sell:10", quantity=D(0), price=None,
        ts=T0 + timedelta(hours=1), reason="trade_bust at alpaca")], uow_factory=store)

    position, trips, cash, _, sell, audit = _book(store)
    assert outcome.applied == 1 and len(outcome.alerts) == 1 and "busted" in outcome.alerts[0]
    assert (position.quantity, position.cost_basis, trips, cash) == (D(10), D(1000), [], CASH - 1000)
    assert (sell.filled_quantity, sell.average_fill_price) == (D(0), None)
    assert [e for e in audit if e.severity == "critical" and e.kind is AuditKind.FILL and "busted" in e.message]
    with store() as uow:  # the fill as told stays: a replay of it is never recorded again
        assert uow.fills.exists("v-sell:10")
    again = apply_broker_events([_fill("v-sell:10", "sell", OrderSide.SELL, "10", "110", at=2)], uow_factory=store)
    assert again.duplicates == 1 and _book(store)[0].quantity == D(10)


def test_a_restated_price_corrects_the_round_trip_and_the_cash_once():
    store = _round_trip_store()
    restated = FillCorrected(correction_id="restate-1", client_order_id="buy", fill_id=None, quantity=D(10),
                             price=D(99), original_quantity=D(10), original_price=D(100),
                             ts=T0 + timedelta(hours=1), reason="restated at alpaca")

    first = apply_broker_events([restated], uow_factory=store)
    second = apply_broker_events([restated], uow_factory=store)

    position, (trip,), cash, buy, _, _ = _book(store)
    assert (first.applied, second.duplicates) == (1, 1)
    assert (trip.entry_price, trip.gross_pnl, cash, position.quantity) == (D(99), D(110), CASH + 110, D(0))
    assert (buy.filled_quantity, buy.average_fill_price) == (D(10), D(99))


def test_a_correction_that_names_no_recorded_fill_changes_nothing_and_alerts():
    store = _round_trip_store()
    before = store.snapshot()["positions"]
    outcome = apply_broker_events([FillCorrected(
        correction_id="bust-x", client_order_id="buy", fill_id=None, quantity=D(0), price=None,
        original_quantity=D(3), original_price=D(100), ts=T0 + timedelta(hours=1), reason="trade_bust")],
        uow_factory=store)
    assert outcome.ignored == 1 and "cannot be told apart" in outcome.alerts[0]
    assert store.snapshot()["positions"] == before


def test_a_fee_naming_an_order_goes_on_its_latest_fill_and_one_naming_none_is_an_account_charge():
    store = _round_trip_store()
    fees = [VenueCharge(charge_id="fee-1", amount=D("0.03"), ts=T0 + timedelta(hours=5), description="TAF fee",
                        client_order_id="sell", symbol="SPY"),
            VenueCharge(charge_id="fee-2", amount=D("0.01"), ts=T0 + timedelta(hours=5), description="CAT fee")]

    lines = record_venue_charges(fees + fees, account=ACCOUNT, uow_factory=store)  # the second time: nothing

    _, (trip,), cash, _, _, _ = _book(store)
    assert len(lines) == 2 and "account charge" in lines[1]
    assert (trip.commission, trip.net_pnl, cash) == (D("0.03"), D("99.97"), CASH + D("99.97"))
    with store() as uow:
        charges = uow.venue_charges.list(account=ACCOUNT)
    assert [(c.charge_id, c.bot, c.fill_id) for c in charges] == [("fee-1", "b", "v-sell:10"), ("fee-2", "", None)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([OrderSide.BUY, OrderSide.SELL]), st.integers(1, 9), st.integers(90, 110)),
                min_size=1, max_size=8), st.data())
def test_after_any_bust_the_position_is_the_replay_of_the_remaining_fills(trades, data):
    store = _store(*[(f"o{i}", side, str(q)) for i, (side, q, _) in enumerate(trades)])
    events = [_fill(f"f{i}", f"o{i}", side, str(q), str(p), at=i) for i, (side, q, p) in enumerate(trades)]
    apply_broker_events(events, uow_factory=store)
    busted = data.draw(st.integers(0, len(trades) - 1))

    apply_broker_events([FillCorrected(correction_id="b", client_order_id=f"o{busted}", fill_id=f"f{busted}",
                                       quantity=D(0), price=None, ts=T0 + timedelta(days=1), reason="bust")],
                        uow_factory=store)

    remaining = [e.fill for i, e in enumerate(events) if i != busted]
    expected = replay(bot="b", symbol="SPY", fills=effective_fills(remaining))
    position, trips, cash, _, _, _ = _book(store)
    assert (position.quantity, position.cost_basis, position.realized_pnl) == (
        expected.position.quantity, expected.position.cost_basis, expected.position.realized_pnl)
    assert trips == list(expected.trips)
    assert cash == CASH - sum((f.signed_quantity * f.price for f in remaining), D(0))
