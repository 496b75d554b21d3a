"""Wire types of GET /api/v1/health/venues (msgspec Structs, like dto.py) and the mapping from
the venue-health report (application/reports/venue_health_report.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from application.reports.venue_health_report import OperationHealth, VenueHealth, VenueHealthReport

Status = Literal["ok", "degraded", "down", "idle"]
WindowName = Literal["15m", "1h", "24h"]


class OperationHealthResponse(msgspec.Struct, kw_only=True):
    """Latency in milliseconds. p50/p95/p99 are estimates: the upper bound of the latency-histogram
    bucket holding the rank, capped at the max (never below the true value)."""

    operation: str  # submit, cancel, find_order, open_orders, poll_events, fills, positions, poll
    status: Status
    reason: str  # why it is not ok; "" when it is
    calls: int
    errors: int
    error_rate: float  # errors / calls
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    last_success_at: datetime | None  # within the window
    last_error_at: datetime | None
    last_error: str  # a short class ("transient: VenueUnavailable (HTTP 503)"), never the venue's message


class VenueHealthResponse(msgspec.Struct, kw_only=True):
    venue: str  # simulated, alpaca, coinbase
    status: Status  # down: calls failed and none succeeded; degraded: an operation above a threshold
    reason: str
    calls: int
    errors: int
    error_rate: float
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    operations: list[OperationHealthResponse]


class VenueHealthThresholds(msgspec.Struct, kw_only=True):
    max_error_rate: float
    max_p99_ms: float


class VenueHealthReportResponse(msgspec.Struct, kw_only=True):
    window: WindowName
    since: datetime  # the window in whole minutes, from the minute it starts in
    generated_at: datetime
    thresholds: VenueHealthThresholds
    venues: list[VenueHealthResponse]


def report_response(report: VenueHealthReport, *, window: WindowName) -> VenueHealthReportResponse:
    return VenueHealthReportResponse(
        window=window, since=report.since, generated_at=report.generated_at,
        thresholds=VenueHealthThresholds(max_error_rate=report.thresholds.max_error_rate,
                                         max_p99_ms=report.thresholds.max_p99_ms),
        venues=[_venue(v) for v in report.venues])


def _venue(v: VenueHealth) -> VenueHealthResponse:
    return VenueHealthResponse(
        venue=v.venue, status=v.status.value, reason=v.reason, calls=v.calls, errors=v.errors,  # type: ignore[arg-type]
        error_rate=v.error_rate, last_success_at=v.last_success_at, last_error_at=v.last_error_at,
        last_error=v.last_error, operations=[_operation(o) for o in v.operations])


def _operation(o: OperationHealth) -> OperationHealthResponse:
    return OperationHealthResponse(
        operation=o.operation, status=o.status.value, reason=o.reason, calls=o.calls,  # type: ignore[arg-type]
        errors=o.errors, error_rate=o.error_rate, mean_ms=o.mean_ms, p50_ms=o.p50_ms, p95_ms=o.p95_ms,
        p99_ms=o.p99_ms, max_ms=o.max_ms, last_success_at=o.last_success_at, last_error_at=o.last_error_at,
        last_error=o.last_error)
