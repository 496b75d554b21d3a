"""A watchdog on a real SQLite store file, with a clock the test moves and the records a
session would write (heartbeats, instances, leases, venue health, audit entries)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.sqlite import SqliteStore
from application.alerting.alert import Alert
from application.alerting.lifecycle import OpenAlert
from application.monitoring.policy import WatchdogPolicy
from application.monitoring.repeats import StoredLifecycle
from application.monitoring.watchdog import TickReport, Watchdog
from application.records import BotRunState, Heartbeat, InstanceBeat, InstanceRole
from tests.fakes.clock import FixedClock

T0 = datetime(2026, 3, 2, 15, 0, 0, tzinfo=timezone.utc)
HERE = "watch-host"


class RecordingSink:
    """An AlertSink that keeps what it was told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []  # ("fire" | "resolve", key)
        self.alerts: list[Alert] = []

    def fire(self, alert: Alert) -> None:
        self.events.append(("fire", alert.key))
        self.alerts.append(alert)

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        assert title and body
        self.events.append(("resolve", key))

    def fired(self) -> list[str]:
        return [key for event, key in self.events if event == "fire"]

    def resolved(self) -> list[str]:
        return [key for event, key in self.events if event == "resolve"]


class RecordingRepeater:
    def __init__(self) -> None:
        self.repeated: list[str] = []

    def repeat(self, alert: OpenAlert) -> None:
        self.repeated.append(alert.key)


class Processes:
    """The ProcessProbe of a host where the test says which pids run."""

    def __init__(self, host: str = HERE) -> None:
        self._host = host
        self.running: set[int] = set()

    @property
    def host(self) -> str:
        return self._host

    def alive(self, pid: int, *, started_by: datetime) -> bool:
        return pid in self.running


class Monotonic:
    """A monotonic clock moved by `step` seconds each time it is read: a tick takes one step."""

    def __init__(self) -> None:
        self.step = 0.001
        self._now = 100.0

    def __call__(self) -> float:
        self._now += self.step
        return self._now


class World:
    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "qs.db"
        self.clock = FixedClock(T0)
        self.store = SqliteStore(path=self.path, wall_clock=self.clock, busy_timeout_seconds=0.05)
        self.store.migrate()
        self.processes = Processes()
        self.monotonic = Monotonic()
        self.policy = WatchdogPolicy()

    def watchdog(self, holder: str = "1@watch-host", *, sink: RecordingSink | None = None,
                 repeater: RecordingRepeater | None = None) -> tuple[Watchdog, RecordingSink]:
        sink = sink or RecordingSink()
        lifecycle = StoredLifecycle(repeater=repeater or RecordingRepeater(), every=self.policy.repeat_every)
        dog = Watchdog(uow_factory=self.store, reader=lambda: self.store.unit_of_work(read_only=True), sink=sink,
                       lifecycle=lifecycle, clock=self.clock, monotonic=self.monotonic, processes=self.processes,
                       policy=self.policy, holder=holder)
        return dog, sink

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def beat(self, *, bot: str = "btc", account: str = "paper", pid: int = 4242, host: str = HERE,
             interval: float = 1.0, state: BotRunState = BotRunState.RUNNING, mode: str = "paper",
             started_at: datetime = T0) -> None:
        with self.store() as uow:
            uow.heartbeats.beat(Heartbeat(account=account, bot=bot, pid=pid, host=host, mode=mode,
                                          started_at=started_at, beat_at=self.clock.now(), interval_seconds=interval,
                                          run_state=state))
            uow.commit()

    def instance(self, instance: str, *, role: InstanceRole, account: str = "paper", interval: float = 1.0) -> None:
        pid, host = instance.split("@")
        with self.store() as uow:
            uow.instances.beat(InstanceBeat(instance=instance, account=account, role=role, pid=int(pid), host=host,
                                            bots="btc", beat_at=self.clock.now(), interval_seconds=interval))
            uow.commit()

    def lease(self, holder: str, *, account: str = "paper", bot: str = "btc", ttl: float = 2.0) -> bool:
        with self.store() as uow:
            taken = uow.leases.acquire(account=account, bot=bot, holder=holder, ttl_seconds=ttl) is not None
            uow.commit()
        return taken

    def lock(self) -> sqlite3.Connection:
        """Another connection holding the write lock: the store is unavailable to writers."""
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        return connection


def keys(report: TickReport) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return report.fired, report.resolved


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)
