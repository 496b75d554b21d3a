"""/metrics figures of the venues' API health, read from the store at scrape time (the bots that
measure them run in other processes), over the last 15 minutes.

Gauges, not counters: the stored buckets are per minute and pruned after a week, so a running
total would fall back; a window's figures are what an alert rule wants anyway ("error ratio
above 5% over 15 minutes"). The quantiles are the report's estimates (bucket upper bounds).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from application.ports import Clock
from application.reports.venue_health_report import DEFAULT_WINDOW, WINDOWS, HealthStatus, venue_health_report
from entrypoints.container import SIMULATED_VENUE
from entrypoints.web.deps import Store

log = logging.getLogger("quantshift.api")
_PREFIX = "quantshift_venue"


class VenueHealthCollector(Collector):
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._store.unit_of_work(read_only=True) as uow:
                report = venue_health_report(uow, now=self._clock.now(), window=WINDOWS[DEFAULT_WINDOW],
                                             venues=[SIMULATED_VENUE])
        except Exception:  # noqa: BLE001 - the store collector says quantshift_store_up 0; stay quiet here
            log.warning("metrics: venue health not read", exc_info=True)
            return
        labels = ["venue", "operation"]
        calls = GaugeMetricFamily(f"{_PREFIX}_calls", "Venue API calls in the last 15 minutes", labels=labels)
        errors = GaugeMetricFamily(f"{_PREFIX}_errors", "Failed venue API calls in the last 15 minutes", labels=labels)
        latency = GaugeMetricFamily(f"{_PREFIX}_latency_seconds",
                                    "Venue API latency over the last 15 minutes (quantiles estimated from a histogram)",
                                    labels=[*labels, "quantile"])
        last_success = GaugeMetricFamily(f"{_PREFIX}_last_success_timestamp_seconds",
                                         "Unix time of the last successful call in the last 15 minutes", labels=labels)
        status = GaugeMetricFamily(f"{_PREFIX}_status", "1 for the venue's current status (ok, degraded, down, idle)",
                                   labels=["venue", "status"])
        for venue in report.venues:
            for state in HealthStatus:
                status.add_metric([venue.venue, state.value], 1 if venue.status is state else 0)
            for o in venue.operations:
                key = [venue.venue, o.operation]
                calls.add_metric(key, o.calls)
                errors.add_metric(key, o.errors)
                for quantile, value in (("0.5", o.p50_ms), ("0.95", o.p95_ms), ("0.99", o.p99_ms), ("1", o.max_ms)):
                    latency.add_metric([*key, quantile], value / 1000)
                if o.last_success_at is not None:
                    last_success.add_metric(key, o.last_success_at.timestamp())
        yield from (calls, errors, latency, last_success, status)
