"""Fail closed and unclear outcomes: no order leaves while the store is down, trading
goes on when it is back, and a submit whose outcome is unknown never becomes two orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from application.ports import AlertLevel
from application.safety.halt import HaltCommand, halt
from application.trading.trading_cycle import CycleResult
from domain.errors import StoreUnavailable
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, always, bar, bars, spec
from tests.fakes.harness import Harness

MINUTE = timedelta(minutes=1)


def test_with_the_store_down_a_cycle_raises_and_nothing_reaches_the_broker():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    h.store.available = False
    b0 = bar("SPY", T0, 100)
    with pytest.raises(StoreUnavailable):
        h.cycle.on_bar(bot, b0, now=b0.end)
    assert h.broker.submits == []

    h.store.available = True
    assert h.orders() == []  # nothing half-written either
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]
    assert [o.signal_ts for o in h.broker.submits] == [b1.ts]


def test_a_store_that_fails_once_at_the_intent_commit_sends_nothing_for_that_bar():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    h.store.fail_next = 1
    b0 = bar("SPY", T0, 100)
    with pytest.raises(StoreUnavailable):
        h.cycle.on_bar(bot, b0, now=b0.end, evaluations=5)
    assert h.broker.submits == []
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end, evaluations=5) == [CycleResult.SUBMITTED] + [CycleResult.DUPLICATE] * 4
    assert len(h.broker.submits) == 1


def test_the_session_marks_itself_degraded_while_the_store_is_down_and_trades_when_it_is_back():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    series = bars("SPY", [100, 100, 100])

    h.store.available = False
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[0], now=series[0].end)  # does not raise
    assert session.degraded.startswith("degraded: ")
    assert h.broker.submits == []
    assert [(a.level, a.title) for a in h.notifier.sent] == [(AlertLevel.CRITICAL, "store unavailable: trading paused")]
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[1], now=series[1].end)
    assert h.broker.submits == []
    assert len(h.notifier.sent) == 1  # alerted once, not on every bar

    h.store.available = True
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[2], now=series[2].end)
    assert session.degraded == ""
    assert [o.signal_ts for o in h.broker.submits] == [series[2].ts]
    assert (AlertLevel.WARNING, "store back: trading resumed") in {(a.level, a.title) for a in h.notifier.sent}
    assert session.tally["submitted"] == 1


def _sent_then_store_lost(h: Harness):
    """The venue takes the order, then the store fails before SUBMITTED is written."""
    bot = h.bot(spec(strategy=always(Target.LONG)))

    def store_goes_down(_order):
        h.store.fail_next = 1

    h.broker.on_submit = store_goes_down
    b0 = bar("SPY", T0, 100)
    with pytest.raises(StoreUnavailable):
        h.cycle.on_bar(bot, b0, now=b0.end)
    h.broker.on_submit = None
    [cid] = h.broker.created
    assert h.order(cid).status is OrderStatus.INITIALIZED
    return bot, cid


def test_an_order_sent_before_the_store_failed_is_never_sent_twice_and_its_fill_is_recorded():
    h = Harness()
    bot, cid = _sent_then_store_lost(h)
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.DENIED]  # the intent is still open
    assert len(h.broker.submits) == 1
    h.broker.fill(cid, 500, 100, b1.end)
    h.settle(bot)
    assert h.order(cid).status is OrderStatus.FILLED
    assert bot.portfolio.position("SPY").quantity == 500


def test_a_halt_cancels_at_the_venue_an_order_whose_send_was_not_recorded():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)

    def store_goes_down(_order):
        h.store.fail_next = 1  # the venue takes the order; writing SUBMITTED fails

    h.broker.on_submit = store_goes_down
    b0 = bar("SPY", T0, 100)
    session.process_bar(b0, now=b0.end)
    h.broker.on_submit = None
    [cid] = h.broker.created
    assert session.degraded and h.order(cid).status is OrderStatus.INITIALIZED

    halt(HaltCommand(reason="stop", actor="ops"), uow_factory=h.store, clock=h.wall, notifier=h.notifier)
    h.wall.advance(timedelta(seconds=1))
    session.idle(now=b0.end)
    assert h.order(cid).status is OrderStatus.CANCELLED  # our records say it is gone...
    # ...but nobody asked the venue, which still works the order and may fill it.
    assert h.broker.cancels == [cid], "the venue was never asked to cancel"
    assert h.broker.open_orders() == []


def test_a_submit_timeout_after_the_venue_created_the_order_gives_exactly_one_order():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))], evaluations_per_bar=3)
    session.start(now=T0)
    h.broker.fail_next_submit(created_anyway=True)  # times out, but the venue took it; ack comes late
    series = bars("SPY", [100, 100, 100, 100])
    session.process_bar(series[0], now=series[0].end)
    assert session.tally["unknown_outcome"] == 1 and session.tally["duplicate"] == 2
    [cid] = h.broker.created
    order = h.order(cid)
    assert order.status is OrderStatus.SUBMITTED and order.reason.startswith("outcome unknown: ")

    session.process_bar(series[1], now=series[1].end)  # drains the late ack first
    assert h.order(cid).status is OrderStatus.ACCEPTED
    assert h.order(cid).venue_order_id == "V000001"
    for b in series[2:]:
        session.process_bar(b, now=b.end)
    assert len(h.broker.submits) == 1 and len(h.broker.created) == 1  # never resent, never a new id
    assert session.tally["denied"] == 3  # the later bars' intents wait for the pending one


def test_an_unknown_outcome_is_resolved_by_looking_the_order_up_while_the_session_runs():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    h.broker.fail_next_submit(created_anyway=False)  # the venue never got it
    series = bars("SPY", [100] * 10)
    for b in series:
        h.wall.advance(timedelta(seconds=30))
        session.process_bar(b, now=b.end)
    [first] = [o for o in h.orders() if o.client_order_id == h.broker.submits[0].client_order_id]
    assert first.client_order_id in h.broker.lookups, "nobody asked the venue about the unknown outcome"
    assert not first.status.is_open


def test_at_restart_an_intent_never_sent_is_not_sent_late_and_one_the_venue_has_is_adopted():
    """SIGKILL after the intent commit: before the send (SPY) and after it (QQQ)."""
    h = Harness()
    bot_spec = spec(strategy=always(Target.LONG), symbols=("SPY", "QQQ"))
    h.bot(bot_spec)
    intents = {}
    with h.store() as uow:
        for symbol in ("SPY", "QQQ"):
            order = Order(client_order_id=f"qs-{symbol}", account=ACCOUNT, bot="bot1", strategy="always",
                          symbol=symbol, side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(10),
                          created_at=T0, signal_ts=T0, updated_at=T0)
            uow.orders.add(order)
            intents[symbol] = order
        uow.commit()
    h.broker.submit(intents["QQQ"])  # the venue took QQQ; the process died before hearing back
    h.broker.submits.clear()

    session = h.session([bot_spec])
    session.start(now=T0 + 2 * MINUTE)

    spy, qqq = h.order("qs-SPY"), h.order("qs-QQQ")
    assert (spy.status, spy.reason) == (
        OrderStatus.CANCELLED, "intent never confirmed sent; not sent late on an old signal")
    assert (qqq.status, qqq.venue_order_id) == (OrderStatus.ACCEPTED, "V000001")
    assert session.tally["stale_orders_closed"] == 1
    assert h.broker.submits == []  # nothing is sent at start-up
    assert sorted(h.broker.lookups) == ["qs-QQQ", "qs-SPY"]


def test_fills_that_arrive_while_the_store_is_down_are_recorded_when_it_is_back():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    series = bars("SPY", [100, 100, 100])
    session.process_bar(series[0], now=series[0].end)
    [cid] = h.broker.created
    h.broker.fill(cid, 500, 100, series[0].end)

    h.store.available = False
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[1], now=series[1].end)  # the fill is polled here
    assert session.degraded

    h.store.available = True
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[2], now=series[2].end)
    with h.store() as uow:
        assert uow.fills.count(account=ACCOUNT) == 1
        assert uow.positions.get(account=ACCOUNT, bot="bot1", symbol="SPY").quantity == Decimal(500)
    assert h.order(cid).status is OrderStatus.FILLED
