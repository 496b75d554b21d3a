"""The SQLite store adapter's specifics against real SQLite files (and real second processes).

What every engine must do alike is in test_store_contract.py (run on SQLite and Postgres);
this file keeps what only SQLite has: the file, its PRAGMAs and WAL, the write lock, text
storage of times, the injected wall clock, and second processes on one file.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sqlite import SqliteStore
from adapters.sqlite.connection import open_connection
from application.records import AuditEntry, AuditKind, ControlState
from domain.errors import StoreUnavailable
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderType
from domain.risk.trading_state import TradingState

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
NEW_YORK = timezone(timedelta(hours=-5))  # a non-UTC zone: stored as UTC text
RECORDED = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


class SteppingClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(path=tmp_path / "data" / "store.db", wall_clock=lambda: RECORDED)
    yield store
    store.close()


def make_order(client_order_id: str = "o-1", **changes) -> Order:
    fields = dict(
        client_order_id=client_order_id, account="acc", bot="bot", strategy="ma", symbol="SPY",
        side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal("10"),
        created_at=T0, signal_ts=T0 - timedelta(minutes=1),
    )
    fields.update(changes)
    return Order(**fields)


def make_fill(fill_id: str = "f-1", **changes) -> Fill:
    fields = dict(
        fill_id=fill_id, client_order_id="o-1", symbol="SPY", side=OrderSide.BUY, quantity=Decimal("10"),
        price=Decimal("500.10"), commission=Decimal("0.00"), ts=T0,
    )
    fields.update(changes)
    return Fill(**fields)


def rows(store: SqliteStore, sql: str) -> list[tuple]:
    with sqlite3.connect(store.path) as connection:
        return connection.execute(sql).fetchall()


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --- lifecycle, settings, migrations ---------------------------------------------------------


def test_nothing_is_created_before_first_use(tmp_path: Path) -> None:
    store = SqliteStore(path=tmp_path / "later" / "store.db")
    store.unit_of_work()  # handing out a unit of work touches nothing either
    assert not (tmp_path / "later").exists()
    with store() as uow:
        assert uow.orders.count(account="acc") == 0
    assert (tmp_path / "later" / "store.db").is_file()
    store.close()


def test_connection_settings(tmp_path: Path) -> None:
    connection = open_connection(tmp_path / "settings.db")
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
        assert connection.isolation_level is None
    finally:
        connection.close()


def test_migrations_are_recorded_with_the_wall_clock(store: SqliteStore) -> None:
    assert store.migrate() == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert rows(store, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version") == [
        (1, "initial", "2030-01-01T12:00:00.123456+00:00"), (2, "leases", "2030-01-01T12:00:00.123456+00:00"),
        (3, "instances", "2030-01-01T12:00:00.123456+00:00"), (4, "stops", "2030-01-01T12:00:00.123456+00:00"),
        (5, "allocations", "2030-01-01T12:00:00.123456+00:00"), (6, "users", "2030-01-01T12:00:00.123456+00:00"),
        (7, "operations", "2030-01-01T12:00:00.123456+00:00"),
        (8, "fill_corrections", "2030-01-01T12:00:00.123456+00:00"),
        (9, "audit_by_kind", "2030-01-01T12:00:00.123456+00:00")]


def test_two_processes_migrating_at_once_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    # An empty ledger already there: reading it takes no write lock, so only BEGIN
    # IMMEDIATE keeps two migrators from both deciding that version 1 is pending.
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL) STRICT"
        )
    start_at = time.time() + 1.5  # every process imports first, then all go at this instant
    code = f"""
        import time
        from pathlib import Path
        from adapters.sqlite import SqliteStore
        store = SqliteStore(path=Path({str(path)!r}))
        time.sleep(max(0.0, {start_at!r} - time.time()))
        print(store.migrate())
    """
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outputs == ["[1, 2, 3, 4, 5, 6, 7, 8, 9]", "[]", "[]", "[]"]


def test_directory_path_is_unavailable(tmp_path: Path) -> None:
    store = SqliteStore(path=tmp_path)
    with pytest.raises(StoreUnavailable, match=str(tmp_path)):
        with store():
            pass


def test_non_sqlite_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not a database\n" * 200)
    with pytest.raises(StoreUnavailable, match="is not a SQLite database"):
        with SqliteStore(path=path)():
            pass


def test_writer_locked_past_timeout_is_unavailable_but_readers_pass(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = SqliteStore(path=path, busy_timeout_seconds=0.2)
    with store() as uow:
        uow.control.set(ControlState(scope="b", state=TradingState.HALTED, reason="r", actor="a", changed_at=T0))
        uow.commit()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            with store():
                pass
        with store.unit_of_work(read_only=True) as uow:  # WAL: readers are not blocked
            assert uow.control.get("b").state is TradingState.HALTED
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store() as uow:  # the store recovers once the lock is gone
        assert uow.control.get("b") is not None
    store.close()


# --- storage details ----------------------------------------------------------------------------


def test_times_are_stored_as_utc_text_so_text_order_is_time_order(store: SqliteStore) -> None:
    # 09:30 in New York is 14:30 UTC: later than 10:00 UTC, though "09:30" sorts first as text.
    with store() as uow:
        uow.orders.add(make_order("ny", created_at=datetime(2024, 3, 1, 9, 30, tzinfo=NEW_YORK)))
        uow.orders.add(make_order("utc", created_at=datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)))
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["ny", "utc"]
    assert rows(store, "SELECT created_at, quantity FROM orders WHERE client_order_id = 'ny'") == [
        ("2024-03-01T14:30:00.000000+00:00", "10")
    ]


def test_audit_recorded_at_is_the_injected_wall_clock_and_nan_stays_a_float(store: SqliteStore) -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.DATA, message="m", data={"nan": float("nan")}))
        uow.commit()
    with store() as uow:
        (entry,) = uow.audit.list()
    assert entry.recorded_at == RECORDED
    assert entry.data["nan"] != entry.data["nan"]  # NaN is recorded as NaN, not refused


def test_lease_expiry_is_decided_by_the_wall_clock(tmp_path: Path) -> None:
    clock = SteppingClock(T0)
    store = SqliteStore(path=tmp_path / "leases.db", wall_clock=clock)
    try:
        with store() as uow:
            lease = uow.leases.acquire(account="acc", bot="bot", holder="a", ttl_seconds=10)
            uow.commit()
        assert (lease.acquired_at, lease.expires_at) == (T0, T0 + timedelta(seconds=10))
        assert rows(store, "SELECT expires_at FROM leases") == [("2024-03-01T14:30:10.000000+00:00",)]
        clock.now = T0 + timedelta(seconds=9, microseconds=999999)  # still live
        with store() as uow:
            assert uow.leases.acquire(account="acc", bot="bot", holder="b", ttl_seconds=10) is None
            renewed = uow.leases.acquire(account="acc", bot="bot", holder="a", ttl_seconds=10)
            uow.commit()
        assert renewed.acquired_at == T0 and renewed.expires_at == clock.now + timedelta(seconds=10)
        clock.now = renewed.expires_at  # expires_at <= now: expired
        with store() as uow:
            taken = uow.leases.acquire(account="acc", bot="bot", holder="b", ttl_seconds=5)
            uow.commit()
        assert taken is not None and (taken.holder, taken.acquired_at) == ("b", clock.now)
        clock.now += timedelta(seconds=5)  # the same holder after its own expiry: a fresh tenure
        with store() as uow:
            again = uow.leases.acquire(account="acc", bot="bot", holder="b", ttl_seconds=5)
        assert again.acquired_at == clock.now
    finally:
        store.close()


# --- other processes ----------------------------------------------------------------------------


def test_another_process_sees_commits_and_its_halt_is_seen_here(store: SqliteStore) -> None:
    with store() as uow:
        uow.fills.add(make_fill(), account="acc", bot="bot")
        uow.commit()
    out = run_python(f"""
        from datetime import datetime, timezone
        from pathlib import Path
        from adapters.sqlite import SqliteStore
        from application.records import ControlState
        from domain.risk.trading_state import TradingState
        store = SqliteStore(path=Path({str(store.path)!r}))
        with store.unit_of_work(read_only=True) as uow:
            print(uow.fills.count(account="acc"))
        with store() as uow:
            uow.control.set(ControlState(scope="bot", state=TradingState.HALTED, reason="from cli",
                                         actor="ops", changed_at=datetime(2024, 3, 1, tzinfo=timezone.utc)))
            uow.commit()
    """)
    assert out == "1"
    with store.unit_of_work(read_only=True) as uow:  # the same store object, its connection already open
        halt = uow.control.get("bot")
    assert halt is not None and halt.state is TradingState.HALTED and halt.reason == "from cli"
