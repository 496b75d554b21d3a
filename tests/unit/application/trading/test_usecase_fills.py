"""Venue events applied through the state machine: every fill recorded exactly once,
whatever the order's status (after a cancel, beyond its quantity) and however often it
comes; illegal status transitions ignored and audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from application.records import AuditKind
from application.trading.apply_broker_events import apply_broker_events
from domain.orders.events import OrderAccepted, OrderCancelled, OrderExpired, OrderFilled
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.fakes.builders import ACCOUNT, T0
from tests.fakes.memory_store import InMemoryStore

CASH = Decimal(100_000)

# Three orders of one bot and their partial fills: (order, side, symbol, quantity, [(fill qty, price, commission)]).
BOOK = [
    ("o-spy-buy", OrderSide.BUY, "SPY", Decimal(10),
     [(Decimal(3), Decimal("100.10"), Decimal("0.30")), (Decimal(3), Decimal("100.20"), Decimal("0.30")),
      (Decimal(4), Decimal("100.05"), Decimal("0.40"))]),
    ("o-qqq-buy", OrderSide.BUY, "QQQ", Decimal(5),
     [(Decimal(2), Decimal("400.00"), Decimal("0")), (Decimal(3), Decimal("401.50"), Decimal("0.15"))]),
    ("o-spy-sell", OrderSide.SELL, "SPY", Decimal(6),
     [(Decimal(1), Decimal("101.00"), Decimal("0.10")), (Decimal(5), Decimal("100.90"), Decimal("0.50"))]),
]


def _fills() -> list[Fill]:
    fills = []
    for o, (cid, side, symbol, _, parts) in enumerate(BOOK):
        for i, (qty, price, commission) in enumerate(parts):
            fills.append(Fill(fill_id=f"{cid}-f{i}", client_order_id=cid, symbol=symbol, side=side, quantity=qty,
                              price=price, commission=commission, ts=T0 + timedelta(seconds=10 * o + i)))
    return fills


FILLS = _fills()


def _store_with_submitted_orders() -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        uow.accounts.ensure(account=ACCOUNT, bot="bot1", initial_cash=CASH)
        for cid, side, symbol, quantity, _ in BOOK:
            order = Order(client_order_id=cid, account=ACCOUNT, bot="bot1", strategy="s", symbol=symbol, side=side,
                          order_type=OrderType.MARKET, quantity=quantity, created_at=T0, signal_ts=T0)
            order.transition(OrderStatus.SUBMITTED, at=T0)
            assert uow.orders.add(order)
        uow.commit()
    return store


@st.composite
def shuffled_with_duplicates(draw):
    """Every fill at least once, some two or three times, in any order."""
    extra = draw(st.lists(st.sampled_from(FILLS), max_size=2 * len(FILLS)))
    return draw(st.permutations(FILLS + extra))


@settings(max_examples=150, deadline=None)
@given(shuffled_with_duplicates())
def test_duplicated_and_shuffled_fills_are_recorded_exactly_once(fills):
    store = _store_with_submitted_orders()
    events = [OrderFilled(fill=f) for f in fills]

    outcome = apply_broker_events(events, uow_factory=store)

    assert outcome.applied == len(FILLS)
    assert outcome.duplicates == len(fills) - len(FILLS)
    assert outcome.ignored == 0
    with store() as uow:
        stored = uow.fills.list(account=ACCOUNT)
        assert sorted(f.fill_id for f in stored) == sorted(f.fill_id for f in FILLS)
        assert uow.fills.count(account=ACCOUNT) == len(FILLS)
        for symbol in ("SPY", "QQQ"):
            position = uow.positions.get(account=ACCOUNT, bot="bot1", symbol=symbol)
            assert position.quantity == sum((f.signed_quantity for f in FILLS if f.symbol == symbol), Decimal(0))
        # SPY: +10 -6 = 4, QQQ: +5 (figures spelt out so a wrong sum cannot agree with itself)
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY").quantity == 4
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="QQQ").quantity == 5
        cash = uow.accounts.get(account=ACCOUNT, bot="bot1").cash
        assert cash == CASH - sum((f.signed_quantity * f.price + f.commission for f in FILLS), Decimal(0))
        assert cash == Decimal("97598.15")  # - 1001.10 - 2004.50 + 605.50 - 1.75
        for cid, _, _, quantity, parts in BOOK:
            order = uow.orders.get(cid)
            assert order.filled_quantity == sum((q for q, _, _ in parts), Decimal(0)) == quantity
            assert order.status is OrderStatus.FILLED
        fill_audits = [e for e in uow.audit.list(kind="fill", limit=10_000)]
        assert sorted(e.data["fill_id"] for e in fill_audits) == sorted(f.fill_id for f in FILLS)

    before = store.snapshot()
    again = apply_broker_events(events, uow_factory=store)
    assert (again.applied, again.duplicates, again.ignored) == (0, len(fills), 0)
    assert store.snapshot() == before


def test_a_fill_replayed_after_the_order_is_done_changes_nothing():
    store = _store_with_submitted_orders()
    apply_broker_events([OrderFilled(fill=f) for f in FILLS], uow_factory=store)
    before = store.snapshot()
    outcome = apply_broker_events([OrderFilled(fill=FILLS[0]), OrderFilled(fill=FILLS[-1])], uow_factory=store)
    assert outcome.duplicates == 2 and outcome.applied == 0
    assert store.snapshot() == before


def test_an_overfill_with_a_new_fill_id_is_recorded_and_flagged():
    """The venue filled more than we asked (an order replaced at the venue, say): still a fact."""
    store = _store_with_submitted_orders()
    apply_broker_events([OrderFilled(fill=f) for f in FILLS], uow_factory=store)
    extra = Fill(fill_id="o-qqq-buy-f99", client_order_id="o-qqq-buy", symbol="QQQ", side=OrderSide.BUY,
                 quantity=Decimal(1), price=Decimal(400), commission=Decimal(0), ts=T0 + timedelta(minutes=5))
    outcome = apply_broker_events([OrderFilled(fill=extra)], uow_factory=store)
    assert (outcome.applied, outcome.ignored) == (1, 0)
    with store() as uow:
        assert uow.fills.exists("o-qqq-buy-f99")
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="QQQ").quantity == 6
        order = uow.orders.get("o-qqq-buy")
        [warning] = [e for e in uow.audit.list(kind="fill") if e.severity == "warning"]
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 6
    assert "overfill: the venue filled 6 of an order for 5" in warning.message


def _spy_buy_fill(index: int, quantity: str, *, seconds: int = 0) -> OrderFilled:
    return OrderFilled(fill=Fill(
        fill_id=f"o-spy-buy-late{index}", client_order_id="o-spy-buy", symbol="SPY", side=OrderSide.BUY,
        quantity=Decimal(quantity), price=Decimal("100.00"), commission=Decimal("0.10"),
        ts=T0 + timedelta(minutes=1, seconds=seconds)))


def test_a_fill_after_the_cancel_request_is_recorded_and_the_cancel_then_ends_the_order():
    store = _store_with_submitted_orders()
    with store() as uow:
        order = uow.orders.get("o-spy-buy")
        order.transition(OrderStatus.PENDING_CANCEL, at=T0, reason="stop moved")
        uow.orders.save(order)
        uow.commit()
    events = [
        _spy_buy_fill(0, "3"),
        OrderCancelled(client_order_id="o-spy-buy", reason="canceled", ts=T0 + timedelta(minutes=2),
                       filled_quantity=Decimal(3)),
    ]
    outcome = apply_broker_events(events, uow_factory=store)
    assert (outcome.applied, outcome.ignored) == (2, 0)
    with store() as uow:
        order = uow.orders.get("o-spy-buy")
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY").quantity == 3
        assert [e.severity for e in uow.audit.list(kind="order")] == ["info"]  # no quantity mismatch
    assert order.status is OrderStatus.CANCELLED and order.filled_quantity == 3
    assert order.reason == "stop moved"


def test_fills_after_the_cancel_ack_are_recorded_exactly_once_and_the_order_stays_cancelled():
    """Alpaca's REST read-back can say canceled before the trade stream's partial_fill is handled."""
    store = _store_with_submitted_orders()
    cancelled = OrderCancelled(client_order_id="o-spy-buy", reason="canceled", ts=T0 + timedelta(seconds=30),
                               filled_quantity=Decimal(4))
    late = [_spy_buy_fill(0, "1"), _spy_buy_fill(1, "3", seconds=1)]
    outcome = apply_broker_events([cancelled, *late, *late], uow_factory=store)
    assert (outcome.applied, outcome.duplicates, outcome.ignored) == (3, 2, 0)
    with store() as uow:
        order = uow.orders.get("o-spy-buy")
        assert uow.fills.count(account=ACCOUNT) == 2
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY").quantity == 4
        assert uow.accounts.get(account=ACCOUNT, bot="bot1").cash == CASH - Decimal("400.20")
        [mismatch] = [e for e in uow.audit.list(kind="order") if e.severity == "warning"]
        late_audits = [e for e in uow.audit.list(kind="fill") if e.severity == "warning"]
    assert order.status is OrderStatus.CANCELLED and order.filled_quantity == 4
    assert order.average_fill_price == Decimal("100.00")
    # The cancel came first and said 4 were filled while none was recorded yet.
    assert mismatch.data == {"venue_filled": "4", "recorded_filled": "0"}
    assert len(late_audits) == 2 and all("fill after the order was cancelled" in e.message for e in late_audits)


def test_a_late_fill_that_completes_a_cancelled_order_shows_the_cancel_never_took_effect():
    store = _store_with_submitted_orders()
    apply_broker_events([
        OrderCancelled(client_order_id="o-qqq-buy", reason="canceled", ts=T0),
        *[OrderFilled(fill=f) for f in FILLS if f.client_order_id == "o-qqq-buy"],
    ], uow_factory=store)
    with store() as uow:
        order = uow.orders.get("o-qqq-buy")
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="QQQ").quantity == 5
    assert order.status is OrderStatus.FILLED and order.filled_quantity == 5


ENDINGS = [
    OrderCancelled(client_order_id="o-spy-buy", reason="canceled", ts=T0 + timedelta(seconds=5)),
    OrderCancelled(client_order_id="o-qqq-buy", reason="canceled", ts=T0 + timedelta(seconds=15)),
    OrderExpired(client_order_id="o-spy-sell", ts=T0 + timedelta(seconds=25)),
]


@settings(max_examples=100, deadline=None)
@given(st.permutations(FILLS + ENDINGS))
def test_fills_and_cancels_in_any_order_leave_positions_equal_to_the_sum_of_fills(events):
    store = _store_with_submitted_orders()
    outcome = apply_broker_events([e if not isinstance(e, Fill) else OrderFilled(fill=e) for e in events],
                                  uow_factory=store)
    assert outcome.applied >= len(FILLS)
    with store() as uow:
        assert uow.fills.count(account=ACCOUNT) == len(FILLS)
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY").quantity == 4
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="QQQ").quantity == 5
        for cid, _, _, quantity, _ in BOOK:
            assert uow.orders.get(cid).filled_quantity == quantity


def test_a_late_accept_after_filled_is_ignored_and_audited_never_applied():
    store = _store_with_submitted_orders()
    apply_broker_events([OrderFilled(fill=f) for f in FILLS if f.client_order_id == "o-qqq-buy"], uow_factory=store)
    with store() as uow:
        filled = uow.orders.get("o-qqq-buy")
    assert filled.status is OrderStatus.FILLED

    late = [
        OrderAccepted(client_order_id="o-qqq-buy", venue_order_id="V-late", ts=T0 + timedelta(minutes=1)),
        OrderCancelled(client_order_id="o-qqq-buy", reason="venue housekeeping", ts=T0 + timedelta(minutes=2)),
    ]
    outcome = apply_broker_events(late, uow_factory=store)
    assert (outcome.applied, outcome.ignored) == (0, 2)

    with store() as uow:
        order = uow.orders.get("o-qqq-buy")
        warnings = [e for e in uow.audit.list(kind=AuditKind.ORDER.value) if e.severity == "warning"]
    assert order.status is OrderStatus.FILLED
    assert order.venue_order_id == "V-late"  # a late ack moves nothing back but still tells the venue id
    assert order.updated_at == filled.updated_at and order.reason == filled.reason
    assert [e.message for e in warnings] == [
        "ignored OrderAccepted: order o-qqq-buy: filled -> accepted is not allowed",
        "ignored OrderCancelled: order o-qqq-buy: filled -> cancelled is not allowed",
    ]
    assert all(e.client_order_id == "o-qqq-buy" and e.account == ACCOUNT for e in warnings)


def test_a_fill_for_an_order_we_never_intended_is_left_for_reconciliation():
    store = _store_with_submitted_orders()
    stranger = Fill(fill_id="x-1", client_order_id="not-ours", symbol="SPY", side=OrderSide.BUY,
                    quantity=Decimal(1), price=Decimal(100), commission=Decimal(0), ts=T0)
    outcome = apply_broker_events([OrderFilled(fill=stranger)], uow_factory=store)
    assert outcome.ignored == 1
    with store() as uow:
        assert uow.fills.count(account=ACCOUNT) == 0
        [entry] = uow.audit.list(kind="error")
    assert entry.severity == "warning" and "never intended" in entry.message


def test_a_round_trip_closed_by_a_replayed_fill_is_recorded_once():
    store = _store_with_submitted_orders()
    # Close the SPY position: buy 10, sell 6, then sell 4 more.
    with store() as uow:
        closing = Order(client_order_id="o-spy-close", account=ACCOUNT, bot="bot1", strategy="s", symbol="SPY",
                        side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=Decimal(4), created_at=T0,
                        signal_ts=T0 + timedelta(minutes=1))
        closing.transition(OrderStatus.SUBMITTED, at=T0)
        uow.orders.add(closing)
        uow.commit()
    last = Fill(fill_id="o-spy-close-f0", client_order_id="o-spy-close", symbol="SPY", side=OrderSide.SELL,
                quantity=Decimal(4), price=Decimal("102.00"), commission=Decimal("0.40"), ts=T0 + timedelta(minutes=1))
    events = [OrderFilled(fill=f) for f in FILLS] + [OrderFilled(fill=last)] * 3
    apply_broker_events(events, uow_factory=store)
    with store() as uow:
        trips = uow.trades.list(account=ACCOUNT, symbol="SPY")
        position = uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY")
    assert position.quantity == 0
    assert len(trips) == 1
    trip = trips[0][1]
    # Cost 3x100.10 + 3x100.20 + 4x100.05 = 1001.10; proceeds 101 + 5x100.90 + 4x102 = 1013.50.
    assert trip.gross_pnl == Decimal("12.40")
    assert trip.commission == Decimal("2.00")
    assert trip.net_pnl == Decimal("10.40")


def test_an_accepted_snapshot_while_our_cancel_is_pending_is_the_expected_race_not_a_warning():
    store = _store_with_submitted_orders()
    apply_broker_events([OrderAccepted(client_order_id="o-qqq-buy", venue_order_id="V-1", ts=T0)], uow_factory=store)
    with store() as uow:
        order = uow.orders.get("o-qqq-buy")
        order.transition(OrderStatus.PENDING_CANCEL, at=T0 + timedelta(seconds=1))
        uow.orders.save(order)
        uow.commit()
    # The venue's read-back after the cancel request still shows the order accepted (Alpaca cancels
    # asynchronously), then the cancel arrives.
    outcome = apply_broker_events([
        OrderAccepted(client_order_id="o-qqq-buy", venue_order_id="V-1", ts=T0 + timedelta(seconds=2)),
        OrderCancelled(client_order_id="o-qqq-buy", reason="", ts=T0 + timedelta(seconds=3))], uow_factory=store)
    assert (outcome.applied, outcome.ignored) == (1, 0)
    with store() as uow:
        assert uow.orders.get("o-qqq-buy").status is OrderStatus.CANCELLED
        assert [e.message for e in uow.audit.list(kind=AuditKind.ORDER.value) if e.severity == "warning"] == []
