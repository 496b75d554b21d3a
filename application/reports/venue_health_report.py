"""How the venues' APIs did over a recent window, from the stored venue_health buckets
(see application/venues/venue_health.py for how they are measured).

Percentiles are estimated from the merged latency histogram: the estimate of p is the upper
bound of the histogram bucket holding the nearest-rank call (rank ceil(p% of calls)), capped at
the largest latency seen (which also bounds the open-ended last bucket). So an estimate is never
below the true value, and never more than one bucket above it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType

import attrs

from application.ports import UnitOfWork
from application.venues.ports import HISTOGRAM_SIZE, LATENCY_BOUNDS_MS, VenueHealthBucket
from application.venues.venue_health import minute_of

# The windows the CLI and the API offer, by the name they take.
WINDOWS: Mapping[str, timedelta] = MappingProxyType({
    "15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(hours=24)})
DEFAULT_WINDOW = "15m"


class HealthStatus(enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"  # errors above the threshold, or too slow at p99
    DOWN = "down"  # calls failed and none succeeded in the window
    IDLE = "idle"  # no calls in the window


@attrs.frozen(kw_only=True)
class HealthThresholds:
    max_error_rate: float = attrs.field(default=0.05, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    max_p99_ms: float = attrs.field(default=1000.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class OperationHealth:
    operation: str
    status: HealthStatus
    reason: str  # why it is not ok ("" when it is)
    calls: int
    errors: int
    error_rate: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str


@attrs.frozen(kw_only=True)
class VenueHealth:
    venue: str
    status: HealthStatus
    reason: str
    calls: int
    errors: int
    error_rate: float
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    operations: tuple[OperationHealth, ...]


@attrs.frozen(kw_only=True)
class VenueHealthReport:
    generated_at: datetime
    since: datetime  # the window in whole minutes: the minute `generated_at - window` falls in, on
    window_seconds: int
    thresholds: HealthThresholds
    venues: tuple[VenueHealth, ...]


def percentile_ms(histogram: Sequence[int], *, percent: int, max_ms: float) -> float:
    """The estimate described in the module docstring; 0.0 for an empty histogram."""
    if len(histogram) != HISTOGRAM_SIZE:
        raise ValueError(f"a latency histogram has {HISTOGRAM_SIZE} counts")
    if not 0 < percent <= 100:
        raise ValueError("percent is in (0, 100]")
    total = sum(histogram)
    if total == 0:
        return 0.0
    rank = -(-percent * total // 100)  # ceil in integers: 0.95 * 20 must be 19, not 19.000000000000004
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            bound = LATENCY_BOUNDS_MS[index] if index < len(LATENCY_BOUNDS_MS) else max_ms
            return float(min(bound, max_ms))
    raise AssertionError("unreachable: the rank is at most the total")


def venue_health_report(uow: UnitOfWork, *, now: datetime, window: timedelta = WINDOWS[DEFAULT_WINDOW],
                        venues: Iterable[str] = (), thresholds: HealthThresholds = HealthThresholds(),
                        ) -> VenueHealthReport:
    """Per venue and operation over the window. `venues`: venues known to be configured, shown
    as idle when they made no call (a venue only in the store shows when it has calls)."""
    since = minute_of(now - window)
    by_operation: dict[tuple[str, str], list[VenueHealthBucket]] = {}
    for bucket in uow.venue_health.list(since=since):
        by_operation.setdefault((bucket.venue, bucket.operation), []).append(bucket)
    names = sorted({venue for venue, _ in by_operation} | set(venues))
    report = []
    for name in names:
        operations = tuple(_operation(op, by_operation[(v, op)], thresholds)
                           for v, op in sorted(by_operation) if v == name)
        report.append(_venue(name, operations))
    return VenueHealthReport(generated_at=now, since=since, window_seconds=int(window.total_seconds()),
                             thresholds=thresholds, venues=tuple(report))


def _operation(name: str, buckets: list[VenueHealthBucket], thresholds: HealthThresholds) -> OperationHealth:
    calls = sum(b.calls for b in buckets)
    errors = sum(b.errors for b in buckets)
    histogram = [sum(counts) for counts in zip(*(b.histogram for b in buckets), strict=True)]
    max_ms = max(b.latency_max_ms for b in buckets)
    p99 = percentile_ms(histogram, percent=99, max_ms=max_ms)
    error_rate = errors / calls if calls else 0.0
    last_error_at, last_error = max(((b.last_error_at, b.last_error) for b in buckets if b.last_error_at),
                                    default=(None, ""))
    if calls == 0:
        status, reason = HealthStatus.IDLE, "no calls"
    elif errors == calls:
        status, reason = HealthStatus.DOWN, f"all {calls} calls failed"
    elif error_rate > thresholds.max_error_rate:
        status, reason = HealthStatus.DEGRADED, f"error rate {error_rate:.1%} above {thresholds.max_error_rate:.1%}"
    elif p99 > thresholds.max_p99_ms:
        status, reason = HealthStatus.DEGRADED, f"p99 {p99:g} ms above {thresholds.max_p99_ms:g} ms"
    else:
        status, reason = HealthStatus.OK, ""
    return OperationHealth(
        operation=name, status=status, reason=reason, calls=calls, errors=errors, error_rate=error_rate,
        mean_ms=_ms(sum(b.latency_sum_ms for b in buckets) / calls if calls else 0.0),
        p50_ms=_ms(percentile_ms(histogram, percent=50, max_ms=max_ms)),
        p95_ms=_ms(percentile_ms(histogram, percent=95, max_ms=max_ms)), p99_ms=_ms(p99), max_ms=_ms(max_ms),
        last_success_at=max((b.last_success_at for b in buckets if b.last_success_at), default=None),
        last_error_at=last_error_at, last_error=last_error,
    )


def _ms(value: float) -> float:
    return round(value, 3)  # a microsecond is finer than any venue call needs, and reads better


def _venue(name: str, operations: tuple[OperationHealth, ...]) -> VenueHealth:
    calls = sum(o.calls for o in operations)
    errors = sum(o.errors for o in operations)
    last_error_at, last_error = max(((o.last_error_at, o.last_error) for o in operations if o.last_error_at),
                                    default=(None, ""))
    troubled = [o for o in operations if o.status is not HealthStatus.OK]
    if calls == 0:
        status, reason = HealthStatus.IDLE, "no calls"
    elif errors == calls:
        status, reason = HealthStatus.DOWN, f"no success in the window: all {calls} calls failed"
    elif troubled:
        status, reason = HealthStatus.DEGRADED, "; ".join(f"{o.operation}: {o.reason}" for o in troubled)
    else:
        status, reason = HealthStatus.OK, ""
    return VenueHealth(
        venue=name, status=status, reason=reason, calls=calls, errors=errors,
        error_rate=errors / calls if calls else 0.0,
        last_success_at=max((o.last_success_at for o in operations if o.last_success_at), default=None),
        last_error_at=last_error_at, last_error=last_error, operations=operations,
    )
