"""The watchdog wired to this deployment, and the loop that ticks it: `quantshift watch` runs the
loop on its main thread, `serve` on a thread of each worker process (started and stopped by the
web app's lifespan); the leader lease makes only one of them act.

A tick that fails unexpectedly is logged and reported (Sentry when configured) and the next one
runs on time: the watchdog outlives its own defects. Stopping gives the lease up, so another
watchdog leads at its next tick instead of after the lease's expiry.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from adapters.processes import LocalProcesses
from application.alerting.dispatcher import AlertDispatcher
from application.error_reporting import ErrorReporter, NoErrorReporter
from application.monitoring.policy import WatchdogPolicy
from application.monitoring.repeats import StoredLifecycle
from application.monitoring.watchdog import TickReport, Watchdog
from entrypoints.background import thread_lifespan
from entrypoints.container import Container
from entrypoints.settings import Settings

log = logging.getLogger("quantshift.watchdog")


def watchdog_policy(settings: Settings) -> WatchdogPolicy:
    w = settings.watchdog
    return WatchdogPolicy(
        interval_seconds=w.interval_seconds, stale_after_beats=w.stale_after_beats, check_pids=w.check_pids,
        lease_seconds=w.lease_seconds, venue_window=timedelta(seconds=w.venue_window_seconds),
        venue_min_calls=w.venue_min_calls, venue_error_rate=w.venue_error_rate, venue_latency_ms=w.venue_latency_ms,
        stream_down_seconds=w.stream_down_seconds, venue_throttled_count=w.venue_throttled_count,
        store_latency_ms=w.store_latency_ms, store_slow_ticks=w.store_slow_ticks,
        repeat_every=timedelta(minutes=settings.alerts.repeat_minutes))


def build_watchdog(container: Container) -> Watchdog:
    """The watchdog of this process, holding the lease as "pid@host"; it alerts through the
    container's dispatcher (the process's one AlertSink)."""
    settings = container.settings()
    store = container.store()
    dispatcher: AlertDispatcher = container.notifier()  # entrypoints/alert_setup.py: fire, resolve, repeat
    processes = LocalProcesses()
    policy = watchdog_policy(settings)
    return Watchdog(uow_factory=store, reader=lambda: store.unit_of_work(read_only=True), sink=dispatcher,
                    lifecycle=StoredLifecycle(repeater=dispatcher, every=policy.repeat_every), clock=container.clock(),
                    monotonic=time.monotonic, processes=processes, policy=policy,
                    holder=f"{os.getpid()}@{processes.host}")


class WatchdogLoop:
    """Ticks a watchdog every interval until stopped (on time: a slow tick shortens the wait)."""

    def __init__(self, *, watchdog: Watchdog, interval_seconds: float, errors: ErrorReporter | None = None,
                 on_tick: Callable[[TickReport], None] = lambda _report: None) -> None:
        self.watchdog = watchdog
        self._interval = interval_seconds
        self._errors = errors or NoErrorReporter()
        self._on_tick = on_tick
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0

    def run(self, *, until: float | None = None) -> None:
        """Tick until stop() (or the monotonic time `until`), then give the lease up."""
        due = time.monotonic()
        try:
            while not self._stopping.is_set() and (until is None or time.monotonic() < until):
                self._tick()
                due = max(due + self._interval, time.monotonic())  # behind: the next one now, no burst
                wait = due - time.monotonic()
                if until is not None:
                    wait = min(wait, max(0.0, until - time.monotonic()))
                if self._stopping.wait(wait):
                    break
        finally:
            self.watchdog.release()

    def stop(self) -> None:
        self._stopping.set()

    def start(self) -> None:
        """On a thread of its own (`serve`): a daemon, so it never holds a dying server up."""
        self._thread = threading.Thread(target=self.run, name="watchdog", daemon=True)
        self._thread.start()

    def halt(self, *, timeout: float = 10.0) -> None:
        """stop() and wait for the thread's last tick and the lease's release (at most `timeout`)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the watchdog did not stop within %.0f s; leaving it behind", timeout)

    def _tick(self) -> None:
        self.ticks += 1
        try:
            report = self.watchdog.tick()
        except Exception as exc:  # noqa: BLE001 - a defect in one tick must not end the watching
            log.exception("watchdog tick failed; the next one runs on time")
            self._errors.capture(exc)
            return
        self._on_tick(report)


def watchdog_lifespans(container: Container) -> list[Callable[[Any], Any]]:
    """`serve`'s lifespan hooks: one watchdog thread in this worker, none when [watchdog] enabled
    is false. Every worker runs one; the lease makes one of them (or a `watch` elsewhere) act."""
    if not container.settings().watchdog.enabled:
        return []
    watchdog = build_watchdog(container)
    loop = WatchdogLoop(watchdog=watchdog, interval_seconds=container.settings().watchdog.interval_seconds,
                        errors=container.error_reporter())
    return [thread_lifespan(start=loop.start, stop=loop.halt)]
