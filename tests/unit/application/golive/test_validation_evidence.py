"""What the clock counts has to be written: a crash (a start finding a RUNNING heartbeat of another
process) and a store outage (written once the store is back) are critical audit entries; and
`validation reset` flattens and cancels the bot before the new epoch, never while a session runs it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

from application.golive.validation_clock import current_epoch
from application.golive.validation_reset import ResetCommand, reset_validation
from application.records import AuditKind
from application.trading.liveness import BotAlreadyRunning
from application.trading.trading_cycle import CycleResult
from domain.errors import ConfigurationError
from domain.orders.order import OrderStatus
from domain.risk.risk import RiskLimits
from domain.strategy import Target
from tests.fakes.builders import T0, always, bar, bars, spec
from tests.fakes.harness import Harness
from tests.support.validation_records import beat, fingerprint


def test_a_start_after_a_crash_records_a_critical_event_at_the_dead_runs_last_beat():
    h = Harness(account="paper")
    dead_at = T0 - timedelta(minutes=5)
    beat(h.store, bot="bot1", started=T0 - timedelta(hours=1), last=dead_at, pid=999)  # never said stopped
    beat(h.store, bot="other", started=T0 - timedelta(hours=1), last=dead_at, pid=998, running=False)  # clean stop
    session = h.session([spec(strategy=always(Target.FLAT)), spec("other", strategy=always(Target.FLAT))])
    session.start(now=T0)
    [crash] = h.audit(AuditKind.ERROR, severity="critical")
    assert (crash.bot, crash.account, crash.ts) == ("bot1", "paper", dead_at)
    assert "ended without a clean stop" in crash.message and "pid 999" in crash.message
    session.stop(now=T0 + timedelta(seconds=1))
    h.session([spec(strategy=always(Target.FLAT))]).start(now=T0 + timedelta(seconds=2))  # after a clean stop
    assert len(h.audit(AuditKind.ERROR, severity="critical")) == 1


def test_a_store_outage_that_paused_trading_is_recorded_as_critical_once_the_store_is_back():
    h = Harness(account="paper")
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    series = bars("SPY", [100, 100])
    h.store.available = False
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[0], now=series[0].end)
    assert session.degraded
    h.store.available = True
    assert h.audit(AuditKind.ERROR, severity="critical") == []  # nothing could be written while it was down
    h.wall.advance(timedelta(seconds=1))
    session.process_bar(series[1], now=series[1].end)
    [outage] = h.audit(AuditKind.ERROR, severity="critical")
    assert (outage.bot, outage.account, outage.ts) == ("", "paper", series[1].end)
    assert outage.message.startswith("trading was paused: degraded: ")


def _bot_with_a_position_and_a_resting_order(h: Harness):
    bot_spec = spec(strategy=always(Target.LONG), symbols=("SPY", "AAPL"))
    state = h.bot(bot_spec)
    spy, aapl = bar("SPY", T0, 100), bar("AAPL", T0, 50)
    assert h.cycle.on_bar(state, spy, now=spy.end) == [CycleResult.SUBMITTED]
    [bought] = h.broker.created
    h.broker.fill(bought, h.order(bought).quantity, "100", spy.end)
    h.settle(state)
    assert h.cycle.on_bar(state, aapl, now=aapl.end) == [CycleResult.SUBMITTED]  # left resting
    with h.store() as uow:  # the session stores marks with its heartbeat
        for _, position, _ in uow.positions.list(account="paper", bot="bot1"):
            uow.positions.upsert(position, account="paper", last_price=Decimal(100))
        uow.commit()
    return bot_spec, bought


def _reset(h: Harness, bot_spec, *, now):
    return reset_validation(ResetCommand(fingerprint=fingerprint("bot1"), account="paper", reason="fresh start",
                                         actor="ops@desk", pid=1, host="cli-host"),
                            uow_factory=h.store, spec=bot_spec, broker=h.broker, notifier=h.notifier, now=now)


def test_reset_cancels_the_bots_orders_sends_an_exit_for_each_position_then_starts_the_epoch():
    h = Harness(account="paper")
    bot_spec, bought = _bot_with_a_position_and_a_resting_order(h)
    now = T0 + timedelta(minutes=5)
    outcome = _reset(h, bot_spec, now=now)
    assert outcome.orders_cancelled == 1 and outcome.exits == (("SPY", "submitted"),)
    resting = [o for o in h.orders() if o.symbol == "AAPL"]
    assert [o.status for o in resting] == [OrderStatus.CANCELLED]
    exit_order = h.broker.submits[-1]
    assert (exit_order.symbol, exit_order.side.value, exit_order.quantity) == ("SPY", "sell", h.order(bought).quantity)
    assert (outcome.epoch.number, outcome.epoch.reason, outcome.epoch.actor, outcome.epoch.started_at) == (
        1, "reset: fresh start", "ops@desk", now)
    with h.store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="bot1") == outcome.epoch


def test_reset_is_refused_while_a_session_runs_the_bot_and_touches_nothing():
    h = Harness(account="paper")
    bot_spec, _ = _bot_with_a_position_and_a_resting_order(h)
    now = T0 + timedelta(minutes=5)
    beat(h.store, bot="bot1", started=T0, last=now - timedelta(seconds=1))  # fresh: it runs
    sent = len(h.broker.submits)
    with pytest.raises(BotAlreadyRunning, match="stop it first"):
        _reset(h, bot_spec, now=now)
    assert len(h.broker.submits) == sent and h.broker.cancels == []
    with h.store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="bot1") is None


def test_a_denied_exit_stops_the_reset_with_the_risk_checks_own_words():
    h = Harness(account="paper")
    bot_spec, _ = _bot_with_a_position_and_a_resting_order(h)
    tight = attrs.evolve(bot_spec, limits=RiskLimits(max_order_quantity=Decimal(1)))  # the exit is bigger
    with pytest.raises(ConfigurationError) as refused:
        _reset(h, tight, now=T0 + timedelta(minutes=5))
    message = str(refused.value)
    assert message.startswith("validation reset of bot bot1: the exit of SPY was not sent (denied: ")
    assert "quantity" in message and message.endswith("The clock was not reset")
    with h.store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="bot1") is None
