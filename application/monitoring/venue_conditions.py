"""The venues' conditions, from the venue-health figures the sessions write with each heartbeat
(application/venues/venue_health.py): error rate and latency over the window, a market-data
stream down for too long, a storm of 429 answers.

The stream's state is recorded as the venue operation STREAM_OPERATION (stream_state.py); it
is left out of the error rate and latency, which are about the venue's API calls. A 429 is
counted by the error class the bucket keeps (its last error): a bucket whose last error was a
rate limit counts all its errors as rate limits, which a storm makes nearly true.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from application.alerting.alert import Alert
from application.monitoring.policy import (
    SOURCE,
    STREAM_OPERATION,
    VENUE_ERRORS,
    VENUE_LATENCY,
    VENUE_STREAM_DOWN,
    VENUE_THROTTLED,
    WatchdogPolicy,
)
from application.ports import AlertLevel
from application.reports.venue_health_report import VenueHealthReport
from application.venues.ports import VenueHealthBucket
from application.venues.venue_health import minute_of

_RATE_LIMITED = re.compile(r"RateLimited|HTTP 429")
_STREAM_RECORD_FRESH = timedelta(minutes=2)  # an older stream record is a stopped session's, not news


def venue_alerts(report: VenueHealthReport, buckets: Sequence[VenueHealthBucket], *, now: datetime,
                 policy: WatchdogPolicy) -> list[Alert]:
    found = []
    for venue in report.venues:
        calls = [o for o in venue.operations if o.operation != STREAM_OPERATION]
        total = sum(o.calls for o in calls)
        if total < policy.venue_min_calls:
            continue
        errors = sum(o.errors for o in calls)
        rate = errors / total
        window = f"{report.window_seconds} s"
        if rate > policy.venue_error_rate:
            down = errors == total
            found.append(Alert(
                key=f"{VENUE_ERRORS}:{venue.venue}", level=AlertLevel.CRITICAL if down else AlertLevel.WARNING,
                title=f"venue {'down' if down else 'errors'}: {venue.venue}", source=SOURCE,
                body=f"{errors} of {total} calls to {venue.venue} failed in the last {window} ({rate:.0%}, the "
                     f"threshold is {policy.venue_error_rate:.0%}); last error: {venue.last_error or 'none'}",
                figures={"calls": str(total), "errors": str(errors), "error_rate": f"{rate:.3f}",
                         "threshold": f"{policy.venue_error_rate:g}", "window_seconds": str(report.window_seconds)}))
        slow = [o for o in calls if o.calls and o.p99_ms > policy.venue_latency_ms]
        if slow:
            worst = max(slow, key=lambda o: o.p99_ms)
            found.append(Alert(
                key=f"{VENUE_LATENCY}:{venue.venue}", level=AlertLevel.WARNING, source=SOURCE,
                title=f"venue slow: {venue.venue}",
                body=f"{venue.venue} answered {worst.operation} in {worst.p99_ms:g} ms at p99 over the last "
                     f"{window} (the threshold is {policy.venue_latency_ms:g} ms); slow: "
                     + ", ".join(f"{o.operation} {o.p99_ms:g} ms" for o in slow),
                figures={"operation": worst.operation, "p99_ms": f"{worst.p99_ms:g}",
                         "threshold_ms": f"{policy.venue_latency_ms:g}", "window_seconds": str(report.window_seconds)}))
    found += _throttled(buckets, now=now, policy=policy)
    found += _streams_down(buckets, now=now, policy=policy)
    return found


def _throttled(buckets: Sequence[VenueHealthBucket], *, now: datetime, policy: WatchdogPolicy) -> list[Alert]:
    since = minute_of(now - policy.venue_window)
    limited: dict[str, int] = {}
    for b in buckets:
        if b.minute >= since and b.errors and _RATE_LIMITED.search(b.last_error):
            limited[b.venue] = limited.get(b.venue, 0) + b.errors
    return [Alert(
        key=f"{VENUE_THROTTLED}:{venue}", level=AlertLevel.WARNING, source=SOURCE,
        title=f"venue rate limiting: {venue}",
        body=f"{venue} answered {count} calls with 429 (rate limited) in the last "
             f"{int(policy.venue_window.total_seconds())} s (the threshold is {policy.venue_throttled_count}): "
             "the bots send faster than the venue allows and their requests wait or fail",
        figures={"rate_limited": str(count), "threshold": str(policy.venue_throttled_count)})
        for venue, count in sorted(limited.items()) if count >= policy.venue_throttled_count]


def _streams_down(buckets: Sequence[VenueHealthBucket], *, now: datetime, policy: WatchdogPolicy) -> list[Alert]:
    by_venue: dict[str, list[VenueHealthBucket]] = {}
    for b in buckets:
        if b.operation == STREAM_OPERATION:
            by_venue.setdefault(b.venue, []).append(b)
    found = []
    for venue, records in sorted(by_venue.items()):
        up = max((b.last_success_at for b in records if b.last_success_at), default=None)
        failed = max((b.last_error_at for b in records if b.last_error_at), default=None)
        if failed is None or (up is not None and up >= failed) or now - failed > _STREAM_RECORD_FRESH:
            continue
        # Down since it was last seen up; never seen up in what was read: since its first failed minute.
        since = up or min(b.minute for b in records if b.errors)
        down = (now - since).total_seconds()
        if down > policy.stream_down_seconds:
            found.append(Alert(
                key=f"{VENUE_STREAM_DOWN}:{venue}", level=AlertLevel.CRITICAL, source=SOURCE,
                title=f"market data stream down: {venue}",
                body=f"The {venue} websocket has been down for {down:.0f} s (the threshold is "
                     f"{policy.stream_down_seconds:g} s): the bots get no live prices from it"
                     + (f", last connected {up.isoformat()}" if up else ""),
                figures={"down_seconds": f"{down:.0f}", "threshold_seconds": f"{policy.stream_down_seconds:g}"}))
    return found
