"""The drills' checklist items read the latest drill record: passed only for a passing drill
within max_age (the kill switch: every open order cancelled, no submission after 1 s); and the
kill-switch drill, when it fails midway, lifts its own halt and only its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from application.golive.drills import (
    DrillRefused,
    KillSwitchDrill,
    failover_item,
    killswitch_drill,
    killswitch_item,
    latest_drill,
)
from application.records import (
    AuditEntry,
    AuditKind,
    BotRunState,
    ControlState,
    Heartbeat,
    VenueOrderState,
    bot_scope,
)
from application.trading.drill_orders import PLACED, read_request, write_request
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.risk.trading_state import TradingState
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier

NOW = T0 + timedelta(days=30)


def _killswitch(**changes) -> dict:
    data = {"drill": "killswitch", "venue": "simulated", "orders_open": 2, "orders_cancelled": 2,
            "cancel_seconds": 0.21, "last_submission_seconds": None, "submissions_after_1s": 0, "resumed": True,
            "passed": True, "detail": "every open order (2) cancelled"}
    return {**data, **changes}


def _failover(**changes) -> dict:
    data = {"drill": "failover", "from_instance": "11@db1", "to_instance": "12@db1", "takeover_seconds": 1.7,
            "passed": True, "detail": "12@db1 took over"}
    return {**data, **changes}


def _store(*records: tuple[timedelta, str, dict]) -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        for age, bot, data in records:
            uow.audit.append(AuditEntry(ts=NOW - age, kind=AuditKind.DRILL, account="paper", bot=bot,
                                        message="drill", data=data))
        uow.commit()
    return store


def test_killswitch_item_passes_on_a_recent_passing_drill_of_that_bot():
    with _store((timedelta(days=2), "spy", _killswitch()))() as uow:
        item = killswitch_item(uow, bot="spy", now=NOW)
    assert item.passed and item.section == "Risk management" and item.detail == ""
    assert "2/2 orders cancelled in 0.21 s" in item.figure and "last submission none" in item.figure


@pytest.mark.parametrize(("age", "data", "why"), [
    (timedelta(days=8), _killswitch(), "old"),
    (timedelta(days=1), _killswitch(orders_cancelled=1), "failed"),
    (timedelta(days=1), _killswitch(submissions_after_1s=1, last_submission_seconds=1.4), "failed"),
    (timedelta(days=1), _killswitch(passed=False, resumed=False, detail="not resumed: halted by ops"), "not resumed"),
])
def test_killswitch_item_fails_on_an_old_or_failing_drill_and_says_what_to_run(age, data, why):
    with _store((age, "spy", data))() as uow:
        item = killswitch_item(uow, bot="spy", now=NOW)
    assert not item.passed
    assert why in item.detail and "quantshift drill killswitch --bot spy" in item.detail


def test_killswitch_item_reads_the_latest_drill_of_its_own_bot_only():
    store = _store((timedelta(days=3), "spy", _killswitch()), (timedelta(days=1), "spy", _killswitch(passed=False)),
                   (timedelta(hours=1), "btc", _killswitch()))
    with store() as uow:
        assert not killswitch_item(uow, bot="spy", now=NOW).passed  # a failure after a pass fails the item
        assert killswitch_item(uow, bot="btc", now=NOW).passed
        never = killswitch_item(uow, bot="eth", now=NOW)
        assert latest_drill(uow, kind="killswitch", bot="spy").data["passed"] is False
    assert not never.passed and never.figure == "never drilled"


def test_failover_item_needs_a_recent_passing_failover_drill():
    with _store()() as uow:
        none = failover_item(uow, now=NOW)
    assert not none.passed and none.section == "Infrastructure" and "Postgres" in none.detail
    with _store((timedelta(days=6), "", _failover()))() as uow:
        ok = failover_item(uow, now=NOW)
        assert not failover_item(uow, now=NOW, max_age=timedelta(days=5)).passed
    assert ok.passed and "12@db1 took over from 11@db1 in 1.70 s" in ok.figure
    with _store((timedelta(days=1), "", _failover(passed=False, to_instance="", detail="no standby took over")))() as uow:
        failed = failover_item(uow, now=NOW)
    assert not failed.passed and "no standby took over" in failed.detail


# --- the kill-switch drill's safety, in process --------------------------------------------


class _Venue:
    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        return VenueOrderState(client_order_id=client_order_id, venue_order_id="v1", status=OrderStatus.ACCEPTED,
                               filled_quantity=Decimal(0))


class _Session:
    """Plays the running session on each of the drill's sleeps: answers the request with a
    resting order; once the halt is in, the next sleep is interrupted (an operator's Ctrl-C)."""

    def __init__(self, store: InMemoryStore, clock: FixedClock) -> None:
        self.store, self.clock = store, clock

    def __call__(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        with self.store() as uow:
            if uow.control.get(bot_scope("paper", "spy")) is not None:
                raise KeyboardInterrupt
            request = read_request(uow, account="paper", bot="spy")
            if request is not None and request.state != PLACED:
                order = Order(client_order_id="drill-x", account="paper", bot="spy", strategy="drill", symbol="SPY",
                              side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=Decimal(1), created_at=T0,
                              signal_ts=T0, limit_price=Decimal(50), status=OrderStatus.ACCEPTED)
                uow.orders.add(order)
                write_request(uow, account="paper", bot="spy", at=self.clock.now(),
                              request=request.__class__(request_id=request.request_id, requested_at=request.requested_at,
                                                        state=PLACED, client_order_id="drill-x"))
                uow.commit()


def _running(store: InMemoryStore, clock: FixedClock) -> None:
    with store() as uow:
        uow.heartbeats.beat(Heartbeat(account="paper", bot="spy", pid=7, host="h", mode="paper", started_at=T0,
                                      beat_at=clock.now(), interval_seconds=5, run_state=BotRunState.RUNNING))
        uow.commit()


def _drill(store: InMemoryStore, clock: FixedClock, notifier: RecordingNotifier) -> None:
    killswitch_drill(KillSwitchDrill(account="paper", bot="spy", venue="simulated", actor="ops"), uow_factory=store,
                     clock=clock, notifier=notifier, venue=_Venue(), sleep=_Session(store, clock))


def test_a_drill_interrupted_after_its_halt_lifts_that_halt_and_records_nothing():
    store, clock, notifier = InMemoryStore(), FixedClock(NOW), RecordingNotifier()
    _running(store, clock)
    with pytest.raises(KeyboardInterrupt):
        _drill(store, clock, notifier)
    with store() as uow:
        control = uow.control.get(bot_scope("paper", "spy"))
        kinds = [e.kind for e in uow.audit.list(limit=100)]
    assert control is not None and control.state is TradingState.ACTIVE and control.actor == "drill:ops"
    assert kinds.count(AuditKind.HALT) == 1 and kinds.count(AuditKind.RESUME) == 1
    assert AuditKind.DRILL not in kinds


def test_a_drill_is_refused_while_halted_or_without_a_session_and_lifts_nothing():
    store, clock, notifier = InMemoryStore(), FixedClock(NOW), RecordingNotifier()
    with pytest.raises(DrillRefused, match="start `quantshift paper` first"):
        _drill(store, clock, notifier)
    _running(store, clock)
    halted = ControlState(scope=bot_scope("paper", "spy"), state=TradingState.REDUCING, reason="drawdown warning",
                          actor="risk:drawdown", changed_at=NOW)
    with store() as uow:
        uow.control.set(halted)
        uow.commit()
    with pytest.raises(DrillRefused, match="reducing .*never lifts a switch it did not set"):
        _drill(store, clock, notifier)
    with store() as uow:
        assert uow.control.get(bot_scope("paper", "spy")) == halted
        assert uow.audit.list(limit=100) == []
