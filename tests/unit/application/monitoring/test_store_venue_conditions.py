"""The store unreachable or slow, the venues' error rate, latency, streams and 429 storms, and
reconciliation mismatches, as a watchdog ticking on a real SQLite store sees them."""

from __future__ import annotations

import attrs

from application.monitoring.policy import STREAM_OPERATION
from application.monitoring.stream_state import StreamStateMonitor
from application.ports import AlertLevel
from application.records import AuditEntry, AuditKind
from application.venues.venue_health import HealthRecorder
from tests.unit.application.monitoring.conftest import T0, World, keys


def test_an_unreachable_store_is_told_by_the_leader_and_resolved_when_it_answers(world: World):
    world.processes.running = {4242}
    world.beat(pid=4242)
    dog, sink = world.watchdog()
    dog.tick()
    lock = world.lock()
    try:
        world.advance(1)
        report = dog.tick()
        assert (report.store_ok, report.leader, report.fired) == (False, True, ("store_unreachable",))
        assert "unavailable" in sink.alerts[-1].body and sink.alerts[-1].level is AlertLevel.CRITICAL
        world.advance(10)  # the bot's beat ages meanwhile, but nothing can be read: nothing else decided
        assert keys(dog.tick()) == ((), ())
    finally:
        lock.rollback()
        lock.close()
    world.beat(pid=4242)
    assert keys(dog.tick()) == ((), ("store_unreachable",))


def test_a_watchdog_that_does_not_lead_tells_nothing_of_an_unreachable_store(world: World):
    leader, _ = world.watchdog("1@watch-host")
    other, sink = world.watchdog("2@watch-host")
    leader.tick()
    assert not other.tick().leader
    lock = world.lock()
    try:
        assert other.tick().fired == ()
    finally:
        lock.rollback()
        lock.close()
    assert sink.events == []


def test_a_store_slow_for_some_ticks_in_a_row_is_degraded(world: World):
    dog, sink = world.watchdog()
    world.monotonic.step = 1.2  # read at the start and the end of a tick: 1.2 s, over the 1 s threshold
    assert dog.tick().fired == ()
    assert dog.tick().fired == ()
    report = dog.tick()
    assert report.fired == ("store_degraded",) and report.latency_ms > 1000
    assert sink.alerts[-1].figures["slow_ticks"] == "3"
    world.monotonic.step = 0.001
    assert keys(dog.tick()) == ((), ("store_degraded",))


def record_calls(world: World, *, venue: str = "alpaca", operation: str = "submit", ok: int = 0, failed: int = 0,
                 latency_ms: float = 20.0, error: str = "transient: VenueUnavailable") -> None:
    recorder = HealthRecorder(clock=world.clock)
    for _ in range(ok):
        recorder.record(venue=venue, operation=operation, latency_ms=latency_ms)
    for _ in range(failed):
        recorder.record(venue=venue, operation=operation, latency_ms=latency_ms, error=error)
    with world.store() as uow:
        recorder.flush(uow)


def test_a_venue_error_rate_over_the_threshold_warns_and_all_failing_is_critical(world: World):
    dog, sink = world.watchdog()
    record_calls(world, ok=3, failed=1)  # 4 calls: under venue_min_calls, no rate yet
    assert dog.tick().fired == ()
    record_calls(world, ok=5, failed=0)  # 1 of 9 failed: 11 %, under 20 %
    assert dog.tick().fired == ()
    record_calls(world, failed=3)  # 4 of 12: 33 %
    assert dog.tick().fired == ("venue_errors:alpaca",)
    assert sink.alerts[-1].level is AlertLevel.WARNING and sink.alerts[-1].figures["errors"] == "4"
    world.advance(180)  # a new window: nothing but failures
    record_calls(world, failed=6)
    assert dog.tick().fired == ("venue_errors:alpaca",)  # raised again: now it is down
    assert sink.alerts[-1].level is AlertLevel.CRITICAL and sink.alerts[-1].title == "venue down: alpaca"
    world.advance(180)
    record_calls(world, ok=10)
    assert keys(dog.tick()) == ((), ("venue_errors:alpaca",))


def test_a_venue_slow_at_p99_warns(world: World):
    dog, sink = world.watchdog()
    record_calls(world, ok=10, latency_ms=3000, operation="find_order")
    assert dog.tick().fired == ("venue_latency:alpaca",)
    assert sink.alerts[-1].figures["operation"] == "find_order"
    world.advance(180)
    record_calls(world, ok=10, latency_ms=30, operation="find_order")
    assert dog.tick().resolved == ("venue_latency:alpaca",)


def test_a_storm_of_429s_is_told(world: World):
    world.policy = attrs.evolve(world.policy, venue_error_rate=1.0)  # only the storm, not the rate
    dog, sink = world.watchdog()
    record_calls(world, venue="coinbase", ok=20, failed=4, error="transient: RateLimited")
    assert dog.tick().fired == ()
    record_calls(world, venue="coinbase", failed=1, error="transient: RateLimited")
    assert dog.tick().fired == ("venue_throttled:coinbase",)
    assert sink.alerts[-1].figures["rate_limited"] == "5"


def test_a_stream_down_longer_than_the_threshold_is_told_until_it_is_back(world: World):
    world.policy = attrs.evolve(world.policy, stream_down_seconds=10)
    dog, sink = world.watchdog()
    record_calls(world, venue="coinbase", operation=STREAM_OPERATION, ok=1)
    world.advance(2)
    record_calls(world, venue="coinbase", operation=STREAM_OPERATION, failed=1, error="stream: disconnected")
    world.advance(7)
    record_calls(world, venue="coinbase", operation=STREAM_OPERATION, failed=1, error="stream: disconnected")
    assert dog.tick().fired == ()  # down 9 s
    world.advance(2)
    record_calls(world, venue="coinbase", operation=STREAM_OPERATION, failed=1, error="stream: disconnected")
    assert dog.tick().fired == ("venue_stream_down:coinbase",)  # down 11 s, counted from the last up
    assert sink.alerts[-1].figures["down_seconds"] == "11"
    assert not any(key.startswith("venue_errors") for key in sink.fired())  # the stream is no API call
    world.advance(1)
    record_calls(world, venue="coinbase", operation=STREAM_OPERATION, ok=1)
    assert dog.tick().resolved == ("venue_stream_down:coinbase",)


def reconciled(world: World, *, account: str = "paper", mismatches: list[str]) -> None:
    with world.store() as uow:
        uow.audit.append(AuditEntry(
            ts=world.clock.now(), kind=AuditKind.ERROR if mismatches else AuditKind.SESSION, account=account,
            message="reconciliation", data={"ok": not mismatches, "mismatches": mismatches, "adopted": []}))
        uow.commit()


def test_a_reconciliation_mismatch_is_told_until_a_clean_reconciliation(world: World):
    dog, sink = world.watchdog()
    reconciled(world, mismatches=[])
    reconciled(world, account="sim-0003", mismatches=["position BTC-USD: store 1, venue 0"])
    world.beat(account="sim-0003", mode="simulation")  # an accelerated session's: not watched
    assert dog.tick().fired == ()
    world.advance(30)
    reconciled(world, mismatches=["position BTC-USD: store 1, venue 0 (difference -1)"])
    assert dog.tick().fired == ("reconciliation_mismatch:paper",)
    assert "position BTC-USD" in sink.alerts[-1].body and sink.alerts[-1].account == "paper"
    world.advance(30)
    reconciled(world, mismatches=[])
    assert dog.tick().resolved == ("reconciliation_mismatch:paper",)


def test_a_sessions_stream_monitor_writes_what_the_watchdog_reads(world: World):
    world.policy = attrs.evolve(world.policy, stream_down_seconds=5)
    recorder = HealthRecorder(clock=world.clock)
    connected = [True]
    monitor = StreamStateMonitor(venue="coinbase", connected=lambda: connected[0], recorder=recorder)
    dog, _ = world.watchdog()

    def seconds(count: int) -> None:  # the session: supervised every 0.2 s, flushed with each beat
        for _ in range(count * 5):
            monitor.tick(now=world.clock.now())
            world.advance(0.2)
        with world.store() as uow:
            recorder.flush(uow)

    seconds(3)
    connected[0] = False
    seconds(4)
    assert dog.tick().fired == ()
    seconds(2)
    assert dog.tick().fired == ("venue_stream_down:coinbase",)
    connected[0] = True
    seconds(1)
    assert dog.tick().resolved == ("venue_stream_down:coinbase",)
    with world.store.unit_of_work(read_only=True) as uow:
        stream = [b for b in uow.venue_health.list(since=T0) if b.operation == STREAM_OPERATION]
    assert sum(b.calls for b in stream) == 10  # once a second, not at every supervision
