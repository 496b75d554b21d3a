"""/api/v1/health/venues: how the venues' APIs did lately, as the bots measured them (any role)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from application.reports.venue_health_report import DEFAULT_WINDOW, WINDOWS, venue_health_report
from entrypoints.container import SIMULATED_VENUE
from entrypoints.web.deps import ClockDep, StoreDep
from entrypoints.web.dto_health import VenueHealthReportResponse, WindowName, report_response
from entrypoints.web.errors import problem_responses


class VenueHealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/venues", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def venues(self, store: StoreDep, clock: ClockDep,
               window: Annotated[WindowName, Parameter(description="how far back")] = DEFAULT_WINDOW,  # type: ignore[assignment]
               ) -> VenueHealthReportResponse:
        """Per venue and operation over the window: calls, error rate, latency (mean, estimated
        p50/p95/p99, max), last success and last error, and a status (ok, degraded, down, idle)."""
        with store.unit_of_work(read_only=True) as uow:
            report = venue_health_report(uow, now=clock.now(), window=WINDOWS[window], venues=[SIMULATED_VENUE])
        return report_response(report, window=window)
