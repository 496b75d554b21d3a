"""API reads never wait for, nor hold up, the trading loop on SQLite (issue 13, point 8).

Under 32 clients reading /positions and /trades the bot's bar-to-submit latency rose from
0.7 ms to a p50 of 2.8 s: every request's bearer check opened a writing unit of work (BEGIN
IMMEDIATE), so each request queued for the database's write lock with the bot. Reads now
go through read-only units of work (a deferred BEGIN: in WAL mode a reader neither takes
nor waits for the write lock). Real SQLite file, real threads, the real API wiring.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from litestar.testing import TestClient

from adapters.security.passwords import Argon2PasswordHasher
from adapters.sqlite import SqliteStore
from application.accounts.accounts import Accounts
from application.records import Role
from application.trading.trading_cycle import CycleResult, TradingCycle
from domain.strategy import Target
from entrypoints.container import build_container
from entrypoints.settings import load_settings
from tests.fakes.builders import T0, always, bar, load, spec
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.recording_broker import RecordingBroker

VIEWER, PASSWORD = "viewer@example.com", "a long enough password for the test"
HOLD_SECONDS = 3.0


def _hold_the_write_lock(path: Path, *, seconds: float) -> tuple[threading.Event, threading.Thread]:
    """The trading loop in the middle of a long write (a slow disk): BEGIN IMMEDIATE, held."""
    holding = threading.Event()

    def write() -> None:
        store = SqliteStore(path=path)
        try:
            with store() as uow:
                uow.control.list()
                holding.set()
                time.sleep(seconds)
                uow.commit()
        finally:
            store.close()

    thread = threading.Thread(target=write)
    thread.start()
    assert holding.wait(10)
    return holding, thread


def test_the_bearer_check_and_the_reads_answer_while_the_trading_loop_holds_the_write_lock(tmp_path):
    from entrypoints.web.wiring import build_app

    db = tmp_path / "qs.db"
    environ = {"QUANTSHIFT_DATABASE_URL": f"sqlite:///{db}", "QUANTSHIFT_JWT_SECRET": "j" * 48,
               "QUANTSHIFT_INVITATION_SECRET": "i" * 48, "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue")}
    container = build_container(load_settings(config_file=None, environ=environ))
    Accounts(uow_factory=container.store(), clock=container.clock(), hasher=Argon2PasswordHasher(),
             tokens=None, invitations_signer=None).create_user(  # type: ignore[arg-type] - creating needs neither
        email=VIEWER, password=PASSWORD, role=Role.VIEWER)
    with TestClient(build_app(environ=environ)) as client:
        token = client.post("/api/v1/auth/login", json={"email": VIEWER, "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        _, writer = _hold_the_write_lock(db, seconds=HOLD_SECONDS)
        try:
            started = time.monotonic()
            answers = [client.get(path, headers=auth).status_code
                       for path in ("/api/v1/positions", "/api/v1/trades", "/api/v1/bots", "/api/v1/risk")]
            took = time.monotonic() - started
        finally:
            writer.join(HOLD_SECONDS + 10)
    assert answers == [200, 200, 200, 200]
    assert took < HOLD_SECONDS / 2, f"the reads waited {took:.2f} s for the trading loop's write lock"


def test_a_long_api_read_does_not_hold_up_an_intent_commit(tmp_path):
    db = tmp_path / "qs.db"
    api = SqliteStore(path=db)
    # The trading loop gives up on the write lock after 0.5 s: a reader holding it would show.
    trading = SqliteStore(path=db, busy_timeout_seconds=0.5)
    reading, done = threading.Event(), threading.Event()
    seen: list[int] = []

    def long_read() -> None:  # a slow page of /trades: one read transaction kept open
        with api.unit_of_work(read_only=True) as uow:
            seen.append(len(uow.orders.list(account="paper-test", limit=1000)))
            reading.set()
            done.wait(10)
            seen.append(len(uow.orders.list(account="paper-test", limit=1000)))  # its own snapshot still

    bot = load(trading, spec(strategy=always(Target.LONG)))
    reader = threading.Thread(target=long_read)
    reader.start()
    try:
        assert reading.wait(10)
        broker = RecordingBroker()
        cycle = TradingCycle(uow_factory=trading, broker=broker, notifier=RecordingNotifier())
        b0 = bar("SPY", T0, 100)
        started = time.monotonic()
        assert cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.SUBMITTED]
        took = time.monotonic() - started
        assert reader.is_alive(), "the read was still open while the intent committed"
    finally:
        done.set()
        reader.join(10)
        api.close()
        trading.close()
    assert len(broker.submits) == 1 and took < 0.5
    assert seen == [0, 0]
