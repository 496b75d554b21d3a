"""Venue-call health: the measured wrappers around the real simulated venue (and small failing
venues written through the ports), the in-memory recorder, and its flush into the in-memory
store, failed commits included."""

from __future__ import annotations

import inspect
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType

import pytest

from adapters.simulated import NoCommission, SimulatedBrokerConfig, build_simulated_broker
from application.records import VenueOrderState
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.venues.ports import HISTOGRAM_SIZE, VenueHealthBucket
from application.venues.ports import Broker, LiveMarketData
from application.venues.venue_health import HealthRecorder, MeasuredBroker, MeasuredMarketData, classify_error, minute_of
from domain.accounting.instrument import AssetClass, equity
from domain.accounting.market import Bar
from domain.errors import AuthenticationError, OrderRejected, StoreUnavailable, VenueUnavailable
from domain.orders.events import BrokerEvent, OrderAccepted
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderType
from domain.strategy import Target
from tests.fakes.builders import always, bars, spec
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore, InMemoryUnitOfWork
from tests.fakes.notifier import RecordingNotifier

T0 = datetime(2025, 6, 2, 13, 30, 15, tzinfo=timezone.utc)
MINUTE = minute_of(T0)
SECRET = "sk-live-0123456789"


class Ticks:
    """A monotonic clock that moves `step` seconds each time it is read: every measured call
    then takes exactly `step` (it is read once before and once after the call)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self._now = 1000.0

    def __call__(self) -> float:
        self._now += self.step
        return self._now


class DownVenue:
    """A Broker whose every venue call fails the way a broken venue API does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def submit(self, order: Order) -> list[BrokerEvent]:
        raise self.error

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        raise self.error

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        raise self.error

    def open_orders(self) -> list[VenueOrderState]:
        raise self.error

    def poll_events(self) -> list[BrokerEvent]:
        raise self.error

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        raise self.error

    def positions(self) -> dict[str, Decimal]:
        raise self.error

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        return False


class HttpError(Exception):
    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def sim_broker():
    return build_simulated_broker(config=SimulatedBrokerConfig(slippage_bps=Decimal(0), max_volume_share=Decimal(1),
                                                               equity_commission=NoCommission()),
                                  instruments={"SPY": equity("SPY")})


def order(coid: str) -> Order:
    return Order(client_order_id=coid, account="a", bot="b", strategy="s", symbol="SPY", side=OrderSide.BUY,
                 order_type=OrderType.LIMIT, quantity=Decimal(10), created_at=T0, signal_ts=T0,
                 limit_price=Decimal(100))


def by_operation(recorder: HealthRecorder) -> dict[str, VenueHealthBucket]:
    return {b.operation: b for b in recorder.pending()}


def stored(store: InMemoryStore) -> list[VenueHealthBucket]:
    with store.unit_of_work(read_only=True) as uow:
        return uow.venue_health.list(since=T0 - timedelta(days=30))


# --- the measured broker ------------------------------------------------------------------


def test_the_measured_broker_has_every_method_of_the_port_with_the_same_parameters():
    for name, member in vars(Broker).items():
        if name.startswith("_") or not callable(member):
            continue
        assert inspect.signature(getattr(MeasuredBroker, name)) == inspect.signature(member), name


def test_every_venue_call_is_delegated_timed_and_counted_on_the_real_simulated_venue():
    wall = FixedClock(T0)
    recorder = HealthRecorder(clock=wall)
    sim = sim_broker()
    broker = MeasuredBroker(inner=sim, venue="simulated", recorder=recorder, monotonic=Ticks(0.003))

    events = broker.submit(order("c1"))
    assert isinstance(events[0], OrderAccepted) and sim.submit_calls == 1
    assert broker.find_order("c1").client_order_id == "c1"
    assert [o.client_order_id for o in broker.open_orders()] == ["c1"]
    broker.cancel("c1")
    assert broker.poll_events() == [] and broker.fills() == [] and broker.positions() == sim.positions()
    assert broker.supports_stop_orders(AssetClass.EQUITY) is True

    got = by_operation(recorder)
    assert sorted(got) == ["cancel", "fills", "find_order", "open_orders", "poll_events", "positions", "submit"]
    submit = got["submit"]
    assert (submit.venue, submit.minute, submit.calls, submit.errors) == ("simulated", MINUTE, 1, 0)
    assert submit.latency_sum_ms == pytest.approx(3.0) and submit.latency_max_ms == pytest.approx(3.0)
    assert submit.histogram == (0, 0, 1) + (0,) * (HISTOGRAM_SIZE - 3)  # 3 ms: the "<= 5 ms" bucket
    assert submit.last_success_at == T0 and submit.last_error_at is None and submit.last_error == ""


def test_a_failure_is_counted_and_the_same_exception_raised_without_its_message_kept():
    recorder = HealthRecorder(clock=FixedClock(T0))
    error = HttpError(f"503 from https://api.venue/v2/orders?key={SECRET}", status_code=503)
    broker = MeasuredBroker(inner=DownVenue(error), venue="alpaca", recorder=recorder, monotonic=Ticks(0.01))
    with pytest.raises(HttpError) as raised:
        broker.submit(order("c1"))
    assert raised.value is error
    with pytest.raises(HttpError):
        broker.submit(order("c1"))
    bucket = by_operation(recorder)["submit"]
    assert (bucket.venue, bucket.calls, bucket.errors) == ("alpaca", 2, 2)
    assert bucket.last_success_at is None and bucket.last_error_at == T0
    assert bucket.last_error == "unexpected: HttpError (HTTP 503)"
    assert SECRET not in repr(recorder.pending())


def test_errors_are_classified_by_what_the_caller_must_do():
    assert classify_error(VenueUnavailable(f"down {SECRET}")) == "transient: VenueUnavailable"
    assert classify_error(OrderRejected("no")) == "rejected: OrderRejected"
    assert classify_error(AuthenticationError("bad key")) == "authentication: AuthenticationError"
    assert classify_error(TimeoutError()) == "timeout: TimeoutError"
    assert classify_error(ConnectionResetError()) == "connection: ConnectionResetError"
    assert classify_error(HttpError("x", status_code=429)) == "unexpected: HttpError (HTTP 429)"
    assert classify_error(HttpError("x", status_code=7)) == "unexpected: HttpError"  # not an HTTP status


def test_ctrl_c_is_no_venue_failure():
    recorder = HealthRecorder(clock=FixedClock(T0))
    broker = MeasuredBroker(inner=DownVenue(KeyboardInterrupt()), venue="v", recorder=recorder)  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        broker.positions()
    assert recorder.pending() == []


# --- the measured feed --------------------------------------------------------------------


class SlowFeed:
    """A LiveMarketData whose polls take scripted times on the test's monotonic clock."""

    def __init__(self, clock: Ticks, durations: list[float]) -> None:
        self._clock = clock
        self._durations = durations

    def poll(self, *, timeout: float) -> list[Bar]:
        self._clock._now += self._durations.pop(0)
        return bars("SPY", [100])


def test_a_poll_counts_only_the_time_beyond_its_allowed_wait():
    ticks = Ticks(0.0)
    recorder = HealthRecorder(clock=FixedClock(T0))
    feed: LiveMarketData = MeasuredMarketData(inner=SlowFeed(ticks, [0.05, 0.2, 0.4]), venue="simulated",
                                              recorder=recorder, monotonic=ticks)
    for _ in range(3):
        assert len(feed.poll(timeout=0.2)) == 1
    poll = by_operation(recorder)["poll"]
    assert (poll.calls, poll.errors) == (3, 0)
    assert poll.latency_max_ms == pytest.approx(200.0) and poll.latency_sum_ms == pytest.approx(200.0)
    assert poll.histogram[0] == 2 and poll.histogram[7] == 1  # 0, 0 and 200 ms (the "<= 250 ms" bucket)


# --- the recorder -------------------------------------------------------------------------


def test_calls_add_up_per_venue_operation_and_wall_clock_minute():
    wall = FixedClock(T0)
    recorder = HealthRecorder(clock=wall)
    recorder.record(venue="v", operation="submit", latency_ms=1)  # on a bound: that bucket
    recorder.record(venue="v", operation="submit", latency_ms=6000, error="timeout: TimeoutError")  # overflow
    wall.advance(timedelta(seconds=50))  # the next minute
    recorder.record(venue="v", operation="submit", latency_ms=2.5)
    recorder.record(venue="w", operation="submit", latency_ms=2.5)
    first, second, other = recorder.pending()
    assert (first.minute, first.calls, first.errors, first.latency_max_ms) == (MINUTE, 2, 1, 6000)
    assert first.histogram[0] == 1 and first.histogram[-1] == 1 and sum(first.histogram) == 2
    assert first.last_success_at == T0 and first.last_error_at == T0 and first.last_error.startswith("timeout")
    assert (second.minute, second.calls, second.histogram[2]) == (MINUTE + timedelta(minutes=1), 1, 1)
    assert other.venue == "w"


def test_recording_from_many_threads_loses_no_call():
    recorder = HealthRecorder(clock=FixedClock(T0))

    def hammer() -> None:
        for _ in range(2000):
            recorder.record(venue="v", operation="poll_events", latency_ms=0.1)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (bucket,) = recorder.pending()
    assert bucket.calls == 16_000 and sum(bucket.histogram) == 16_000


# --- flushing into the store --------------------------------------------------------------


class CommitFails:
    """A unit of work (through the port) whose commit fails like a store that went away, after
    doing `before_commit` (a call arriving while the flush runs)."""

    def __init__(self, inner: InMemoryUnitOfWork, *, before_commit=lambda: None) -> None:
        self._inner = inner
        self._before_commit = before_commit
        self.venue_health = inner.venue_health

    def __enter__(self) -> CommitFails:
        self._inner.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self._before_commit()
        raise StoreUnavailable("connection lost")

    def rollback(self) -> None:
        self._inner.rollback()


def test_a_flush_writes_each_bucket_once_and_clears_what_it_wrote():
    wall = FixedClock(T0)
    store = InMemoryStore(wall_clock=wall)
    recorder = HealthRecorder(clock=wall)
    for op in ("submit", "submit", "cancel"):
        recorder.record(venue="v", operation=op, latency_ms=4)
    with store() as uow:
        assert recorder.flush(uow) == 2
    assert recorder.pending() == []
    with store() as uow:
        assert recorder.flush(uow) == 0
    assert [(b.operation, b.calls) for b in stored(store)] == [("cancel", 1), ("submit", 2)]


def test_a_failed_commit_loses_nothing_and_counts_nothing_twice():
    wall = FixedClock(T0)
    store = InMemoryStore(wall_clock=wall)
    recorder = HealthRecorder(clock=wall)
    recorder.record(venue="v", operation="submit", latency_ms=4)
    recorder.record(venue="v", operation="cancel", latency_ms=4, error="transient: VenueUnavailable")

    def a_call_meanwhile() -> None:
        recorder.record(venue="v", operation="submit", latency_ms=30)

    with pytest.raises(StoreUnavailable), CommitFails(store(), before_commit=a_call_meanwhile) as uow:
        recorder.flush(uow)
    assert stored(store) == []  # rolled back
    pending = by_operation(recorder)
    assert pending["submit"].calls == 2 and pending["submit"].latency_max_ms == 30 and pending["cancel"].errors == 1

    store.fail_next = 1  # the next unit of work cannot even start: the flush never runs
    with pytest.raises(StoreUnavailable), store() as uow:
        recorder.flush(uow)
    with store() as uow:
        recorder.flush(uow)
    with store() as uow:
        recorder.flush(uow)  # nothing left to write twice
    got = {b.operation: b for b in stored(store)}
    assert (got["submit"].calls, got["submit"].errors, got["submit"].latency_sum_ms) == (2, 0, 34)
    assert (got["cancel"].calls, got["cancel"].errors, got["cancel"].last_error) == (1, 1, "transient: VenueUnavailable")


def test_buckets_older_than_a_week_are_pruned_on_flush_at_most_once_an_hour():
    wall = FixedClock(T0)
    store = InMemoryStore(wall_clock=wall)
    recorder = HealthRecorder(clock=wall)

    def old_bucket(age: timedelta) -> None:
        with store() as uow:
            uow.venue_health.add(VenueHealthBucket(venue="v", operation="old", minute=minute_of(wall.now() - age),
                                                   calls=1, errors=0, latency_sum_ms=1, latency_max_ms=1,
                                                   histogram=(1,) + (0,) * (HISTOGRAM_SIZE - 1)))
            uow.commit()

    old_bucket(timedelta(days=8))
    old_bucket(timedelta(days=6))
    with store() as uow:
        recorder.flush(uow)  # the first flush prunes
    assert len(stored(store)) == 1
    wall.advance(timedelta(minutes=30))
    old_bucket(timedelta(days=8))
    with store() as uow:
        recorder.flush(uow)
    assert len(stored(store)) == 2  # not yet: the last prune was half an hour ago
    wall.advance(timedelta(minutes=31))
    with store() as uow:
        recorder.flush(uow)
    assert len(stored(store)) == 1


# --- the paper session flushes with its heartbeats -----------------------------------------


def test_a_paper_session_on_the_simulated_venue_leaves_its_venue_calls_in_the_store():
    wall = FixedClock(T0)
    store = InMemoryStore(wall_clock=wall)
    recorder = HealthRecorder(clock=wall)
    sim = sim_broker()
    session = PaperSession(
        settings=SessionSettings(account="paper-test", mode="simulation"),
        bots=[spec(strategy=always(Target.LONG))], uow_factory=store,
        broker=MeasuredBroker(inner=sim, venue="simulated", recorder=recorder, monotonic=Ticks(0.0005)),
        venue=sim, notifier=RecordingNotifier(), wall_clock=wall, process=ProcessInfo(pid=1, host="h"),
        health=recorder,
    )
    session.start(now=T0)
    for b in bars("SPY", [100, 101, 102], start=T0 - timedelta(minutes=10)):
        session.process_bar(b, now=b.end)
    session.stop(now=T0)
    assert recorder.pending() == []
    got = {b.operation: b for b in stored(store)}
    assert got["submit"].calls >= 1 and got["poll_events"].calls >= 3
    assert all(b.venue == "simulated" and b.errors == 0 and b.last_success_at == T0 for b in got.values())
