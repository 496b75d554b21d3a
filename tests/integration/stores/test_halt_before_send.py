"""A halt that commits while an intent is on its way keeps that order from the venue (issue 13, point 8).

The intent transaction decides on the switch as it read it. When it is slowed (a lock on
`orders`, a slow disk, a paused process) and commits after a halt did, the order used to
go out anyway, 0.2-3 s after the halt was visible. Now the switch is read again just before
the send, serialised with every change of it (application/trading/release.py), on both stores.

The venue here notes, for each order it receives, whether the halt had already returned
(committed, visible) at that moment: that is the failure, and it must never happen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresStore
from adapters.sqlite import SqliteStore
from application.records import GLOBAL_SCOPE, AuditKind, ControlState
from application.safety.control import effective_state
from application.safety.halt import HaltCommand, halt
from application.trading.trading_cycle import CycleResult, TradingCycle
from domain.orders.order import Order, OrderStatus
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, ScriptedStrategy, always, bar, load, spec
from tests.fakes.clock import FixedClock
from tests.fakes.faults import RunAt
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.recording_broker import RecordingBroker
from tests.integration.conftest import postgres_test_url
from tests.support.waiting import wait_until

Store = SqliteStore | PostgresStore
NOT_SENT = "not sent: trading state halted since the intent was committed"


class Venue(RecordingBroker):
    """Records, for every order received, whether the halt had returned before it arrived."""

    def __init__(self, halted: threading.Event) -> None:
        super().__init__()
        self.after_halt: list[str] = []
        self._halted = halted

    def submit(self, order: Order):  # type: ignore[override]
        if self._halted.is_set():
            self.after_halt.append(order.client_order_id)
        return super().submit(order)


def _operator_halt(store: Store, halted: threading.Event) -> None:
    """`quantshift halt` from another process: its own store handle, clock and notifier."""
    halt(HaltCommand(reason="fat finger", actor="ops", scope=GLOBAL_SCOPE), uow_factory=store,
         clock=FixedClock(T0), notifier=RecordingNotifier())
    halted.set()


def _the_order(store: Store) -> Order:
    with store.unit_of_work(read_only=True) as uow:
        [order] = uow.orders.list(account=ACCOUNT, limit=10)
    return order


def test_a_halt_committed_after_the_intent_but_before_the_send_keeps_the_order_home(store, reopen_store):
    halted = threading.Event()
    venue = Venue(halted)
    operator = reopen_store()
    cycle = TradingCycle(uow_factory=store, broker=venue, notifier=RecordingNotifier(),
                         faults=RunAt("after_intent_commit", lambda: _operator_halt(operator, halted)))
    bot = load(store, spec(strategy=always(Target.LONG)))
    b0 = bar("SPY", T0, 100)

    assert cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.HALTED]

    assert halted.is_set()
    assert venue.submits == [] and venue.after_halt == []
    order = _the_order(store)
    assert (order.status, order.reason) == (OrderStatus.CANCELLED, NOT_SENT)
    assert bot.halted
    with store.unit_of_work(read_only=True) as uow:
        messages = [e.message for e in uow.audit.list(account=ACCOUNT, kind=AuditKind.ORDER.value, limit=100)]
    assert f"order {NOT_SENT}" in messages


def test_an_exit_still_goes_out_when_the_bot_turned_reducing_meanwhile(store, reopen_store):
    """REDUCING lets exits through: the check before the send asks what the switch allows."""
    operator = reopen_store()
    reducing = ControlState(scope=f"{ACCOUNT}/bot1", state=TradingState.REDUCING, reason="drawdown warning",
                            actor="risk:drawdown", changed_at=T0)

    def turn_reducing() -> None:
        with operator() as uow:
            uow.control.set(reducing)
            uow.commit()

    venue = RecordingBroker(fill_on_submit=lambda _order: Decimal(100))
    target = {"now": Target.LONG}
    bot = load(store, spec(strategy=ScriptedStrategy(decide=lambda _symbol, _n: target["now"])))
    entry = TradingCycle(uow_factory=store, broker=venue, notifier=RecordingNotifier())
    b0 = bar("SPY", T0, 100)
    assert entry.on_bar(bot, b0, now=b0.end) == [CycleResult.SUBMITTED]
    assert bot.portfolio.position("SPY").quantity > 0

    target["now"] = Target.FLAT
    exits = TradingCycle(uow_factory=store, broker=venue, notifier=RecordingNotifier(),
                         faults=RunAt("after_intent_commit", turn_reducing))
    b1 = bar("SPY", b0.end, 100)
    assert exits.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]
    assert [o.side.value for o in venue.submits] == ["buy", "sell"]


# --- Postgres: the slow intent transaction of the report, and the guard itself -------------


# These run on Postgres only (its locks are what they test): chosen, not skipped.
postgres_only = pytest.mark.parametrize("store", ["postgres"], indirect=True)


@pytest.fixture
def pg(store: Store) -> PostgresStore:
    assert isinstance(store, PostgresStore)
    return store


@pytest.fixture
def blocker(pg: PostgresStore) -> Iterator[psycopg.Connection]:
    """Another connection to the store's schema, in a transaction of its own."""
    connection = psycopg.connect(postgres_test_url(), connect_timeout=5)
    connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(pg.schema)))
    connection.commit()
    try:
        yield connection
    finally:
        connection.rollback()
        connection.close()


def _wait_for_lock_wait(pg: PostgresStore, *, timeout: float = 10.0) -> None:
    """Until one of the store's own connections waits on a lock."""
    with psycopg.connect(postgres_test_url(), connect_timeout=5, autocommit=True) as watcher:
        wait_until(lambda: watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            (f"quantshift:{pg.schema}"[:63],)).fetchone()[0], timeout=timeout,
            message="one of the store's connections waiting on a lock")


@postgres_only
def test_postgres_an_intent_slowed_by_a_share_lock_on_orders_is_not_sent_after_the_halt(pg, reopen_store, blocker):
    """The report's reproduction: SHARE on `orders` from another connection while `halt` runs."""
    halted = threading.Event()
    venue = Venue(halted)
    cycle = TradingCycle(uow_factory=pg, broker=venue, notifier=RecordingNotifier())
    bot = load(pg, spec(strategy=always(Target.LONG)))
    b0 = bar("SPY", T0, 100)
    results: list[list[CycleResult]] = []

    blocker.execute("LOCK TABLE orders IN SHARE MODE")
    trading = threading.Thread(target=lambda: results.append(cycle.on_bar(bot, b0, now=b0.end)))
    trading.start()
    try:
        _wait_for_lock_wait(pg)  # the intent read ACTIVE and waits to insert its order
        operator = threading.Thread(target=_operator_halt, args=(reopen_store(), halted))
        operator.start()
        operator.join(timeout=10)
        assert halted.is_set(), "the halt must land at once, not wait for a stuck intent"
        time.sleep(0.3)  # the halt is visible and the intent still stuck, as in the report
    finally:
        blocker.commit()
    trading.join(timeout=20)

    assert results == [[CycleResult.HALTED]]
    assert venue.after_halt == [] and venue.submits == []
    assert (_the_order(pg).status, _the_order(pg).reason) == (OrderStatus.CANCELLED, NOT_SENT)


def _halted_state(at_scope: str = GLOBAL_SCOPE) -> ControlState:
    return ControlState(scope=at_scope, state=TradingState.HALTED, reason="test", actor="ops", changed_at=T0)


def _release_in_progress(store: PostgresStore, *, commit: bool) -> tuple[threading.Event, threading.Thread]:
    """A transaction that took the guard and waits for the returned event (then commits, or not)."""
    guarded, go = threading.Event(), threading.Event()

    def run() -> None:
        with store() as uow:
            uow.control.guard()
            guarded.set()
            go.wait(10)
            if commit:
                uow.commit()

    thread = threading.Thread(target=run)
    thread.start()
    assert guarded.wait(10)
    return go, thread


@postgres_only
def test_postgres_a_release_in_progress_holds_a_halt_until_it_commits(pg, reopen_store):
    other = reopen_store()
    go, releasing = _release_in_progress(pg, commit=True)
    landed = threading.Event()

    def change() -> None:
        with other() as uow:
            uow.control.set(_halted_state())
            uow.commit()
        landed.set()

    halting = threading.Thread(target=change)
    halting.start()
    assert not landed.wait(0.3), "the change must wait for the release in progress"
    go.set()
    assert landed.wait(5)
    releasing.join(5)
    halting.join(5)


@postgres_only
def test_postgres_a_guarded_read_waits_for_a_halt_in_progress_and_sees_it(pg, reopen_store):
    other = reopen_store()
    written, seen = threading.Event(), []

    def halt_in_progress() -> None:
        with other() as uow:
            uow.control.set(_halted_state())
            written.set()
            time.sleep(0.3)
            uow.commit()

    halting = threading.Thread(target=halt_in_progress)
    halting.start()
    written.wait(10)
    with pg() as uow:
        uow.control.guard()
        seen.append(effective_state(uow, account=ACCOUNT, bot="bot1"))
    halting.join(5)
    assert seen == [TradingState.HALTED]


@postgres_only
def test_postgres_a_stuck_release_delays_a_halt_by_at_most_a_second(pg, reopen_store):
    other = reopen_store()
    go, releasing = _release_in_progress(pg, commit=False)
    try:
        started = time.monotonic()
        with other() as uow:
            uow.control.set(_halted_state())
            uow.commit()
        waited = time.monotonic() - started
    finally:
        go.set()
        releasing.join(5)
    assert 0.9 <= waited < 3.0
    with other.unit_of_work(read_only=True) as uow:
        assert uow.control.get(GLOBAL_SCOPE).state is TradingState.HALTED
