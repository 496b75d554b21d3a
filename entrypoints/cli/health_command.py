"""`quantshift health`: how the venues' APIs did lately, as the bots measured them (read from
the store, so it works while the bots run in other processes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from application.reports.venue_health_report import DEFAULT_WINDOW, WINDOWS, VenueHealthReport, venue_health_report
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, container_for, fail
from entrypoints.cli.output import make_output_converter, print_json, print_table
from entrypoints.container import SIMULATED_VENUE

WindowOption = Annotated[str, typer.Option("--window", help=f"How far back: {', '.join(WINDOWS)}.")]


def health_command(window: WindowOption = DEFAULT_WINDOW, config: ConfigOption = None,
                   json_output: JsonOption = False) -> None:
    """Venue API health per venue and operation: calls, error rate, latency (mean, p50/p95/p99
    estimated from a histogram as the bucket's upper bound, max), last success and last error."""
    if window not in WINDOWS:
        fail(f"--window {window!r}: use one of {', '.join(WINDOWS)}", code=2)
    with cli_errors():
        container = container_for(config)
        with container.store().unit_of_work(read_only=True) as uow:
            report = venue_health_report(uow, now=container.clock().now(), window=WINDOWS[window],
                                         venues=[SIMULATED_VENUE])
    if json_output:
        print_json({"window": window, **make_output_converter().unstructure(report)})
        return
    _print(report, window=window)


def _print(report: VenueHealthReport, *, window: str) -> None:
    for venue in report.venues:
        headline = f"{venue.venue}: {venue.status.value.upper()}" + (f" ({venue.reason})" if venue.reason else "")
        print_table(f"{headline}, last {window}", ["operation", "status", "calls", "errors", "error rate", "mean ms",
                                                   "p50", "p95", "p99", "max", "last success", "last error"], [
            (o.operation, o.status.value, o.calls, o.errors, f"{o.error_rate:.1%}", f"{o.mean_ms:g}",
             f"{o.p50_ms:g}", f"{o.p95_ms:g}", f"{o.p99_ms:g}", f"{o.max_ms:g}", _when(o.last_success_at),
             f"{_when(o.last_error_at)} {o.last_error}".strip())
            for o in venue.operations
        ])
    print("percentiles: upper bound of the latency-histogram bucket holding the rank (capped at the max)")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}Z"
