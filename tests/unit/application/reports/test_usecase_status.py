"""Truthful liveness: "running" comes from the heartbeat's age, never from a flag alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from application.records import GLOBAL_SCOPE, BotRunState, ControlState, Heartbeat
from application.reports.status import BotLiveness, bot_statuses, liveness
from application.safety.halt import HaltCommand, halt
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, always, bar, spec
from tests.fakes.harness import Harness

BEAT = Heartbeat(account=ACCOUNT, bot="bot1", pid=1, host="h", mode="paper", started_at=T0, beat_at=T0,
                 interval_seconds=5.0, run_state=BotRunState.RUNNING)
HALTED = ControlState(scope=GLOBAL_SCOPE, state=TradingState.HALTED, reason="r", actor="a", changed_at=T0)
ACTIVE = ControlState(scope="bot1", state=TradingState.ACTIVE, reason="r", actor="a", changed_at=T0)


@pytest.mark.parametrize(
    ("age", "run_state", "control", "expected"),
    [
        (timedelta(0), BotRunState.RUNNING, None, BotLiveness.RUNNING),
        (timedelta(seconds=10), BotRunState.RUNNING, None, BotLiveness.RUNNING),  # exactly two intervals
        (timedelta(seconds=10, milliseconds=1), BotRunState.RUNNING, None, BotLiveness.STALE),
        (timedelta(hours=3), BotRunState.RUNNING, ACTIVE, BotLiveness.STALE),
        (timedelta(seconds=1), BotRunState.RUNNING, HALTED, BotLiveness.HALTED),
        (timedelta(minutes=1), BotRunState.RUNNING, HALTED, BotLiveness.STALE),  # a dead halted bot is dead
        (timedelta(seconds=1), BotRunState.STOPPED, None, BotLiveness.STOPPED),
        (timedelta(days=2), BotRunState.STOPPED, HALTED, BotLiveness.STOPPED),  # a clean stop never turns stale
        (timedelta(seconds=1), BotRunState.RUNNING, ACTIVE, BotLiveness.RUNNING),
    ],
)
def test_liveness(age, run_state, control, expected):
    beat = attrs.evolve(BEAT, run_state=run_state)
    assert liveness(beat, control, now=T0 + age) is expected


def test_bot_statuses_follow_the_session_heartbeat():
    h = Harness()
    h.broker.fill_on_submit = lambda order: Decimal(100)
    session = h.session([spec(strategy=always(Target.LONG))], heartbeat_seconds=5)
    session.start(now=T0)

    def status():
        with h.store.unit_of_work(read_only=True) as uow:
            [one] = bot_statuses(uow, now=h.wall.now())
        return one

    assert (status().liveness, status().heartbeat_age_seconds) == (BotLiveness.RUNNING, 0.0)

    b0, b1 = bar("SPY", T0, 100), bar("SPY", T0 + timedelta(minutes=1), 110)
    session.process_bar(b0, now=b0.end)  # BUY 500 filled at 100
    h.wall.advance(timedelta(seconds=5))
    session.process_bar(b1, now=b1.end)  # a beat: the mark 110 goes to the store with it
    s = status()
    assert s.liveness is BotLiveness.RUNNING and s.heartbeat.pid == 4242
    assert (s.cash, s.equity, s.pnl) == (Decimal(50_000), Decimal(105_000), Decimal(5_000))
    [p] = s.positions
    assert (p.symbol, p.quantity, p.average_cost, p.last_price, p.unrealized_pnl) == (
        "SPY", Decimal(500), Decimal(100), Decimal(110), Decimal(5_000))

    # The process stops beating (killed, or stuck): stale after more than two intervals.
    h.wall.advance(timedelta(seconds=10))
    assert status().liveness is BotLiveness.RUNNING
    h.wall.advance(timedelta(milliseconds=1))
    assert status().liveness is BotLiveness.STALE
    assert status().heartbeat_age_seconds == pytest.approx(10.001)

    # It beats again, then a halt: halted while its beat is fresh.
    session.idle(now=b1.end)
    assert status().liveness is BotLiveness.RUNNING
    halt(HaltCommand(reason="check", actor="ops"), uow_factory=h.store, clock=h.wall, notifier=h.notifier)
    assert status().liveness is BotLiveness.HALTED

    # A clean stop says so, and stays "stopped" however old the beat gets.
    session.stop(now=b1.end, detail="end of test")
    assert status().liveness is BotLiveness.STOPPED and status().heartbeat.detail == "end of test"
    h.wall.advance(timedelta(days=1))
    assert status().liveness is BotLiveness.STOPPED


def test_statuses_list_every_bot_of_the_account_in_order():
    h = Harness()
    session = h.session([spec("zeta", strategy=always(Target.FLAT)), spec("alpha", strategy=always(Target.FLAT))])
    session.start(now=T0)
    with h.store() as uow:
        statuses = bot_statuses(uow, now=T0, account=ACCOUNT)
        assert bot_statuses(uow, now=T0, account="another") == []
    assert [(s.bot, s.liveness, s.cash, s.pnl) for s in statuses] == [
        ("alpha", BotLiveness.RUNNING, Decimal(100_000), Decimal(0)),
        ("zeta", BotLiveness.RUNNING, Decimal(100_000), Decimal(0)),
    ]
