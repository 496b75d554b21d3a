"""The SQLite store adapter against real SQLite files (and real second processes)."""

from __future__ import annotations

import inspect
import itertools
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sqlite import SqliteStore, SqliteUnitOfWork
from adapters.sqlite.connection import open_connection
from application import ports
from application.records import (
    GLOBAL_SCOPE,
    AuditEntry,
    AuditKind,
    BotAccount,
    BotRunState,
    ControlState,
    EquityPoint,
    Heartbeat,
    SessionRecord,
)
from domain.errors import StoreUnavailable
from domain.fill import Fill
from domain.order import Order, OrderSide, OrderStatus, OrderType
from domain.position import Direction, OpenTrip, Position, RoundTrip
from domain.trading_state import TradingState

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
NEW_YORK = timezone(timedelta(hours=-5))  # a non-UTC zone: stored as UTC, equal on reading
RECORDED = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


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


def make_trip(closing_fill_id: str = "f-2") -> RoundTrip:
    return RoundTrip(
        bot="bot", symbol="SPY", direction=Direction.SHORT, quantity=Decimal("3"), entry_price=Decimal("10.50"),
        exit_price=Decimal("9.25"), opened_at=T0, closed_at=T0 + timedelta(hours=1), gross_pnl=Decimal("3.75"),
        commission=Decimal("0.10"), closing_fill_id=closing_fill_id,
    )


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


def test_migrate_is_idempotent_and_recorded(store: SqliteStore) -> None:
    assert store.schema_version() == 0
    assert store.migrate() == [1]
    assert store.migrate() == []
    assert store.schema_version() == 1
    assert [r[:2] for r in rows(store, "SELECT version, name FROM schema_migrations")] == [(1, "initial")]


def test_first_unit_of_work_migrates_an_empty_file(store: SqliteStore) -> None:
    with store() as uow:
        uow.control.list()
    assert store.schema_version() == 1


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
    assert outputs == ["[1]", "[]", "[]", "[]"]


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


# --- the unit of work -------------------------------------------------------------------------


def test_leaving_without_commit_rolls_back(store: SqliteStore) -> None:
    with store() as uow:
        uow.orders.add(make_order())
    with store() as uow:
        assert uow.orders.get("o-1") is None


def test_exception_rolls_back_and_propagates(store: SqliteStore) -> None:
    with pytest.raises(ZeroDivisionError):
        with store() as uow:
            uow.orders.add(make_order())
            1 / 0
    with store() as uow:
        assert uow.orders.count(account="acc") == 0


def test_commit_keeps_and_later_work_needs_its_own_commit(store: SqliteStore) -> None:
    with store() as uow:
        uow.orders.add(make_order("kept"))
        uow.commit()
        uow.orders.add(make_order("dropped"))
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["kept"]


def test_explicit_rollback(store: SqliteStore) -> None:
    with store() as uow:
        uow.orders.add(make_order())
        uow.rollback()
        uow.orders.add(make_order("after"))
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["after"]


def test_a_unit_of_work_is_used_once_and_never_nested(store: SqliteStore) -> None:
    uow = store()
    with uow:
        with pytest.raises(RuntimeError, match="already open"):
            with store():
                pass
    with pytest.raises(RuntimeError):
        uow.orders.count(account="acc")  # outside its block
    with pytest.raises(RuntimeError, match="one `with` block"):
        with uow:
            pass


def test_store_is_a_unit_of_work_factory_matching_the_ports(store: SqliteStore) -> None:
    """Every repository method has exactly the port's signature."""
    uow = store()
    assert isinstance(uow, SqliteUnitOfWork)
    for name, port in inspect.get_annotations(ports.UnitOfWork, eval_str=True).items():
        repository = getattr(uow, name)
        for method, _ in inspect.getmembers(port, inspect.isfunction):
            if method.startswith("_"):
                continue
            expected = inspect.signature(getattr(port, method))
            actual = inspect.signature(getattr(type(repository), method))
            assert list(actual.parameters) == list(expected.parameters), (name, method)
            for param in expected.parameters.values():
                got = actual.parameters[param.name]
                assert (got.kind, got.default) == (param.kind, param.default), (name, method, param.name)


# --- round trips --------------------------------------------------------------------------------


def test_orders_round_trip_and_queries(store: SqliteStore) -> None:
    full = make_order(
        "full", order_type=OrderType.LIMIT, limit_price=Decimal("499.50"), stop_price=Decimal("480.00"),
        quantity=Decimal("0.0100"), created_at=T0.astimezone(NEW_YORK),
    )
    full.transition(OrderStatus.SUBMITTED, at=T0 + timedelta(seconds=1))
    full.apply_fill(quantity=Decimal("0.0040"), price=Decimal("499.25"), at=T0 + timedelta(seconds=2))
    full.venue_order_id, full.reason = "venue-9", "partial"
    bare = make_order("bare", created_at=T0 + timedelta(minutes=5), symbol="QQQ")
    done = make_order("done", created_at=T0 + timedelta(minutes=9), status=OrderStatus.FILLED)
    with store() as uow:
        assert all(uow.orders.add(o) for o in (full, bare, done))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.orders.get("full") == full
        assert str(uow.orders.get("full").limit_price) == "499.50"
        assert str(uow.orders.get("full").quantity) == "0.0100"
        assert uow.orders.get("bare") == bare and uow.orders.get("bare").limit_price is None
        assert [o.client_order_id for o in uow.orders.list(account="acc")] == ["done", "bare", "full"]
        assert [o.client_order_id for o in uow.orders.list(limit=1)] == ["done"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="acc")] == ["full", "bare"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="acc", symbol="QQQ")] == ["bare"]
        assert uow.orders.open_orders(account="other") == []
        assert uow.orders.count(account="acc", bot="bot") == 3
        times = uow.orders.submission_times(account="acc", bot="bot", symbol=None, since=T0)
        assert times == [T0 + timedelta(seconds=1)]
        assert uow.orders.submission_times(account="acc", bot="bot", symbol="SPY", since=T0 + timedelta(seconds=2)) == []


def test_order_save_updates_and_duplicate_add_is_refused(store: SqliteStore) -> None:
    order = make_order()
    with store() as uow:
        assert uow.orders.add(order)
        order.transition(OrderStatus.SUBMITTED, at=T0)
        order.transition(OrderStatus.ACCEPTED, at=T0 + timedelta(seconds=1))
        order.venue_order_id = "v-1"
        uow.orders.save(order)
        assert uow.orders.add(make_order(quantity=Decimal("99"))) is False  # same id: nothing written
        uow.commit()
    with store() as uow:
        assert uow.orders.get("o-1") == order
        with pytest.raises(LookupError):
            uow.orders.save(make_order("never-added"))
    assert rows(store, "SELECT COUNT(*) FROM orders") == [(1,)]


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


def test_naive_datetimes_are_refused(store: SqliteStore) -> None:
    with store() as uow:
        with pytest.raises(ValueError, match="naive"):
            uow.orders.add(make_order(created_at=datetime(2024, 3, 1, 9, 30)))


def test_fills_round_trip_once_each_oldest_first(store: SqliteStore) -> None:
    late = make_fill("late", ts=T0 + timedelta(minutes=1), liquidity="maker", commission=Decimal("0.35"))
    early = make_fill("early", side=OrderSide.SELL, quantity=Decimal("2.5"), ts=T0.astimezone(NEW_YORK))
    with store() as uow:
        assert uow.fills.add(late, account="acc", bot="bot")
        assert uow.fills.add(early, account="acc", bot="bot")
        assert uow.fills.add(late, account="acc", bot="bot") is False
        uow.commit()
    with store() as uow:
        assert uow.fills.list(account="acc") == [early, late]
        assert uow.fills.exists("late") and not uow.fills.exists("nope")
        assert uow.fills.count(account="acc", bot="bot") == 2
        assert uow.fills.list(account="acc", bot="other") == []
    assert rows(store, "SELECT COUNT(*) FROM fills") == [(2,)]


def test_positions_upsert_never_fails_and_keeps_the_last(store: SqliteStore) -> None:
    trip = OpenTrip(opened_at=T0, entry_quantity=Decimal("10"), entry_notional=Decimal("5001.0"),
                    max_quantity=Decimal("10"), commission=Decimal("0.01"))
    first = Position(bot="bot", symbol="SPY", quantity=Decimal("10"), cost_basis=Decimal("5001.00"),
                     trip=trip, updated_at=T0)
    second = attrs.evolve(first, quantity=Decimal("-2.50"), cost_basis=Decimal("1250.250"), realized_pnl=Decimal("12.3400"),
                          trip=attrs.evolve(trip, exit_quantity=Decimal("12.5")))
    with store() as uow:
        assert uow.positions.get(account="acc", bot="bot", symbol="SPY") == Position(bot="bot", symbol="SPY")
        uow.positions.upsert(first, account="acc", last_price=Decimal("501.00"))
        uow.positions.upsert(second, account="acc")
        uow.commit()
    with store() as uow:
        uow.positions.upsert(second, account="acc")  # again, in a later transaction
        uow.commit()
    with store() as uow:
        stored = uow.positions.get(account="acc", bot="bot", symbol="SPY")
        assert stored == second and str(stored.realized_pnl) == "12.3400"
        # A position written without a price keeps the last known mark.
        assert uow.positions.list(account="acc") == [("acc", second, Decimal("501.00"))]
        assert uow.positions.list(bot="other") == []
    assert rows(store, "SELECT COUNT(*) FROM positions") == [(1,)]


def test_accounts(store: SqliteStore) -> None:
    with store() as uow:
        assert uow.accounts.get(account="acc", bot="bot") is None
        assert uow.accounts.ensure(account="acc", bot="bot", initial_cash=Decimal("100000.00")).cash == Decimal("100000.00")
        uow.accounts.set_cash(account="acc", bot="bot", cash=Decimal("99498.90"))
        again = uow.accounts.ensure(account="acc", bot="bot", initial_cash=Decimal("1"))
        assert again == BotAccount(account="acc", bot="bot", initial_cash=Decimal("100000.00"), cash=Decimal("99498.90"))
        with pytest.raises(LookupError):
            uow.accounts.set_cash(account="acc", bot="ghost", cash=Decimal("1"))
        uow.accounts.ensure(account="acc2", bot="bot", initial_cash=Decimal("5"))
        uow.commit()
    with store() as uow:
        assert [a.account for a in uow.accounts.list()] == ["acc", "acc2"]
        assert uow.accounts.list(account="acc") == [again]


def test_trades_once_per_closing_fill(store: SqliteStore) -> None:
    first, second = make_trip("f-2"), attrs.evolve(make_trip("f-9"), symbol="QQQ", closed_at=T0 + timedelta(hours=3))
    with store() as uow:
        assert uow.trades.add(second, account="acc")
        assert uow.trades.add(first, account="acc")
        assert uow.trades.add(first, account="acc") is False
        assert uow.trades.add(first, account="other")  # a different account is a different trip
        uow.commit()
    with store() as uow:
        assert uow.trades.list(account="acc") == [("acc", first), ("acc", second)]
        assert uow.trades.list(symbol="QQQ") == [("acc", second)]
        assert len(uow.trades.list()) == 3


def test_heartbeats_upsert(store: SqliteStore) -> None:
    beat = Heartbeat(account="acc", bot="bot", pid=4242, host="h1", mode="paper", started_at=T0,
                     beat_at=T0 + timedelta(seconds=5), interval_seconds=5.0, run_state=BotRunState.RUNNING)
    later = attrs.evolve(beat, beat_at=T0 + timedelta(seconds=10), run_state=BotRunState.STOPPED, detail="bye")
    with store() as uow:
        uow.heartbeats.beat(beat)
        uow.heartbeats.beat(later)
        uow.commit()
    with store() as uow:
        assert uow.heartbeats.list() == [later]
        assert uow.heartbeats.list(account="nobody") == []


def test_control_upsert_and_halt_seen_by_another_store(store: SqliteStore) -> None:
    halt = ControlState(scope=GLOBAL_SCOPE, state=TradingState.HALTED, reason="kill", actor="ops", changed_at=T0)
    with store() as uow:
        uow.control.set(ControlState(scope=GLOBAL_SCOPE, state=TradingState.ACTIVE, reason="", actor="x", changed_at=T0))
        uow.control.set(halt)
        uow.control.set(ControlState(scope="bot", state=TradingState.REDUCING, reason="r", actor="y", changed_at=T0))
        uow.commit()
    other = SqliteStore(path=store.path)
    with other.unit_of_work(read_only=True) as uow:
        assert uow.control.get(GLOBAL_SCOPE) == halt
        assert [c.scope for c in uow.control.list()] == [GLOBAL_SCOPE, "bot"]
        assert uow.control.get("missing") is None
    other.close()


def test_audit_round_trip_filters_and_limit(store: SqliteStore) -> None:
    data = {"f": 0.1, "i": 3, "s": "x", "b": True, "n": None, "l": [1, "2", 3.5], "d": {"nested": [False]}}
    entries = [
        AuditEntry(ts=T0 + timedelta(minutes=i), kind=AuditKind.SIGNAL if i % 2 else AuditKind.RISK,
                   message=f"m{i}", account="acc", bot="bot", symbol="SPY", client_order_id=f"o{i}",
                   data=data, severity="warning" if i == 3 else "info")
        for i in range(5)
    ]
    with store() as uow:
        for entry in entries:
            uow.audit.append(entry)
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.HALT, message="other", account="acc2"))
        uow.commit()
    with store() as uow:
        stamped = [attrs.evolve(e, recorded_at=RECORDED) for e in entries]
        assert uow.audit.list(account="acc") == stamped
        assert uow.audit.list(account="acc", limit=2) == stamped[3:]
        assert uow.audit.list(kind="signal") == [stamped[1], stamped[3]]
        assert uow.audit.list(account="acc", since=T0 + timedelta(minutes=3)) == stamped[3:]
        assert uow.audit.list(symbol="QQQ") == []
        assert uow.audit.count() == 6 and uow.audit.count(account="acc", severity="warning") == 1


def test_audit_data_decimals_become_exact_strings(store: SqliteStore) -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.FILL, message="m",
                                    data={"price": Decimal("500.10"), "at": T0, "nan": float("nan")}))
        uow.commit()
    with store() as uow:
        (entry,) = uow.audit.list()
    assert entry.data["price"] == "500.10"
    assert entry.data["at"] == "2024-03-01T14:30:00.000000+00:00"
    assert entry.data["nan"] != entry.data["nan"]  # NaN is recorded, not refused


def test_audit_log_is_append_only(store: SqliteStore) -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ORDER, message="sent"))
        uow.commit()
    connection = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("UPDATE audit_log SET message = 'edited'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("DELETE FROM audit_log")
    finally:
        connection.close()
    assert rows(store, "SELECT message FROM audit_log") == [("sent",)]


def test_equity_points(store: SqliteStore) -> None:
    with store() as uow:
        uow.equity.add_many(account="acc", bot="b2", points=[EquityPoint(ts=T0, equity=Decimal("10.00"))])
        uow.equity.add_many(account="acc", bot="b1", points=[
            EquityPoint(ts=T0 + timedelta(days=1), equity=Decimal("11")), EquityPoint(ts=T0, equity=Decimal("9")),
        ])
        uow.equity.add_many(account="acc", bot="b1", points=[EquityPoint(ts=T0, equity=Decimal("9.50"))])
        uow.commit()
    with store() as uow:
        assert uow.equity.list(account="acc") == [
            ("b1", EquityPoint(ts=T0, equity=Decimal("9.50"))),
            ("b2", EquityPoint(ts=T0, equity=Decimal("10.00"))),
            ("b1", EquityPoint(ts=T0 + timedelta(days=1), equity=Decimal("11"))),
        ]
        assert len(uow.equity.list(account="acc", bot="b2")) == 1


def test_sessions(store: SqliteStore) -> None:
    with store() as uow:
        assert uow.sessions.new_simulation_account() == "sim-0001"
        uow.sessions.start(SessionRecord(account="sim-0001", mode="simulation", seed=7, trading_days=20,
                                         started_at=T0, config={"symbols": ["SPY"], "cash": "100000"}))
        uow.sessions.start(SessionRecord(account="paper", mode="paper", seed=None, trading_days=None,
                                         started_at=T0 + timedelta(hours=1)))
        uow.sessions.start(SessionRecord(account="sim-notanumber", mode="simulation", seed=None,
                                         trading_days=None, started_at=T0 + timedelta(hours=2)))
        assert uow.sessions.new_simulation_account() == "sim-0002"
        uow.sessions.finish(account="sim-0001", finished_at=T0 + timedelta(days=1), report={"net": "12.5", "trades": 3})
        with pytest.raises(LookupError):
            uow.sessions.finish(account="ghost", finished_at=T0, report={})
        uow.commit()
    with store() as uow:
        sim = uow.sessions.get("sim-0001")
        assert sim == SessionRecord(account="sim-0001", mode="simulation", seed=7, trading_days=20, started_at=T0,
                                    config={"symbols": ["SPY"], "cash": "100000"},
                                    finished_at=T0 + timedelta(days=1), report={"net": "12.5", "trades": 3})
        assert uow.sessions.get("paper").report is None and uow.sessions.get("nope") is None
        assert [s.account for s in uow.sessions.list()] == ["sim-0001", "paper", "sim-notanumber"]


def test_simulation_accounts_are_unique_across_threads(store: SqliteStore) -> None:
    store.migrate()
    got: list[str] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            with store() as uow:
                account = uow.sessions.new_simulation_account()
                uow.sessions.start(SessionRecord(account=account, mode="simulation", seed=None,
                                                 trading_days=None, started_at=T0))
                uow.commit()
            got.append(account)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(got) == [f"sim-{n:04d}" for n in range(1, 9)]


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
        from domain.trading_state import TradingState
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


# --- property: storing and reloading fills and positions is lossless -----------------------------

_example = itertools.count()
_quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)
_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
_fill_specs = st.lists(
    st.tuples(st.sampled_from(OrderSide), _quantities, _prices, st.sampled_from(["SPY", "BTC-USD"])),
    min_size=1, max_size=12,
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory):
    store = SqliteStore(path=tmp_path_factory.mktemp("prop") / "store.db")
    yield store
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=_fill_specs)
def test_fills_and_positions_reload_losslessly(shared_store: SqliteStore, specs) -> None:
    account = f"prop-{next(_example)}"
    positions: dict[str, Position] = {}
    trips: list[RoundTrip] = []
    fills: list[Fill] = []
    for n, (side, quantity, price, symbol) in enumerate(specs):
        fill = Fill(fill_id=f"{account}-{n}", client_order_id=f"o-{n}", symbol=symbol, side=side,
                    quantity=quantity, price=price, commission=(quantity * price / 1000).quantize(Decimal("0.0001")),
                    ts=T0 + timedelta(seconds=n))
        update = positions.get(symbol, Position(bot="bot", symbol=symbol)).apply_fill(fill)
        positions[symbol] = update.position
        fills.append(fill)
        with shared_store() as uow:  # one transaction per fill, as the application does
            assert uow.fills.add(fill, account=account, bot="bot")
            uow.positions.upsert(update.position, account=account, last_price=price)
            if update.closed_trip is not None:
                trips.append(update.closed_trip)
                assert uow.trades.add(update.closed_trip, account=account)
            uow.commit()
    with shared_store.unit_of_work(read_only=True) as uow:
        assert uow.fills.list(account=account) == fills
        for symbol, position in positions.items():
            stored = uow.positions.get(account=account, bot="bot", symbol=symbol)
            assert stored == position
            assert str(stored.cost_basis) == str(position.cost_basis)
        assert [trip for _, trip in uow.trades.list(account=account)] == trips
