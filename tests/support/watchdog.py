"""A real-time paper session and `quantshift watch` beside it, on one SQLite store, with an alert
channel pointed at a loopback receiver: what the watchdog's end-to-end tests and its latency
benchmark (benchmarks/alert_latency.py) share."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from application.alerting.channel_store import save_channels
from application.alerting.channels import Channel
from application.ports import AlertLevel
from tests.support.processes import QUANTSHIFT
from tests.support.receivers import HttpReceiver, HttpRequest
from tests.support.waiting import wait_until

HOOK_VARIABLE = "QUANTSHIFT_TEST_ALERT_HOOK"  # the channel's URL, an env: reference (nothing secret)
BAR_SECONDS = "0.2"


def watch_config(*, heartbeat: float = 0.5, interval: float = 0.2, lease: float = 1.5) -> str:
    """A crypto bot beating every `heartbeat` s, a watchdog ticking every `interval` s, alerts
    not grouped (a resolve is sent at once)."""
    return f'''
[engine]
heartbeat_seconds = {heartbeat}

[watchdog]
interval_seconds = {interval}
lease_seconds = {lease}

[alerts]
group_seconds = 0

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
'''


def add_hook_channel(db: Path, receiver: HttpReceiver, env: dict[str, str]) -> None:
    """One channel, "hook": Apprise's json:// to the receiver, its URL from the environment."""
    env[HOOK_VARIABLE] = f"json://127.0.0.1:{receiver.port}/alerts"
    from adapters.sqlite import SqliteStore

    store = SqliteStore(path=db)
    store.migrate()
    with store() as uow:
        save_channels(uow.settings, (Channel(name="hook", url=f"env:{HOOK_VARIABLE}", min_level=AlertLevel.WARNING),),
                      at=datetime.now(timezone.utc))
        uow.commit()
    store.close()


def start(args: list[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([QUANTSHIFT, *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT)


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def _quiet(read: Callable[[], object]) -> Callable[[], object]:
    def attempt() -> object:
        try:
            return read()
        except sqlite3.OperationalError:  # the store is not made yet
            return None
    return attempt


def wait_beating(db: Path, process: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
    """Until the session's bots beat RUNNING under its pid."""
    wait_until(_quiet(lambda: query(db, "SELECT 1 FROM heartbeats WHERE pid = ? AND run_state = 'running'",
                                    process.pid)),
               timeout=timeout, interval=0.05, message=f"pid {process.pid} to heartbeat")


def lease_holder(db: Path) -> str | None:
    rows = _quiet(lambda: query(db, "SELECT holder FROM leases WHERE account = '' AND bot = 'watchdog'"))()
    return rows[0][0] if rows else None  # type: ignore[index]


def wait_leading(db: Path, process: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
    wait_until(lambda: (lease_holder(db) or "").startswith(f"{process.pid}@"), timeout=timeout, interval=0.05,
               message=f"watchdog pid {process.pid} to lead")


def titled(receiver: HttpReceiver, text: str) -> list[HttpRequest]:
    """The alerts that arrived with `text` in their title."""
    return [r for r in receiver.requests if text in str(r.json().get("title", ""))]


def kill_and_time(process: subprocess.Popen[bytes], receiver: HttpReceiver, *, title: str,
                  sig: signal.Signals = signal.SIGKILL, timeout: float = 15) -> float:
    """Signal the session; seconds from the signal until the first alert titled `title` arrived."""
    before = len(titled(receiver, title))
    signalled = time.monotonic()
    os.kill(process.pid, sig)
    if sig is signal.SIGKILL:
        process.wait(timeout=10)  # reaped (the watchdog tells a zombie from a live process anyway)
    arrived = wait_until(lambda: titled(receiver, title)[before:], timeout=timeout, interval=0.01,
                         message=f"an alert titled {title!r}")
    return arrived[0].monotonic - signalled
