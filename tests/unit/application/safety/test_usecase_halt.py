"""The kill switch: a stored halt blocks the next intent, is read by any handle on the
store, only resume lifts it, and a running session cancels open orders when it sees it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from application.ports import AlertLevel
from application.records import GLOBAL_SCOPE, AuditKind, ControlState
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume, set_trading_state, still_held
from application.trading.trading_cycle import CycleResult
from domain.errors import ConfigurationError
from domain.orders.order import OrderStatus
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, ScriptedStrategy, always, bar, bars, spec
from tests.fakes.clock import FixedClock
from tests.fakes.harness import Harness
from tests.fakes.notifier import RecordingNotifier

MINUTE = timedelta(minutes=1)


def _cli_halt(h: Harness, *, scope: str = GLOBAL_SCOPE, reason: str = "fat finger"):
    """What `quantshift halt` does: its own store handle, clock and notifier; no broker."""
    return halt(HaltCommand(reason=reason, actor="ops", scope=scope), uow_factory=h.store.unit_of_work,
                clock=FixedClock(h.wall.now()), notifier=RecordingNotifier())


@pytest.mark.parametrize("scope", [GLOBAL_SCOPE, "paper-test/bot1"])
def test_after_a_halt_the_next_intent_is_denied_and_resume_lifts_it(scope):
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    state = _cli_halt(h, scope=scope)
    assert (state.scope, state.state, state.reason, state.actor) == (scope, TradingState.HALTED, "fat finger", "ops")

    # The bot's own handle (h.store) reads the switch the CLI's handle wrote.
    with h.store() as uow:
        assert uow.control.get(scope) == state

    b0 = bar("SPY", T0, 100)
    assert h.cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.DENIED]
    assert h.broker.submits == []
    [denied] = h.orders()
    assert denied.status is OrderStatus.DENIED
    assert denied.reason == "trading_state: state halted, reduces_risk=False"
    halt_entries = h.audit(AuditKind.HALT, severity="critical")
    assert [e.message for e in halt_entries] == [
        f"halted ({'all bots' if scope == GLOBAL_SCOPE else 'bot paper-test/bot1'}): fat finger (by ops)"]

    lifted = resume(ResumeCommand(actor="ops", scope=scope), uow_factory=h.store.unit_of_work,
                    clock=FixedClock(h.wall.now()), notifier=RecordingNotifier())
    assert [(s.scope, s.state) for s in lifted] == [(scope, TradingState.ACTIVE)]
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]
    assert len(h.broker.submits) == 1
    assert [e.severity for e in h.audit(AuditKind.RESUME)] == ["warning"]


def test_a_halt_needs_a_reason_and_writes_nothing_without_one():
    h = Harness()
    with pytest.raises(ConfigurationError):
        _cli_halt(h, reason="   ")
    assert h.control(GLOBAL_SCOPE) is None


def test_a_global_halt_wins_over_a_bot_resume_and_a_global_resume_lifts_every_halt():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    _cli_halt(h, scope="paper-test/bot1", reason="bot issue")
    _cli_halt(h, scope=GLOBAL_SCOPE, reason="market issue")
    clock, quiet = FixedClock(T0), RecordingNotifier()

    resume(ResumeCommand(actor="ops", scope="paper-test/bot1"), uow_factory=h.store, clock=clock, notifier=quiet)
    b0 = bar("SPY", T0, 100)
    assert h.cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.DENIED]  # the global halt still holds

    lifted = resume(ResumeCommand(actor="ops"), uow_factory=h.store, clock=clock, notifier=quiet)
    assert [s.scope for s in lifted] == [GLOBAL_SCOPE]  # bot1 was already active
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]


def test_a_reducing_state_lets_an_exit_through_and_blocks_a_new_entry():
    h = Harness()
    h.broker.fill_on_submit = lambda order: Decimal(100)
    target = {"SPY": Target.LONG}
    bot = h.bot(spec(strategy=ScriptedStrategy(decide=lambda symbol, _n: target[symbol])))
    b0 = bar("SPY", T0, 100)
    assert h.cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.SUBMITTED]
    assert bot.portfolio.position("SPY").quantity == 500
    set_trading_state(ControlState(scope="paper-test/bot1", state=TradingState.REDUCING, reason="wind down", actor="ops",
                                   changed_at=T0), uow_factory=h.store)
    target["SPY"] = Target.FLAT
    b1 = bar("SPY", T0 + MINUTE, 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]
    assert bot.portfolio.position("SPY").quantity == 0
    target["SPY"] = Target.LONG
    b2 = bar("SPY", T0 + 2 * MINUTE, 100)
    assert h.cycle.on_bar(bot, b2, now=b2.end) == [CycleResult.DENIED]
    assert h.orders()[-1].reason == "trading_state: state reducing, reduces_risk=False"
    assert len(h.broker.submits) == 2


def test_the_session_supervisor_cancels_open_orders_when_it_sees_a_halt():
    h = Harness()
    bot_spec = spec(strategy=always(Target.LONG))
    session = h.session([bot_spec], supervise_seconds=0.2, heartbeat_seconds=5)
    session.start(now=T0)
    series = bars("SPY", [100, 101, 102, 103])

    session.process_bar(series[0], now=series[0].end)
    assert len(h.broker.submits) == 1
    cid = h.broker.submits[0].client_order_id
    assert h.order(cid).status is OrderStatus.ACCEPTED  # resting at the venue, no fill

    _cli_halt(h, scope=GLOBAL_SCOPE, reason="operator stop")
    h.wall.advance(timedelta(seconds=0.5))  # longer than supervise_seconds
    session.idle(now=series[0].end)

    assert h.broker.cancels == [cid]
    assert h.broker.open_orders() == []
    cancelled = h.order(cid)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.reason == "halt: operator stop"
    assert session.states[0].halted is True
    assert session.tally["halts_observed"] == 1

    for b in series[1:]:  # bars keep coming: nothing is evaluated, nothing is sent
        h.wall.advance(timedelta(seconds=2))  # 6.5 s in all: one heartbeat (every 5 s) on the way
        session.process_bar(b, now=b.end)
    assert len(h.broker.submits) == 1
    assert session.tally["halted"] == 3
    assert h.broker.cancels == [cid]  # the halt is acted on once
    with h.store() as uow:
        [beat] = uow.heartbeats.list(account=ACCOUNT)
    assert beat.detail == "halted"

    # Resume: the supervisor sees it and the bot trades again.
    resume(ResumeCommand(actor="ops"), uow_factory=h.store, clock=h.wall, notifier=h.notifier)
    h.wall.advance(timedelta(seconds=1))
    session.idle(now=series[-1].end)
    assert session.states[0].halted is False
    nxt = bar("SPY", series[-1].end, 104)
    session.process_bar(nxt, now=nxt.end)
    assert len(h.broker.submits) == 2
    assert (AlertLevel.WARNING, "RESUME (all bots)") in {(a.level, a.title) for a in h.notifier.sent}


def test_a_halt_blocks_the_next_submission_even_before_the_supervisor_runs():
    """The switch is read inside the intent transaction: no wait for the supervision tick."""
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))], supervise_seconds=3600)
    session.start(now=T0)
    _cli_halt(h)
    b0 = bar("SPY", T0, 100)
    session.process_bar(b0, now=b0.end)  # the wall clock has not moved: no supervision
    assert h.broker.submits == []
    assert session.tally["denied"] == 1


def test_a_halt_survives_a_restart_and_open_orders_are_cancelled_at_start():
    h = Harness()
    bot_spec = spec(strategy=always(Target.LONG))
    first = h.session([bot_spec])
    first.start(now=T0)
    b0 = bar("SPY", T0, 100)
    first.process_bar(b0, now=b0.end)
    [cid] = h.broker.created
    _cli_halt(h, scope="paper-test/bot1", reason="overnight")  # the process dies before it sees the halt

    second = h.session([bot_spec])  # a new process on the same store and venue
    second.start(now=b0.end + MINUTE)
    assert second.states[0].halted is True
    assert h.broker.cancels == [cid] and h.order(cid).status is OrderStatus.CANCELLED
    b1 = bar("SPY", T0 + MINUTE, 100)
    h.wall.advance(timedelta(seconds=1))
    second.process_bar(b1, now=b1.end)
    assert len(h.broker.submits) == 1
    assert second.tally["halted"] == 1


def test_a_halt_whose_cancel_failed_on_the_store_is_cancelled_when_the_store_is_back():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    b0 = bar("SPY", T0, 100)
    session.process_bar(b0, now=b0.end)
    [cid] = h.broker.created
    _cli_halt(h)

    h.wall.advance(timedelta(seconds=1))
    h.store.fail_after(1)  # the supervisor reads the switch, then the store drops
    session.idle(now=b0.end)
    assert session.degraded and h.broker.cancels == []

    h.wall.advance(timedelta(seconds=1))
    session.idle(now=b0.end)  # the store is back
    assert h.broker.cancels == [cid], "the halted bot's open order was never cancelled"
    assert h.order(cid).status is OrderStatus.CANCELLED


def test_a_cancel_that_timed_out_during_a_halt_is_retried():
    h = Harness()
    session = h.session([spec(strategy=always(Target.LONG))])
    session.start(now=T0)
    b0 = bar("SPY", T0, 100)
    session.process_bar(b0, now=b0.end)
    [cid] = h.broker.created
    _cli_halt(h)
    h.broker.fail_next_cancel()
    h.wall.advance(timedelta(seconds=1))
    session.idle(now=b0.end)
    assert h.order(cid).status is OrderStatus.PENDING_CANCEL
    [failure] = h.audit(AuditKind.ERROR, severity="critical")
    assert failure.message.startswith("cancel failed for open orders: ")

    for _ in range(3):  # later supervision ticks, the venue answers again
        h.wall.advance(timedelta(seconds=1))
        session.idle(now=b0.end)
    assert h.broker.open_orders() == [], "the order is still live at the venue during the halt"
    assert h.order(cid).status is OrderStatus.CANCELLED


def test_a_global_resume_lifts_the_kill_switch_only_and_a_bots_own_halt_needs_it_named():
    """Issue 13, point 12: old simulated accounts' breakers are not re-armed by a plain resume."""
    h = Harness()
    clock, quiet = FixedClock(T0), RecordingNotifier()
    for scope, state in (("sim-0001/equity", TradingState.HALTED), ("paper/equity", TradingState.REDUCING),
                         ("paper/crypto", TradingState.HALTED)):
        set_trading_state(ControlState(scope=scope, state=state, reason="drawdown 25.00%", actor="risk:drawdown",
                                       changed_at=T0), uow_factory=h.store)
    _cli_halt(h, scope=GLOBAL_SCOPE, reason="market issue")

    lifted = resume(ResumeCommand(actor="ops"), uow_factory=h.store, clock=clock, notifier=quiet)
    assert [s.scope for s in lifted] == [GLOBAL_SCOPE]
    assert "re-armed: all bots" in quiet.sent[-1].body
    assert [(c.scope, c.state) for c in still_held(uow_factory=h.store)] == [
        ("paper/crypto", TradingState.HALTED), ("paper/equity", TradingState.REDUCING),
        ("sim-0001/equity", TradingState.HALTED)]

    lifted = resume(ResumeCommand(actor="ops", account="paper"), uow_factory=h.store, clock=clock, notifier=quiet)
    assert sorted(s.scope for s in lifted) == ["paper/crypto", "paper/equity"]
    assert [c.scope for c in still_held(uow_factory=h.store)] == ["sim-0001/equity"]

    lifted = resume(ResumeCommand(actor="ops", every_account=True), uow_factory=h.store, clock=clock, notifier=quiet)
    assert [s.scope for s in lifted] == ["sim-0001/equity"] and still_held(uow_factory=h.store) == []
    with pytest.raises(ConfigurationError):
        ResumeCommand(actor="ops", scope="paper/equity", every_account=True)
