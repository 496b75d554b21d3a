"""The venue-health report: percentiles estimated from known histograms, the status of each
operation and venue, and the window, read from the in-memory store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from application.venues.ports import HISTOGRAM_SIZE, LATENCY_BOUNDS_MS, VenueHealthBucket
from application.venues.venue_health import HealthRecorder
from application.reports.venue_health_report import (
    WINDOWS,
    HealthStatus,
    HealthThresholds,
    percentile_ms,
    venue_health_report,
)
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore

NOW = datetime(2025, 6, 2, 14, 0, 30, tzinfo=timezone.utc)


def histogram(**by_bound: int) -> list[int]:
    """Counts by bucket: b1=3 is three calls in the "<= 1 ms" bucket, over=1 one past the last bound."""
    counts = [0] * HISTOGRAM_SIZE
    for name, count in by_bound.items():
        counts[-1 if name == "over" else LATENCY_BOUNDS_MS.index(float(name[1:]))] = count
    return counts


# --- percentiles --------------------------------------------------------------------------


def test_a_percentile_is_the_upper_bound_of_the_bucket_holding_its_rank():
    h = histogram(b1=50, b10=45, b100=4, over=1)  # 100 calls
    assert percentile_ms(h, percent=50, max_ms=7000) == 1
    assert percentile_ms(h, percent=51, max_ms=7000) == 10
    assert percentile_ms(h, percent=95, max_ms=7000) == 10
    assert percentile_ms(h, percent=99, max_ms=7000) == 100
    assert percentile_ms(h, percent=100, max_ms=7000) == 7000  # the open last bucket: the max


def test_the_rank_is_counted_in_integers():
    # 95% of 20 calls is call 19 (in floats 0.95 * 20 = 19.000000000000004, which would be call 20).
    assert percentile_ms(histogram(b1=19, b50=1), percent=95, max_ms=40) == 1


def test_an_estimate_never_exceeds_the_largest_latency_seen():
    assert percentile_ms(histogram(b50=10), percent=50, max_ms=30) == 30
    assert percentile_ms(histogram(b1=10), percent=99, max_ms=0.2) == 0.2


def test_an_empty_histogram_estimates_zero_and_bad_input_is_refused():
    assert percentile_ms(histogram(), percent=99, max_ms=0) == 0.0
    with pytest.raises(ValueError):
        percentile_ms([1, 2], percent=50, max_ms=1)
    with pytest.raises(ValueError):
        percentile_ms(histogram(b1=1), percent=0, max_ms=1)


# --- status -------------------------------------------------------------------------------


def store_with(*calls: tuple[str, str, float, bool], at: datetime = NOW) -> InMemoryStore:
    """(venue, operation, latency ms, failed) calls made at `at`, recorded and flushed as the bots do."""
    wall = FixedClock(at)
    store = InMemoryStore(wall_clock=wall)
    recorder = HealthRecorder(clock=wall)
    for venue, operation, latency, failed in calls:
        recorder.record(venue=venue, operation=operation, latency_ms=latency,
                        error="transient: VenueUnavailable" if failed else None)
    with store() as uow:
        recorder.flush(uow)
    return store


def report(store: InMemoryStore, **kwargs):
    with store.unit_of_work(read_only=True) as uow:
        return venue_health_report(uow, now=NOW, **kwargs)


def test_a_healthy_venue_is_ok_with_its_figures():
    calls = [("alpaca", "submit", 20.0, False)] * 19 + [("alpaca", "submit", 80.0, True)]
    got = report(store_with(*calls), thresholds=HealthThresholds(max_error_rate=0.05))
    (venue,) = got.venues
    (submit,) = venue.operations
    assert (venue.venue, venue.status, venue.reason) == ("alpaca", HealthStatus.OK, "")
    assert (submit.calls, submit.errors, submit.error_rate) == (20, 1, 0.05)  # at the threshold, not above
    assert submit.mean_ms == 23 and (submit.p50_ms, submit.p95_ms, submit.p99_ms, submit.max_ms) == (25, 25, 80, 80)
    assert submit.last_success_at == NOW and submit.last_error_at == NOW
    assert submit.last_error == venue.last_error == "transient: VenueUnavailable"


def test_errors_above_the_threshold_degrade_the_operation_and_its_venue():
    calls = [("alpaca", "submit", 5.0, False)] * 9 + [("alpaca", "submit", 5.0, True), ("alpaca", "cancel", 5.0, False)]
    (venue,) = report(store_with(*calls)).venues
    cancel, submit = venue.operations
    assert cancel.status is HealthStatus.OK
    assert submit.status is HealthStatus.DEGRADED and submit.reason == "error rate 10.0% above 5.0%"
    assert venue.status is HealthStatus.DEGRADED and venue.reason == "submit: error rate 10.0% above 5.0%"


def test_a_slow_p99_degrades():
    # 2 of 100 calls in the "<= 2500 ms" bucket: p99 is its bound 2500, capped at the max seen, 2000.
    calls = [("coinbase", "fills", 100.0, False)] * 98 + [("coinbase", "fills", 2000.0, False)] * 2
    (venue,) = report(store_with(*calls), thresholds=HealthThresholds(max_p99_ms=1000)).venues
    assert venue.operations[0].p99_ms == 2000 and venue.operations[0].max_ms == 2000
    assert venue.status is HealthStatus.DEGRADED and "p99 2000 ms above 1000 ms" in venue.reason


def test_a_venue_whose_calls_all_failed_is_down_and_one_failing_operation_only_degrades():
    (down,) = report(store_with(("alpaca", "submit", 1.0, True), ("alpaca", "positions", 1.0, True))).venues
    assert down.status is HealthStatus.DOWN and down.last_success_at is None and down.errors == 2
    assert {o.status for o in down.operations} == {HealthStatus.DOWN}
    (partly,) = report(store_with(("alpaca", "submit", 1.0, True), ("alpaca", "positions", 1.0, False))).venues
    assert partly.status is HealthStatus.DEGRADED and partly.reason == "submit: all 1 calls failed"


def test_a_configured_venue_without_calls_is_idle():
    got = report(store_with(("simulated", "submit", 1.0, False)), venues=["simulated", "alpaca"])
    assert [(v.venue, v.status) for v in got.venues] == [("alpaca", HealthStatus.IDLE), ("simulated", HealthStatus.OK)]
    assert got.venues[0].operations == () and got.venues[0].calls == 0


# --- the window ---------------------------------------------------------------------------


def test_the_window_counts_whole_minutes_back_from_now():
    store = store_with(("v", "submit", 1.0, False), at=NOW - timedelta(minutes=15))  # in the window's first minute
    with store() as uow:
        uow.venue_health.add(VenueHealthBucket(
            venue="v", operation="submit", minute=datetime(2025, 6, 2, 13, 44, tzinfo=timezone.utc), calls=5,
            errors=5, latency_sum_ms=5, latency_max_ms=1, histogram=histogram(b1=5),
            last_error_at=datetime(2025, 6, 2, 13, 44, 59, tzinfo=timezone.utc), last_error="old"))
        uow.commit()
    fifteen = report(store, window=WINDOWS["15m"])
    assert fifteen.since == datetime(2025, 6, 2, 13, 45, tzinfo=timezone.utc) and fifteen.window_seconds == 900
    assert fifteen.venues[0].calls == 1 and fifteen.venues[0].status is HealthStatus.OK
    hour = report(store, window=WINDOWS["1h"])
    assert hour.venues[0].calls == 6 and hour.venues[0].status is HealthStatus.DEGRADED
    assert hour.venues[0].last_error == "old"
    assert report(store, window=WINDOWS["24h"]).window_seconds == 86_400
