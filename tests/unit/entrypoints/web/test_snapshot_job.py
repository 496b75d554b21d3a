"""The snapshot job of `quantshift serve`: it takes a snapshot at start and then on its interval,
a failure is logged and retried at the next tick (the server never sees it), and it stops
promptly when the app shuts down."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import anyio
import pytest

from application.reports.dashboard_stats import SCOPE_ALL
from domain.errors import ConfigurationError
from entrypoints.web.snapshot_job import (
    DEFAULT_EVERY,
    SNAPSHOT_MINUTES,
    SnapshotJob,
    snapshot_interval,
    snapshot_lifespans,
)
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.support.waiting import wait_until

NOW = datetime(2025, 3, 5, 15, 0, tzinfo=timezone.utc)


def test_a_failing_snapshot_is_logged_and_tried_again_and_the_job_stops_promptly(caplog):
    calls = []

    def take():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("store went away")

    job = SnapshotJob(take=take, every=timedelta(milliseconds=10))
    job.start()
    wait_until(lambda: len(calls) >= 3)
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 1.0
    assert job.failures == 1 and job.runs >= 3
    assert "taking the daily snapshots failed" in caplog.text and "store went away" in caplog.text
    assert not any(t.name == "daily-snapshots" and t.is_alive() for t in threading.enumerate())


def test_stop_does_not_wait_out_the_interval():
    job = SnapshotJob(take=lambda: None, every=timedelta(hours=1))
    job.start()
    wait_until(lambda: job.runs == 1)
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 1.0 and job.runs == 1


def test_the_lifespan_takes_todays_snapshot_at_start_from_the_store():
    store = InMemoryStore()
    with store() as uow:
        uow.accounts.ensure(account="acct", bot="b", initial_cash=Decimal(1_000))
        uow.commit()
    [lifespan] = snapshot_lifespans(store=store, clock=FixedClock(NOW), bots=(), environ={})

    def stored():
        with store.unit_of_work(read_only=True) as uow:
            return uow.snapshots.list(scope=SCOPE_ALL, since=NOW.date())

    async def serve():
        async with lifespan(None):
            wait_until(lambda: bool(stored()))

    anyio.run(serve)
    [snapshot] = stored()
    assert (snapshot.day, Decimal(snapshot.figures["equity"])) == (NOW.date(), 1_000)
    with store.unit_of_work(read_only=True) as uow:
        assert [s.scope for s in uow.snapshots.list(scope="bot:acct/b", since=NOW.date())] == ["bot:acct/b"]


@pytest.mark.parametrize(("raw", "expected"), [
    (None, DEFAULT_EVERY), ("", DEFAULT_EVERY), ("5", timedelta(minutes=5)), ("0.5", timedelta(seconds=30)),
    ("0", None), ("1440", timedelta(days=1)),
])
def test_the_interval_comes_from_the_environment(raw, expected):
    environ = {} if raw is None else {SNAPSHOT_MINUTES: raw}
    assert snapshot_interval(environ) == expected


@pytest.mark.parametrize("raw", ["soon", "-1", "1441", "nan", "inf"])
def test_a_bad_interval_is_a_configuration_error(raw):
    with pytest.raises(ConfigurationError, match=SNAPSHOT_MINUTES):
        snapshot_interval({SNAPSHOT_MINUTES: raw})


def test_switched_off_there_is_no_job():
    assert snapshot_lifespans(store=InMemoryStore(), clock=FixedClock(NOW), bots=(),
                              environ={SNAPSHOT_MINUTES: "0"}) == []
