from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.errors import IllegalTransition
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType, can_transition, client_order_id_for

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=timezone.utc)


def make_order(**overrides) -> Order:
    fields = dict(
        client_order_id="qs-1", account="a", bot="b", strategy="s", symbol="SPY", side=OrderSide.BUY,
        order_type=OrderType.MARKET, quantity=Decimal(10), created_at=T0, signal_ts=T0,
    )
    fields.update(overrides)
    return Order(**fields)


def test_happy_path_through_the_table():
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    assert order.submitted_at == T0
    order.transition(OrderStatus.ACCEPTED, at=T0)
    order.apply_fill(quantity=Decimal(4), price=Decimal(100), at=T0)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.apply_fill(quantity=Decimal(6), price=Decimal(110), at=T0)
    assert order.status is OrderStatus.FILLED
    assert order.average_fill_price == Decimal(106)
    assert order.remaining_quantity == 0


@pytest.mark.parametrize("terminal", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED,
                                      OrderStatus.EXPIRED, OrderStatus.DENIED])
def test_terminal_states_never_move(terminal):
    assert terminal.is_terminal
    for target in OrderStatus:
        assert not can_transition(terminal, target)


def test_filled_then_new_is_illegal():
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    order.apply_fill(quantity=Decimal(10), price=Decimal(1), at=T0)
    with pytest.raises(IllegalTransition, match="filled -> accepted"):
        order.transition(OrderStatus.ACCEPTED, at=T0)
    assert order.status is OrderStatus.FILLED


def test_an_acknowledged_order_can_still_be_rejected_by_the_venue():
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    order.transition(OrderStatus.ACCEPTED, at=T0)
    order.transition(OrderStatus.REJECTED, at=T0, reason="FAILED at the venue")
    assert order.status is OrderStatus.REJECTED and order.reason == "FAILED at the venue"


def test_an_overfill_is_added_and_named():
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    note = order.apply_fill(quantity=Decimal(11), price=Decimal(1), at=T0)
    assert note == "overfill: the venue filled 11 of an order for 10"
    assert order.filled_quantity == 11 and order.status is OrderStatus.FILLED


@pytest.mark.parametrize("ended", [OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED])
def test_a_fill_after_the_order_ended_is_added_without_reopening_it(ended):
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    order.transition(ended, at=T0)
    assert order.apply_fill(quantity=Decimal(4), price=Decimal(100), at=T0) == f"fill after the order was {ended.value}"
    assert order.status is ended and order.filled_quantity == 4
    order.apply_fill(quantity=Decimal(6), price=Decimal(110), at=T0)
    assert order.status is OrderStatus.FILLED and order.average_fill_price == Decimal(106)


def test_a_partial_fill_during_a_pending_cancel_keeps_the_request_and_a_full_one_ends_it():
    order = make_order()
    order.transition(OrderStatus.SUBMITTED, at=T0)
    order.transition(OrderStatus.PENDING_CANCEL, at=T0)
    assert order.apply_fill(quantity=Decimal(4), price=Decimal(100), at=T0) == ""
    assert order.status is OrderStatus.PENDING_CANCEL and order.filled_quantity == 4
    order.apply_fill(quantity=Decimal(6), price=Decimal(100), at=T0)
    assert order.status is OrderStatus.FILLED


@pytest.mark.parametrize("bad", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_bad_quantity_refused(bad):
    with pytest.raises(ValueError):
        make_order(quantity=bad)


def test_limit_needs_price():
    with pytest.raises(ValueError, match="limit_price"):
        make_order(order_type=OrderType.LIMIT)


def test_client_order_id_is_deterministic_and_distinct():
    args = dict(account="paper", bot="equity", strategy="ma", symbol="SPY", side=OrderSide.BUY, signal_ts=T0)
    first = client_order_id_for(**args)
    assert first == client_order_id_for(**args)
    assert first.startswith("qs-") and len(first) <= 48
    assert first != client_order_id_for(**{**args, "side": OrderSide.SELL})
    assert first != client_order_id_for(**{**args, "signal_ts": T0.replace(minute=1)})
    assert first != client_order_id_for(**{**args, "account": "sim-0001"})
