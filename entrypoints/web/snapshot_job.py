"""The dashboard's daily snapshots, taken by `quantshift serve`: once at start, then every N
minutes (QUANTSHIFT_SNAPSHOT_MINUTES, default 15; 0 switches the job off, e.g. when cron runs
`quantshift snapshots take` instead).

The job is a thread, started and stopped by the app's lifespan: a snapshot reads the store
synchronously and must not hold up the event loop. A failed snapshot is logged and tried again
at the next tick; nothing it raises reaches the server.

With several uvicorn workers every worker runs its own job. That is harmless, not just
wasteful: a snapshot is an upsert per (scope, UTC day), so the workers only replace each
other's figures for today with ones as fresh or fresher.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

from application.ports import Clock
from application.reports.dashboard_stats import take_snapshot
from application.trading.bot import BotSpec
from domain.errors import ConfigurationError
from entrypoints.background import thread_lifespan
from entrypoints.web.deps import Store

SNAPSHOT_MINUTES = "QUANTSHIFT_SNAPSHOT_MINUTES"
DEFAULT_EVERY = timedelta(minutes=15)
log = logging.getLogger("quantshift.snapshots")


def snapshot_interval(environ: Mapping[str, str]) -> timedelta | None:
    """The configured interval; None when switched off (0)."""
    raw = environ.get(SNAPSHOT_MINUTES, "").strip()
    if not raw:
        return DEFAULT_EVERY
    try:
        minutes = float(raw)
    except ValueError:
        raise ConfigurationError(f"{SNAPSHOT_MINUTES} must be a number of minutes, got {raw!r}") from None
    if not 0 <= minutes <= 24 * 60:  # also refuses nan and inf
        raise ConfigurationError(f"{SNAPSHOT_MINUTES} must be between 0 (off) and 1440 minutes, got {raw!r}")
    return timedelta(minutes=minutes) if minutes > 0 else None


class SnapshotJob:
    """Runs `take` now and then every `every`, on a thread of its own, until stopped."""

    def __init__(self, *, take: Callable[[], object], every: timedelta) -> None:
        if every <= timedelta(0):
            raise ValueError(f"the interval must be positive, got {every}")
        self._take = take
        self._every = every
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0  # attempts, failed ones included
        self.failures = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the snapshot job is already started")
        # A daemon: a server that exits without the lifespan's shutdown is not kept alive by it.
        self._thread = threading.Thread(target=self._run, name="daily-snapshots", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Ask the thread to end and wait for a snapshot under way to finish (at most `timeout`)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the snapshot job did not stop within %.0f s; leaving it behind", timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.runs += 1
            try:
                self._take()
            except Exception:  # noqa: BLE001 - anything: the server outlives a failed snapshot
                self.failures += 1
                log.exception("taking the daily snapshots failed; trying again in %s", self._every)
            if self._stopping.wait(self._every.total_seconds()):
                return


def snapshot_lifespans(*, store: Store, clock: Clock, bots: Sequence[BotSpec],
                       environ: Mapping[str, str]) -> list[Callable[[Any], AbstractAsyncContextManager[None]]]:
    """The app's lifespan hooks for the job: none when it is switched off."""
    every = snapshot_interval(environ)
    if every is None:
        return []
    job = SnapshotJob(take=lambda: take_snapshot(store, clock, bots=bots,
                                                 reader=lambda: store.unit_of_work(read_only=True)),
                      every=every)
    return [thread_lifespan(start=job.start, stop=job.stop)]
