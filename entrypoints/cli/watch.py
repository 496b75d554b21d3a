"""`quantshift watch`: the watchdog on its own, for deployments without `serve`."""

from __future__ import annotations

import signal
import time
from typing import Annotated

import typer

from application.monitoring.watchdog import TickReport
from entrypoints.cli.common import ConfigOption, LogFormatOption, cli_errors, container_for, setup_logging
from entrypoints.logging_setup import LogFormat, say
from entrypoints.watchdog import WatchdogLoop, build_watchdog


def watch(
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0.1, help="Stop cleanly after this many seconds (default: until Ctrl-C or SIGTERM).")] = None,
    config: ConfigOption = None,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Watch the bots from outside them and alert on the configured channels.

    Every [watchdog] interval_seconds (default 1) it reads the store: a bot stale or crashed, a
    standby taking over, the store unreachable or slow, a venue's errors, latency, stream or 429
    storm over its threshold, a reconciliation mismatch; each is alerted once and resolved when it
    clears, and unacknowledged critical alerts are repeated. Run two (or `serve` beside it): the
    leader lease makes one alert, the other takes over if it stops. See docs/monitoring.md.
    """
    setup_logging(verbose=True, log_format=log_format)
    with cli_errors(environment="watch"):
        container = container_for(config)
        container.store().migrate()  # the lease and tick record need the current schema
        watchdog = build_watchdog(container)
        interval = container.settings().watchdog.interval_seconds
        loop = WatchdogLoop(watchdog=watchdog, interval_seconds=interval, errors=container.error_reporter(),
                            on_tick=_Changes(watchdog.holder))
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.stop())
        say(f"watchdog {watchdog.holder}: watching every {interval:g} s", logger="quantshift.watchdog")
        try:
            loop.run(until=None if duration is None else time.monotonic() + duration)
        finally:
            container.notifier().close()  # deliver (and record) what was raised, within its bound
        say(f"watchdog {watchdog.holder}: stopped ({loop.ticks} ticks)", logger="quantshift.watchdog")


class _Changes:
    """One line when the watchdog starts or stops leading, or the store comes and goes."""

    def __init__(self, holder: str) -> None:
        self._holder = holder
        self._last: tuple[bool, bool] | None = None

    def __call__(self, report: TickReport) -> None:
        state = (report.leader, report.store_ok)
        if state == self._last:
            return
        self._last = state
        role = "leading: alerting" if report.leader else "standing by: another watchdog leads"
        store = "" if report.store_ok else " (the store does not answer)"
        say(f"watchdog {self._holder}: {role}{store}", logger="quantshift.watchdog")
