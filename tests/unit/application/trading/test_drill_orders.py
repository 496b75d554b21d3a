"""The session's side of the kill-switch drill (application/trading/drill_orders.py): a request
in the store becomes one resting order of the bot, recorded before it is sent, at half the
last price; a halted bot or a bot with no price yet gets none; a drill order left behind is
cancelled by the session once it outlives its drill."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from application.records import ControlState, bot_scope
from application.trading.drill_orders import (
    ORDER_TTL,
    PLACED,
    REFUSED,
    REQUESTED,
    DrillRequest,
    read_request,
    write_request,
)
from domain.orders.order import OrderSide, OrderStatus, OrderType
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import T0, always, bar, spec
from tests.fakes.harness import Harness


def _session(h: Harness):
    session = h.session([spec("spy", strategy=always(Target.FLAT))])
    session.start(now=h.wall.now())
    return session


def _request(h: Harness, request_id: str = "r1") -> None:
    with h.store() as uow:
        write_request(uow, account=h.account, bot="spy", at=h.wall.now(),
                      request=DrillRequest(request_id=request_id, requested_at=h.wall.now(), state=REQUESTED))
        uow.commit()


def _supervise(h: Harness, session, seconds: float = 1.0) -> None:
    h.wall.advance(timedelta(seconds=seconds))
    session.idle(now=h.wall.now())


def _answer(h: Harness) -> DrillRequest:
    with h.store() as uow:
        request = read_request(uow, account=h.account, bot="spy")
    assert request is not None
    return request


def test_a_request_becomes_one_resting_buy_limit_at_half_the_last_price_cancelled_by_a_halt():
    h = Harness(wall=T0)
    session = _session(h)
    session.process_bar(bar("SPY", T0 - timedelta(minutes=2), "401.30"), now=h.wall.now())
    _request(h)
    _supervise(h, session)
    answer = _answer(h)
    assert answer.state == PLACED and answer.client_order_id == "drill-r1"
    [sent] = [o for o in h.broker.submits if o.client_order_id == "drill-r1"]
    assert (sent.side, sent.order_type, sent.limit_price, sent.quantity) == (
        OrderSide.BUY, OrderType.LIMIT, Decimal("200.65"), Decimal(1))
    assert h.order("drill-r1").status is OrderStatus.ACCEPTED and h.order("drill-r1").strategy == "drill"
    _supervise(h, session)
    assert h.broker.submitted_ids().count("drill-r1") == 1  # served once
    with h.store() as uow:
        uow.control.set(ControlState(scope=bot_scope(h.account, "spy"), state=TradingState.HALTED, reason="drill",
                                     actor="ops", changed_at=h.wall.now()))
        uow.commit()
    _supervise(h, session)
    assert h.order("drill-r1").status is OrderStatus.CANCELLED and h.broker.cancels == ["drill-r1"]


def test_no_drill_order_for_a_bot_without_a_price_or_halted():
    h = Harness(wall=T0)
    session = _session(h)
    _request(h)
    _supervise(h, session)
    assert _answer(h).state == REFUSED and "no price yet" in _answer(h).detail
    session.process_bar(bar("SPY", T0 - timedelta(minutes=2), "100"), now=h.wall.now())
    with h.store() as uow:
        uow.control.set(ControlState(scope=bot_scope(h.account, "spy"), state=TradingState.HALTED, reason="ops",
                                     actor="ops", changed_at=h.wall.now()))
        uow.commit()
    _request(h, "r2")
    _supervise(h, session)
    assert _answer(h).state == REQUESTED and h.broker.submits == []


def test_a_drill_order_that_outlives_its_drill_is_cancelled_by_the_session():
    h = Harness(wall=T0)
    session = _session(h)
    session.process_bar(bar("SPY", T0 - timedelta(minutes=2), "100"), now=h.wall.now())
    _request(h)
    _supervise(h, session)
    _supervise(h, session, seconds=ORDER_TTL.total_seconds() / 2)
    assert h.order("drill-r1").status is OrderStatus.ACCEPTED
    _supervise(h, session, seconds=ORDER_TTL.total_seconds())
    order = h.order("drill-r1")
    assert order.status is OrderStatus.CANCELLED and "outlived its drill" in order.reason
