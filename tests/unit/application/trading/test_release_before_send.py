"""The last look before the send (application/trading/release.py), for what else can change between
an intent's commit and its send: an operator's stop of the bot, the hot standby's lease, and a
REDUCING switch that still lets exits out. (The halt itself, on both real stores:
tests/integration/stores/test_halt_before_send.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from application.safety.lease import LeaseGuard
from application.trading.bot_runs import StopBotCommand, stop_bot
from application.trading.trading_cycle import CycleResult, TradingCycle
from domain.orders.order import OrderStatus
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, always, bar, spec
from tests.fakes.clock import FixedClock
from tests.fakes.faults import RunAt
from tests.fakes.harness import Harness
from tests.fakes.notifier import RecordingNotifier


def _cycle(h: Harness, act: Callable[[], None], *, lease: LeaseGuard | None = None) -> TradingCycle:
    return TradingCycle(uow_factory=h.store, broker=h.broker, notifier=h.notifier, lease=lease,
                        faults=RunAt("after_intent_commit", act))


def test_an_operators_stop_between_the_intent_and_the_send_keeps_the_entry_home():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    stop = lambda: stop_bot(StopBotCommand(account=ACCOUNT, bot="bot1", actor="ops", reason="maintenance"),  # noqa: E731
                            uow_factory=h.store, clock=FixedClock(T0), notifier=RecordingNotifier())
    b0 = bar("SPY", T0, 100)
    assert _cycle(h, stop).on_bar(bot, b0, now=b0.end) == [CycleResult.BOT_STOPPED]
    assert h.broker.submits == []
    [order] = h.orders()
    assert order.status is OrderStatus.CANCELLED
    assert order.reason == "not sent: the bot was stopped by ops: maintenance since the intent was committed"


def test_an_instance_that_lost_its_lease_before_the_send_does_not_send():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    mine, standby = LeaseGuard(holder="a", ttl_seconds=2.0), LeaseGuard(holder="b", ttl_seconds=2.0)

    def paused_past_the_lease() -> None:
        h.wall.advance(timedelta(seconds=3))
        assert standby.acquire_all(h.store, account=ACCOUNT, bots=["bot1"])

    b0 = bar("SPY", T0, 100)
    assert _cycle(h, paused_past_the_lease, lease=mine).on_bar(bot, b0, now=b0.end) == [CycleResult.NOT_LEADER]
    assert h.broker.submits == []
    [order] = h.orders()
    assert (order.status, order.reason) == (
        OrderStatus.CANCELLED, "not sent: this instance lost the bot's lease after the intent was committed")
