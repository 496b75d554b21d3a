"""The store contract: every engine keeps the ports' promises (application/ports.py) the same way.

Each test runs on SQLite and on Postgres through the `store` fixture (tests/integration/conftest.py).
Engine specifics live elsewhere: WAL, PRAGMAs and file errors in test_sqlite_store.py; the
Postgres-only checks (TRUNCATE, pool exhaustion, lost connections) at the end of this file.
"""

from __future__ import annotations

import inspect
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.postgres import PostgresStore
from adapters.postgres import migrator as postgres_migrator
from adapters.sqlite import SqliteStore
from adapters.sqlite import migrator as sqlite_migrator
from application import ports
from application.records import (
    GLOBAL_SCOPE,
    AllocationRecord,
    AuditEntry,
    AuditKind,
    BotAccount,
    BotRunState,
    ControlState,
    EquityPoint,
    Heartbeat,
    Invitation,
    LoginAttempt,
    LoginSession,
    Role,
    SessionRecord,
    User,
)
from domain.accounting.position import Direction, OpenTrip, Position, RoundTrip
from domain.errors import ConfigurationError, StoreUnavailable
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.risk.trading_state import TradingState

Store = SqliteStore | PostgresStore

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
NEW_YORK = timezone(timedelta(hours=-5))  # a non-UTC zone: stored as the instant, read back in UTC
LATEST = 9
RAW_SQL_ERRORS = (sqlite3.DatabaseError, psycopg.Error)


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


def run_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(i) in `count` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


# --- lifecycle and migrations ----------------------------------------------------------------------


def test_both_engines_ship_the_same_migrations() -> None:
    names = [(m.version, m.name) for m in sqlite_migrator.available_migrations()]
    assert names == [(m.version, m.name) for m in postgres_migrator.available_migrations()]
    assert names[-1][0] == LATEST


def test_migrate_is_idempotent_and_recorded(store: Store, raw_sql) -> None:
    assert store.schema_version() == 0
    assert store.latest_version() == LATEST
    assert store.migrate() == list(range(1, LATEST + 1))
    assert store.migrate() == []
    assert store.schema_version() == LATEST
    assert raw_sql("SELECT version, name FROM schema_migrations ORDER BY version") == [(1, "initial"), (2, "leases"), (3, "instances"), (4, "stops"), (5, "allocations"), (6, "users"),
                                                                                         (7, "operations"), (8, "fill_corrections"),
                                                                                         (9, "audit_by_kind")]


def test_first_unit_of_work_migrates_an_empty_store(store: Store) -> None:
    with store() as uow:
        assert uow.control.list() == []
    assert store.schema_version() == LATEST


def test_stores_migrating_at_once_apply_once(store: Store, reopen_store) -> None:
    stores = [reopen_store() for _ in range(4)]
    # Each opens its connection first: the race under test is migrating, not creating the file.
    # (Opening a brand-new SQLite file from several connections at once can fail on
    # PRAGMA journal_mode = WAL with "database is locked", busy timeout or not.)
    assert [other.schema_version() for other in stores] == [0, 0, 0, 0]
    results = run_threads(4, lambda i: stores[i].migrate())
    assert sorted(results, key=len) == [[], [], [], list(range(1, LATEST + 1))]
    assert store.schema_version() == LATEST


def test_a_store_newer_than_the_code_is_refused(store: Store, raw_sql, reopen_store) -> None:
    store.migrate()
    raw_sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00+00:00')")
    newer = reopen_store()
    with pytest.raises(ConfigurationError, match="newer than"):
        with newer():
            pass
    with pytest.raises(ConfigurationError, match="newer than"):
        newer.migrate()


def test_close_then_use_again_reopens(store: Store) -> None:
    with store() as uow:
        uow.control.set(ControlState(scope="b", state=TradingState.HALTED, reason="r", actor="a", changed_at=T0))
        uow.commit()
    store.close()
    store.close()  # twice is fine
    with store() as uow:
        assert uow.control.get("b").state is TradingState.HALTED


def test_an_unreachable_store_is_unavailable_and_says_where(unreachable_store: Store) -> None:
    uow = unreachable_store.unit_of_work()  # constructing and handing out touch nothing
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        with uow:
            pass
    message = str(caught.value)
    assert time.monotonic() - started < 5  # a refused connection fails at once, not after retries
    assert str(unreachable_store.path) in message
    if isinstance(unreachable_store, PostgresStore):
        assert "127.0.0.1" in message and ":1/test" in message and "refused" in message.lower()
        assert "s3cret-pw" not in message and "s3cret-pw" not in unreachable_store.path
        with pytest.raises(StoreUnavailable):
            unreachable_store.schema_version()


# --- the unit of work ------------------------------------------------------------------------------


def test_leaving_without_commit_rolls_back(store: Store) -> None:
    with store() as uow:
        uow.orders.add(make_order())
    with store() as uow:
        assert uow.orders.get("o-1") is None


def test_exception_rolls_back_and_propagates(store: Store) -> None:
    with pytest.raises(ZeroDivisionError):
        with store() as uow:
            uow.orders.add(make_order())
            1 / 0
    with store() as uow:
        assert uow.orders.count(account="acc") == 0


def test_commit_keeps_and_later_work_needs_its_own_commit(store: Store) -> None:
    with store() as uow:
        uow.orders.add(make_order("kept"))
        uow.commit()
        uow.orders.add(make_order("dropped"))
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["kept"]


def test_explicit_rollback(store: Store) -> None:
    with store() as uow:
        uow.orders.add(make_order())
        uow.rollback()
        uow.orders.add(make_order("after"))
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["after"]


def test_a_unit_of_work_is_used_once_and_never_nested(store: Store) -> None:
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
    with store() as again:  # the refused nesting left nothing behind
        assert again.orders.count(account="acc") == 0


def test_store_is_a_unit_of_work_factory_matching_the_ports(store: Store) -> None:
    """Every repository method has exactly the port's signature."""
    uow = store()
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


# --- round trips --------------------------------------------------------------------------------------


def test_orders_round_trip_and_queries(store: Store) -> None:
    full = make_order(
        "full", order_type=OrderType.LIMIT, limit_price=Decimal("499.50"), stop_price=Decimal("480.00"),
        quantity=Decimal("0.0100"), created_at=T0.astimezone(NEW_YORK),
    )
    full.transition(OrderStatus.SUBMITTED, at=T0 + timedelta(seconds=1))
    full.apply_fill(quantity=Decimal("0.0040"), price=Decimal("499.25"), at=T0 + timedelta(seconds=2))
    full.venue_order_id, full.reason = "venue-9", "partial"
    bare = make_order("bare", created_at=T0 + timedelta(minutes=5), symbol="QQQ")
    done = make_order("done", created_at=T0 + timedelta(minutes=9), status=OrderStatus.FILLED)
    tied = make_order("tied", created_at=T0 + timedelta(minutes=5), symbol="QQQ")  # same time as bare: insertion order
    with store() as uow:
        assert all(uow.orders.add(o) for o in (full, bare, done, tied))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.orders.get("full") == full
        assert str(uow.orders.get("full").limit_price) == "499.50"
        assert str(uow.orders.get("full").quantity) == "0.0100"
        assert uow.orders.get("bare") == bare and uow.orders.get("bare").limit_price is None
        assert uow.orders.get("nope") is None
        assert [o.client_order_id for o in uow.orders.list(account="acc")] == ["done", "tied", "bare", "full"]
        assert [o.client_order_id for o in uow.orders.list(limit=1)] == ["done"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="acc")] == ["full", "bare", "tied"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="acc", symbol="QQQ")] == ["bare", "tied"]
        assert uow.orders.open_orders(account="other") == []
        assert uow.orders.count(account="acc", bot="bot") == 4
        assert uow.orders.count(account="acc", bot="other") == 0
        assert uow.orders.count_by_status(account="acc") == {("bot", OrderStatus.PARTIALLY_FILLED): 1,
                                                              ("bot", OrderStatus.INITIALIZED): 2,
                                                              ("bot", OrderStatus.FILLED): 1}
        assert uow.orders.count_by_status(account="other") == {}
        times = uow.orders.submission_times(account="acc", bot="bot", symbol=None, since=T0)
        assert times == [T0 + timedelta(seconds=1)]
        assert uow.orders.submission_times(account="acc", bot="bot", symbol="SPY", since=T0 + timedelta(seconds=2)) == []


def test_order_save_updates_and_duplicate_add_is_refused(store: Store, raw_sql) -> None:
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
        assert uow.orders.add(make_order(quantity=Decimal("99"))) is False  # nor in a later transaction
        assert uow.orders.get("o-1") == order
        with pytest.raises(LookupError):
            uow.orders.save(make_order("never-added"))
        uow.commit()
    assert raw_sql("SELECT COUNT(*) FROM orders") == [(1,)]


def test_times_come_back_as_the_same_instant_in_utc_and_sort_as_instants(store: Store) -> None:
    # 09:30 in New York is 14:30 UTC: later than 10:00 UTC, though "09:30" looks earlier.
    new_york = datetime(2024, 3, 1, 9, 30, 0, 123456, tzinfo=NEW_YORK)
    with store() as uow:
        uow.orders.add(make_order("ny", created_at=new_york))
        uow.orders.add(make_order("utc", created_at=datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)))
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["ny", "utc"]
        stored = uow.orders.get("ny").created_at
    assert stored == new_york
    assert stored.utcoffset() == timedelta(0) and stored.tzinfo == timezone.utc
    assert stored.isoformat() == "2024-03-01T14:30:00.123456+00:00"


def test_naive_datetimes_and_float_money_are_refused(store: Store) -> None:
    with store() as uow:
        with pytest.raises(ValueError, match="naive"):
            uow.orders.add(make_order(created_at=datetime(2024, 3, 1, 9, 30)))
        with pytest.raises(TypeError, match="Decimal"):
            uow.accounts.ensure(account="acc", bot="bot", initial_cash=100000.1)
        with pytest.raises(TypeError, match="Decimal"):
            uow.equity.add_many(account="acc", bot="bot", points=[EquityPoint(ts=T0, equity=0.1)])
        assert uow.orders.count(account="acc") == 0 and uow.accounts.list() == []


EXACT = [Decimal("0.00000001"), Decimal("123456789.123456789"), Decimal("1.50"), Decimal("-0.0100"),
         Decimal("98765432109876543210.000000000000000001")]


def test_decimals_round_trip_exactly_with_their_scale(store: Store) -> None:
    with store() as uow:
        for n, value in enumerate(EXACT):
            uow.fills.add(make_fill(f"f{n}", quantity=abs(value), price=abs(value), commission=abs(value),
                                    ts=T0 + timedelta(seconds=n)), account="acc", bot="bot")
            uow.accounts.ensure(account="acc", bot=f"b{n}", initial_cash=value)
            uow.equity.add_many(account="acc", bot=f"b{n}", points=[EquityPoint(ts=T0, equity=value)])
            uow.positions.upsert(Position(bot=f"b{n}", symbol="SPY", quantity=value, cost_basis=abs(value)),
                                 account="acc", last_price=value)
        uow.commit()
    with store() as uow:
        fills = uow.fills.list(account="acc")
        accounts = uow.accounts.list(account="acc")
        equity = uow.equity.list(account="acc")
        positions = uow.positions.list(account="acc")
    expected = [str(v) for v in EXACT]
    assert [str(f.price) for f in fills] == [str(abs(v)) for v in EXACT]
    assert [str(f.commission) for f in fills] == [str(abs(v)) for v in EXACT]
    assert [str(a.cash) for a in accounts] == expected
    assert [str(p.equity) for _, p in equity] == expected
    assert [str(p.quantity) for _, p, _ in positions] == expected
    assert [str(mark) for _, _, mark in positions] == expected


def test_fills_round_trip_once_each_oldest_first(store: Store, raw_sql) -> None:
    late = make_fill("late", ts=T0 + timedelta(minutes=1), liquidity="maker", commission=Decimal("0.35"))
    early = make_fill("early", side=OrderSide.SELL, quantity=Decimal("2.5"), ts=T0.astimezone(NEW_YORK))
    tie = make_fill("tie", ts=T0 + timedelta(minutes=1))  # same ts as late: insertion order
    with store() as uow:
        assert uow.fills.add(late, account="acc", bot="bot")
        assert uow.fills.add(early, account="acc", bot="bot")
        assert uow.fills.add(tie, account="acc", bot="b2")
        assert uow.fills.add(late, account="acc", bot="bot") is False
        uow.commit()
    with store() as uow:
        assert uow.fills.add(late, account="other", bot="x") is False  # a fill id is global
        assert uow.fills.list(account="acc") == [early, late, tie]
        assert uow.fills.list(account="acc", bot="bot") == [early, late]
        assert uow.fills.exists("late") and not uow.fills.exists("nope")
        assert uow.fills.count(account="acc", bot="bot") == 2 and uow.fills.count(account="acc") == 3
        assert uow.fills.list(account="acc", bot="other") == []
        uow.commit()
    assert raw_sql("SELECT COUNT(*) FROM fills") == [(3,)]


def test_positions_upsert_never_fails_and_keeps_the_last(store: Store, raw_sql) -> None:
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
        uow.positions.upsert(Position(bot="bot", symbol="QQQ"), account="acc")  # flat rows are listed too
        uow.commit()
    with store() as uow:
        stored = uow.positions.get(account="acc", bot="bot", symbol="SPY")
        assert stored == second and str(stored.realized_pnl) == "12.3400"
        assert str(stored.trip.entry_notional) == "5001.0" and stored.trip.opened_at == T0
        # A position written without a price keeps the last known mark.
        assert uow.positions.list(account="acc") == [
            ("acc", Position(bot="bot", symbol="QQQ"), None), ("acc", second, Decimal("501.00"))]
        assert uow.positions.list(bot="other") == []
    assert raw_sql("SELECT COUNT(*) FROM positions") == [(2,)]


def test_accounts(store: Store) -> None:
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


def test_trades_once_per_closing_fill(store: Store) -> None:
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
        assert uow.trades.list(bot="nobody") == []
        assert len(uow.trades.list()) == 3


def test_trade_pages_are_filtered_counted_and_sliced_by_the_store(store: Store) -> None:
    trips = [attrs.evolve(make_trip(f"f-{i}"), bot=("a" if i % 2 else "b"), symbol=("SPY" if i % 3 else "QQQ"),
                          closed_at=T0 + timedelta(minutes=i)) for i in range(12)]
    with store() as uow:
        for trip in reversed(trips):  # stored out of order: the page is by close time
            assert uow.trades.add(trip, account="acc")
        assert uow.trades.add(trips[0], account="other")
        uow.commit()
    with store() as uow:
        total, page = uow.trades.page(account="acc", limit=5, offset=0)
        assert total == 12 and [t for _, t in page] == trips[:5]
        total, page = uow.trades.page(account="acc", limit=5, offset=10)
        assert total == 12 and [t for _, t in page] == trips[10:]
        total, page = uow.trades.page(bots=["a"], symbol="SPY", limit=100)
        assert total == len([t for t in trips if t.bot == "a" and t.symbol == "SPY"])
        assert all(a == "acc" for a, _ in page)
        total, page = uow.trades.page(account="acc", since=(T0 + timedelta(minutes=3)).astimezone(NEW_YORK),
                                      until=T0 + timedelta(minutes=6), limit=100)
        assert (total, [t for _, t in page]) == (3, trips[3:6])  # since included, until excluded
        assert uow.trades.page(bots=[], limit=10) == (0, [])
        assert uow.trades.page(bots=["a", "b"], limit=1, offset=0)[0] == 13
        assert uow.trades.page(account="acc", limit=10, offset=50) == (12, [])


def test_heartbeats_upsert(store: Store) -> None:
    beat = Heartbeat(account="acc", bot="bot", pid=4242, host="h1", mode="paper", started_at=T0,
                     beat_at=T0 + timedelta(seconds=5), interval_seconds=5.0, run_state=BotRunState.RUNNING)
    later = attrs.evolve(beat, beat_at=T0 + timedelta(seconds=10), run_state=BotRunState.STOPPED, detail="bye")
    other = attrs.evolve(beat, bot="another", interval_seconds=0.25)
    with store() as uow:
        uow.heartbeats.beat(beat)
        uow.heartbeats.beat(later)
        uow.heartbeats.beat(other)
        uow.commit()
    with store() as uow:
        assert uow.heartbeats.list() == [other, later]
        assert uow.heartbeats.list(account="nobody") == []


def test_control_upsert_and_halt_seen_by_another_store(store: Store, reopen_store) -> None:
    halt = ControlState(scope=GLOBAL_SCOPE, state=TradingState.HALTED, reason="kill", actor="ops", changed_at=T0)
    with store() as uow:
        uow.control.set(ControlState(scope=GLOBAL_SCOPE, state=TradingState.ACTIVE, reason="", actor="x", changed_at=T0))
        uow.control.set(halt)
        uow.control.set(ControlState(scope="bot", state=TradingState.REDUCING, reason="r", actor="y", changed_at=T0))
        uow.control.set(ControlState(scope="Bot", state=TradingState.ACTIVE, reason="", actor="y", changed_at=T0))
        uow.commit()
    with reopen_store().unit_of_work(read_only=True) as uow:
        assert uow.control.get(GLOBAL_SCOPE) == halt
        # Byte order on both engines (Postgres columns are COLLATE "C"), whatever the locale.
        assert [c.scope for c in uow.control.list()] == [GLOBAL_SCOPE, "Bot", "bot"]
        assert uow.control.get("missing") is None


def _recorded_now(entry: AuditEntry, before: datetime, after: datetime) -> bool:
    slack = timedelta(seconds=5)  # the server's clock, on this machine
    return entry.recorded_at is not None and before - slack <= entry.recorded_at <= after + slack


def test_audit_round_trip_filters_and_limit(store: Store) -> None:
    data = {"f": 0.1, "i": 3, "s": "x", "b": True, "n": None, "l": [1, "2", 3.5], "d": {"nested": [False]}}
    entries = [
        AuditEntry(ts=T0 + timedelta(minutes=i), kind=AuditKind.SIGNAL if i % 2 else AuditKind.RISK,
                   message=f"m{i}", account="acc", bot="bot", symbol="SPY", client_order_id=f"o{i}",
                   data=data, severity="warning" if i == 3 else "info",
                   recorded_at=datetime(1999, 1, 1, tzinfo=timezone.utc))  # ignored: the store stamps it
        for i in range(5)
    ]
    before = datetime.now(timezone.utc)
    with store() as uow:
        for entry in reversed(entries):
            uow.audit.append(entry)
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.HALT, message="other", account="acc2"))
        uow.commit()
    after = datetime.now(timezone.utc)
    with store() as uow:
        listed = uow.audit.list(account="acc")
        assert all(_recorded_now(e, before, after) for e in listed)
        unstamped = [attrs.evolve(e, recorded_at=None) for e in entries]

        def bare(found: list[AuditEntry]) -> list[AuditEntry]:
            return [attrs.evolve(e, recorded_at=None) for e in found]

        assert bare(listed) == unstamped
        assert bare(uow.audit.list(account="acc", limit=2)) == unstamped[3:]
        assert bare(uow.audit.list(kind="signal")) == [unstamped[1], unstamped[3]]
        assert bare(uow.audit.list(kind=AuditKind.HALT)) == [
            AuditEntry(ts=T0, kind=AuditKind.HALT, message="other", account="acc2")]
        assert bare(uow.audit.list(account="acc", since=T0 + timedelta(minutes=3))) == unstamped[3:]
        assert uow.audit.list(symbol="QQQ") == []
        assert uow.audit.count() == 6 and uow.audit.count(account="acc", severity="warning") == 1


def test_audit_matches_kinds_or_a_data_key_and_pages_by_offset(store: Store) -> None:
    """`audit --kind signal/risk`: a decision recorded as an order still carries its signal and
    checks; `--page`: the newest entries skipped by offset."""
    shapes = [(AuditKind.ORDER, {"signal": {"reason": "x"}, "checks": []}), (AuditKind.ORDER, {}),
              (AuditKind.RISK, {}), (AuditKind.FILL, {"fill_id": "f"}), (AuditKind.RISK, {"signal": {}, "checks": []})]
    with store() as uow:
        for i, (kind, data) in enumerate(shapes):
            uow.audit.append(AuditEntry(ts=T0 + timedelta(minutes=i), kind=kind, message=f"m{i}", data=data))
        uow.commit()
    with store() as uow:
        def messages(**query: object) -> list[str]:
            return [e.message for e in uow.audit.list(**query)]

        assert messages(data_key="signal") == ["m0", "m4"]
        assert messages(kinds=("risk",), data_key="checks") == ["m0", "m2", "m4"]
        assert messages(kinds=("fill", "order")) == ["m0", "m1", "m3"]
        assert messages(limit=2, offset=1) == ["m2", "m3"]
        assert messages(limit=10, offset=4) == ["m0"] and messages(offset=5) == []
        assert messages(kinds=("risk",), data_key="checks", limit=1, offset=1) == ["m2"]


def test_audit_data_decimals_become_exact_strings_and_nan_is_recorded(store: Store) -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.FILL, message="m",
                                    data={"price": Decimal("500.10"), "at": T0.astimezone(NEW_YORK),
                                          "nan": float("nan"), "odd": object}))
        uow.commit()
    with store() as uow:
        (entry,) = uow.audit.list()
    assert entry.data["price"] == "500.10"
    assert entry.data["at"] == "2024-03-01T14:30:00.000000+00:00"
    # Recorded, not refused. SQLite keeps the float NaN; jsonb has no NaN, so Postgres keeps "NaN".
    assert str(entry.data["nan"]).lower() == "nan"
    assert "object" in entry.data["odd"]


def test_audit_log_is_append_only(store: Store, raw_sql) -> None:
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ORDER, message="sent"))
        uow.commit()
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("UPDATE audit_log SET message = 'edited'")
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("DELETE FROM audit_log")
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("DELETE FROM audit_log WHERE message = 'sent'")
    assert raw_sql("SELECT message FROM audit_log") == [("sent",)]


def test_equity_points(store: Store) -> None:
    with store() as uow:
        uow.equity.add_many(account="acc", bot="b2", points=[EquityPoint(ts=T0, equity=Decimal("10.00"))])
        uow.equity.add_many(account="acc", bot="b1", points=[
            EquityPoint(ts=T0 + timedelta(days=1), equity=Decimal("11")), EquityPoint(ts=T0, equity=Decimal("9")),
        ])
        uow.equity.add_many(account="acc", bot="b1", points=[EquityPoint(ts=T0, equity=Decimal("9.50"))])
        # One batch naming a ts twice: the later figure wins.
        uow.equity.add_many(account="acc", bot="b3", points=[EquityPoint(ts=T0, equity=Decimal("1")),
                                                             EquityPoint(ts=T0, equity=Decimal("2"))])
        uow.equity.add_many(account="acc", bot="b4", points=[])
        uow.commit()
    with store() as uow:
        assert uow.equity.list(account="acc") == [
            ("b1", EquityPoint(ts=T0, equity=Decimal("9.50"))),
            ("b2", EquityPoint(ts=T0, equity=Decimal("10.00"))),
            ("b3", EquityPoint(ts=T0, equity=Decimal("2"))),
            ("b1", EquityPoint(ts=T0 + timedelta(days=1), equity=Decimal("11"))),
        ]
        assert len(uow.equity.list(account="acc", bot="b2")) == 1


def test_sessions(store: Store) -> None:
    with store() as uow:
        assert uow.sessions.new_simulation_account() == "sim-0001"
        uow.sessions.start(SessionRecord(account="sim-0001", mode="simulation", seed=7, trading_days=20,
                                         started_at=T0, config={"symbols": ["SPY"], "cash": Decimal("100000")}))
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
        # start() of a known account begins a fresh record.
        uow.sessions.start(SessionRecord(account="sim-0001", mode="simulation", seed=8, trading_days=1, started_at=T0))
        assert uow.sessions.get("sim-0001").report is None and uow.sessions.get("sim-0001").seed == 8


def test_simulation_accounts_are_unique_across_threads(store: Store) -> None:
    store.migrate()

    def claim(_: int) -> str:
        with store() as uow:
            account = uow.sessions.new_simulation_account()
            time.sleep(0.01)  # widen the window between reading the numbers and writing one
            uow.sessions.start(SessionRecord(account=account, mode="simulation", seed=None,
                                             trading_days=None, started_at=T0))
            uow.commit()
        return account

    got = run_threads(8, claim)
    assert sorted(got) == [f"sim-{n:04d}" for n in range(1, 9)]


# --- leases ---------------------------------------------------------------------------------------


def test_a_free_lease_is_taken_and_another_holder_is_refused_while_it_lives(store: Store) -> None:
    before = datetime.now(timezone.utc)
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") is None
        lease = uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=30)
        uow.commit()
    assert lease is not None and (lease.account, lease.bot, lease.holder) == ("acc", "bot", "1@h/a")
    assert lease.acquired_at.tzinfo == timezone.utc
    assert lease.expires_at - lease.acquired_at == timedelta(seconds=30)
    assert before - timedelta(seconds=5) <= lease.acquired_at <= datetime.now(timezone.utc) + timedelta(seconds=5)
    with store() as uow:
        assert uow.leases.acquire(account="acc", bot="bot", holder="2@h/b", ttl_seconds=30) is None
        uow.leases.release(account="acc", bot="bot", holder="2@h/b")  # not its lease: nothing happens
        assert uow.leases.acquire(account="acc", bot="other-bot", holder="2@h/b", ttl_seconds=30) is not None
        uow.commit()
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") == lease
        assert [(x.bot, x.holder) for x in uow.leases.list()] == [("bot", "1@h/a"), ("other-bot", "2@h/b")]
        assert uow.leases.list(account="nobody") == []


def test_the_holder_renews_keeping_acquired_at(store: Store) -> None:
    with store() as uow:
        first = uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=30)
        uow.commit()
    time.sleep(0.02)
    with store() as uow:
        renewed = uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=60)
        uow.commit()
    assert renewed is not None and renewed.acquired_at == first.acquired_at
    assert renewed.expires_at > first.expires_at
    assert renewed.expires_at - renewed.acquired_at > timedelta(seconds=60)
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") == renewed


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    with store() as uow:
        old = uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=0.2)
        uow.commit()
    with store() as uow:
        assert uow.leases.acquire(account="acc", bot="bot", holder="2@h/b", ttl_seconds=30) is None
    time.sleep(0.3)
    with store() as uow:
        new = uow.leases.acquire(account="acc", bot="bot", holder="2@h/b", ttl_seconds=30)
        uow.commit()
    assert new is not None and new.holder == "2@h/b" and new.acquired_at >= old.expires_at
    with store() as uow:
        uow.leases.release(account="acc", bot="bot", holder="1@h/a")  # the old holder's late release
        assert uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=30) is None
        uow.commit()
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") == new


def test_release_frees_the_lease_at_once_and_rollback_keeps_it(store: Store) -> None:
    with store() as uow:
        uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=30)
        uow.commit()
    with store() as uow:
        uow.leases.release(account="acc", bot="bot", holder="1@h/a")  # not committed
    with store() as uow:
        assert uow.leases.acquire(account="acc", bot="bot", holder="2@h/b", ttl_seconds=30) is None
        uow.leases.release(account="acc", bot="bot", holder="1@h/a")
        uow.commit()
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") is None
        taken = uow.leases.acquire(account="acc", bot="bot", holder="2@h/b", ttl_seconds=30)
        assert taken is not None and taken.holder == "2@h/b"


def test_a_lease_needs_a_positive_ttl(store: Store) -> None:
    with store() as uow:
        for ttl in (0, -1, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="ttl"):
                uow.leases.acquire(account="acc", bot="bot", holder="1@h/a", ttl_seconds=ttl)


def test_threads_racing_for_one_lease_exactly_one_wins(store: Store) -> None:
    store.migrate()

    def race(i: int):
        with store() as uow:
            lease = uow.leases.acquire(account="acc", bot="bot", holder=f"{i}@h/race", ttl_seconds=30)
            uow.commit()
        return lease

    leases = run_threads(8, race)
    winners = [lease for lease in leases if lease is not None]
    assert len(winners) == 1
    with store() as uow:
        assert uow.leases.get(account="acc", bot="bot") == winners[0]


# --- property: storing and reloading fills and positions is lossless -------------------------------

_example = itertools.count()
_quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3)
_prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
_fill_specs = st.lists(
    st.tuples(st.sampled_from(OrderSide), _quantities, _prices, st.sampled_from(["SPY", "BTC-USD"])),
    min_size=1, max_size=10,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=_fill_specs)
def test_fills_and_positions_reload_losslessly(store: Store, specs) -> None:
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
        with store() as uow:  # one transaction per fill, as the application does
            assert uow.fills.add(fill, account=account, bot="bot")
            uow.positions.upsert(update.position, account=account, last_price=price)
            if update.closed_trip is not None:
                trips.append(update.closed_trip)
                assert uow.trades.add(update.closed_trip, account=account)
            uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.fills.list(account=account) == fills
        for symbol, position in positions.items():
            stored = uow.positions.get(account=account, bot="bot", symbol=symbol)
            assert stored == position
            assert str(stored.cost_basis) == str(position.cost_basis)
            assert str(stored.realized_pnl) == str(position.realized_pnl)
        assert [trip for _, trip in uow.trades.list(account=account)] == trips


# --- Postgres specifics ------------------------------------------------------------------------------


@pytest.fixture
def postgres_store(store: Store) -> PostgresStore:
    if not isinstance(store, PostgresStore):
        pytest.skip("Postgres only")
    return store


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_audit_log_refuses_truncate(postgres_store: PostgresStore, raw_sql) -> None:
    with postgres_store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ORDER, message="sent"))
        uow.commit()
    with pytest.raises(psycopg.Error, match="append-only"):
        raw_sql("TRUNCATE audit_log")
    assert raw_sql("SELECT message FROM audit_log") == [("sent",)]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_allocations_refuse_truncate(postgres_store: PostgresStore, raw_sql) -> None:
    with postgres_store() as uow:
        uow.allocations.add(make_allocation())
        uow.commit()
    with pytest.raises(psycopg.Error, match="append-only"):
        raw_sql("TRUNCATE allocations")
    assert raw_sql("SELECT reason FROM allocations") == [("rebalance",)]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_read_only_unit_of_work_refuses_writes(postgres_store: PostgresStore) -> None:
    with postgres_store.unit_of_work(read_only=True) as uow:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            uow.orders.add(make_order())
    with postgres_store() as uow:  # the pooled connection is writable again
        assert uow.orders.add(make_order())


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_location_hides_the_password_and_connects_lazily(postgres_store: PostgresStore) -> None:
    lazy = PostgresStore(url="postgresql://quant:pw-123@db.invalid:6543/trading", schema="s1")
    assert lazy.path == lazy.location == "postgresql://quant@db.invalid:6543/trading (schema s1)"
    assert "pw-123" not in repr(lazy)
    lazy.close()  # never opened: nothing to do
    assert postgres_store.location.startswith("postgresql://")


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_busy_pool_times_out_as_unavailable(postgres_store: PostgresStore, reopen_store) -> None:
    small = reopen_store(max_size=1, connect_timeout_seconds=0.5)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with small() as uow:
            uow.control.list()
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(StoreUnavailable, match="unavailable"):
            with small():
                pass
    finally:
        release.set()
        holder.join(10)
    with small() as uow:  # back once the connection is returned
        assert uow.control.list() == []


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_lost_connection_is_unavailable_then_recovers(postgres_store: PostgresStore, raw_sql) -> None:
    with postgres_store() as uow:
        uow.control.list()
    with pytest.raises(StoreUnavailable, match="unavailable"):
        with postgres_store() as uow:
            # Kill this store's connections (only these: others may share the server).
            raw_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                f" WHERE application_name = 'quantshift:{postgres_store.schema}'")
            uow.orders.count(account="acc")
    with postgres_store() as uow:  # the pool checks connections and replaces the dead one
        assert uow.orders.count(account="acc") == 0


def test_instances_are_upserted_and_listed(store):
    from application.records import InstanceBeat, InstanceRole

    beat = InstanceBeat(instance="12@h", account="paper", role=InstanceRole.STANDBY, pid=12, host="h", bots="a,b",
                        beat_at=datetime(2025, 1, 2, 15, tzinfo=timezone.utc), interval_seconds=0.5)
    with store() as uow:
        uow.instances.beat(beat)
        uow.instances.beat(attrs.evolve(beat, instance="13@h", pid=13, account="other"))
        uow.commit()
    with store() as uow:
        uow.instances.beat(attrs.evolve(beat, role=InstanceRole.LIVE))
        uow.commit()
    with store() as uow:
        assert uow.instances.list(account="paper") == [attrs.evolve(beat, role=InstanceRole.LIVE)]
        assert [i.instance for i in uow.instances.list()] == ["13@h", "12@h"]  # by account, then instance


def test_stops_round_trip_upsert_and_delete(store):
    from domain.risk.stops import SarState, StopLevel

    when = datetime(2025, 1, 2, 15, tzinfo=timezone.utc)
    sar = SarState(sar=Decimal("8.4704"), extreme=Decimal("12.5"), af=Decimal("0.04"), bar_ts=when)
    level = StopLevel(price=Decimal("95.05"), kind="parabolic_sar", reason="r", sar=sar)
    with store() as uow:
        uow.stops.upsert(account="a", bot="b", symbol="X", level=level, updated_at=when)
        uow.stops.upsert(account="a", bot="c", symbol="Y", level=attrs.evolve(level, sar=None, kind="fixed"),
                         updated_at=when)
        uow.commit()
    with store() as uow:
        uow.stops.upsert(account="a", bot="b", symbol="X", level=attrs.evolve(level, price=Decimal("96")), updated_at=when)
        uow.stops.delete(account="a", bot="c", symbol="Y")
        uow.commit()
    with store() as uow:
        assert uow.stops.list(account="a") == {("b", "X"): attrs.evolve(level, price=Decimal("96"))}
        assert uow.stops.list(account="a", bot="c") == {} and uow.stops.list(account="other") == {}


# --- allocations ----------------------------------------------------------------------------------


def make_allocation(bot: str = "bot", **changes) -> AllocationRecord:
    fields = dict(account="acc", bot=bot, ts=T0, weight=Decimal("0.25"), equity=Decimal("25000.00"),
                  transfer=Decimal("0"), reason="rebalance", metrics={})
    fields.update(changes)
    return AllocationRecord(**fields)


def test_allocations_are_listed_oldest_first_then_in_insertion_order(store: Store) -> None:
    late = make_allocation("b1", ts=T0 + timedelta(days=1), reason="late")
    early = make_allocation("b2", ts=T0.astimezone(NEW_YORK), reason="early")  # the same instant as T0
    tie_a = make_allocation("b1", ts=T0 + timedelta(hours=1), reason="tie-a")
    tie_b = make_allocation("b2", ts=T0 + timedelta(hours=1), reason="tie-b")  # same ts as tie-a: insertion order
    tie_c = make_allocation("b1", ts=T0 + timedelta(hours=1), reason="tie-c")
    with store() as uow:
        for record in (late, tie_a, early, tie_b):
            uow.allocations.add(record)
        uow.commit()
    with store() as uow:
        uow.allocations.add(tie_c)  # a later transaction still sorts after the earlier ties
        uow.allocations.add(make_allocation("b1", account="other", reason="other account"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        listed = uow.allocations.list(account="acc")
        assert [r.reason for r in listed] == ["early", "tie-a", "tie-b", "tie-c", "late"]
        assert listed[0] == early and listed[0].ts.tzinfo == timezone.utc
        assert [r.reason for r in uow.allocations.list(account="acc", bot="b1")] == ["tie-a", "tie-c", "late"]
        assert [r.reason for r in uow.allocations.list(account="acc", bot="b2")] == ["early", "tie-b"]
        assert uow.allocations.list(account="acc", bot="nobody") == []
        assert [r.reason for r in uow.allocations.list(account="other")] == ["other account"]
        assert uow.allocations.list(account="nobody") == []


def test_allocation_decimals_round_trip_exactly_and_floats_are_refused(store: Store) -> None:
    values = [Decimal("0.333333333333"), Decimal("-1234.56"), *EXACT]
    with store() as uow:
        for n, value in enumerate(values):
            uow.allocations.add(make_allocation(ts=T0 + timedelta(seconds=n), weight=value, equity=value,
                                                transfer=-value))
        with pytest.raises(TypeError, match="Decimal"):
            uow.allocations.add(make_allocation(weight=0.1))
        uow.commit()
    with store() as uow:
        listed = uow.allocations.list(account="acc")
    assert [str(r.weight) for r in listed] == [str(v) for v in values]
    assert [str(r.equity) for r in listed] == [str(v) for v in values]
    assert [str(r.transfer) for r in listed] == [str(-v) for v in values]


def test_allocation_metrics_round_trip_as_json(store: Store) -> None:
    metrics = {
        "sharpe": 1.2345678901234, "drawdown": -0.075, "one": 1.0, "tiny": 1e-09, "trades": 42, "none": None,
        "ok": True, "label": "momentum", "list": [1, 2.5, None, "x", {"k": False}],
        "nested": {"window": {"days": 90, "returns": [0.01, -0.02]}, "empty": {}},
    }
    with store() as uow:
        uow.allocations.add(make_allocation(metrics=metrics))
        uow.allocations.add(make_allocation(ts=T0 + timedelta(seconds=1),
                                            metrics={"cash": Decimal("100.50"), "at": T0.astimezone(NEW_YORK)}))
        uow.allocations.add(make_allocation(ts=T0 + timedelta(seconds=2)))  # no metrics
        uow.commit()
    with store() as uow:
        full, converted, bare = uow.allocations.list(account="acc")
    assert full.metrics == metrics
    assert isinstance(full.metrics["one"], float) and isinstance(full.metrics["trades"], int)
    # As in the audit trail: a Decimal becomes its exact string, a datetime ISO 8601 UTC text.
    assert converted.metrics == {"cash": "100.50", "at": "2024-03-01T14:30:00.000000+00:00"}
    assert bare.metrics == {}


def test_allocations_are_append_only(store: Store, raw_sql) -> None:
    with store() as uow:
        uow.allocations.add(make_allocation())
        uow.commit()
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("UPDATE allocations SET weight = '1'")
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("DELETE FROM allocations")
    with pytest.raises(RAW_SQL_ERRORS, match="append-only"):
        raw_sql("DELETE FROM allocations WHERE reason = 'rebalance'")
    assert raw_sql("SELECT account, bot, reason FROM allocations") == [("acc", "bot", "rebalance")]
    with store() as uow:
        assert uow.allocations.list(account="acc") == [make_allocation()]


def test_allocations_rolled_back_leave_nothing(store: Store, raw_sql) -> None:
    with store() as uow:
        uow.allocations.add(make_allocation(reason="never committed"))
    with pytest.raises(ZeroDivisionError):
        with store() as uow:
            uow.allocations.add(make_allocation(reason="failed"))
            1 / 0
    with store() as uow:
        uow.allocations.add(make_allocation(reason="rolled back"))
        uow.rollback()
        uow.allocations.add(make_allocation(reason="kept"))
        uow.commit()
    with store() as uow:
        assert [r.reason for r in uow.allocations.list(account="acc")] == ["kept"]
    assert raw_sql("SELECT reason FROM allocations") == [("kept",)]


# --- users, login sessions, invitations, login attempts ---------------------------------------------


def make_user(user_id: str = "u-1", email: str = "ann@example.com", **changes) -> User:
    fields = dict(user_id=user_id, email=email, role=Role.OPERATOR, password_hash="$argon2id$v=19$m=65536,t=3,p=4$x$y",
                  email_verified=False, created_at=T0)
    fields.update(changes)
    return User(**fields)


def make_login(session_id: str, user_id: str = "u-1", minutes: int = 0, **changes) -> LoginSession:
    fields = dict(session_id=session_id, user_id=user_id, created_at=T0 + timedelta(minutes=minutes),
                  expires_at=T0 + timedelta(days=1), address="10.0.0.7", user_agent="pytest")
    fields.update(changes)
    return LoginSession(**fields)


def make_invitation(invitation_id: str = "i-1", **changes) -> Invitation:
    fields = dict(invitation_id=invitation_id, email="new@example.com", role=Role.VIEWER, invited_by="u-1",
                  created_at=T0, expires_at=T0 + timedelta(days=7))
    fields.update(changes)
    return Invitation(**fields)


def test_users_round_trip_by_id_and_by_email_oldest_first(store: Store) -> None:
    ann = make_user(created_at=T0.astimezone(NEW_YORK), role=Role.ADMIN, email_verified=True)
    bob = make_user("u-2", "bob@example.com", created_at=T0 - timedelta(hours=1), disabled=True)
    cid = make_user("u-3", "cid@example.com")  # the same instant as ann: insertion order
    with store() as uow:
        assert [uow.users.add(user) for user in (ann, bob, cid)] == [True, True, True]
        uow.commit()
    with store() as uow:
        got = uow.users.get("u-1")
        assert got == ann and got.created_at.tzinfo == timezone.utc and got.role is Role.ADMIN
        assert uow.users.get("u-2").disabled is True and uow.users.get("u-3").email_verified is False
        assert uow.users.by_email("ANN@Example.COM") == ann
        assert uow.users.by_email("bob@example.com") == bob
        assert uow.users.get("nobody") is None and uow.users.by_email("nobody@example.com") is None
        assert [u.user_id for u in uow.users.list()] == ["u-2", "u-1", "u-3"]


def test_a_taken_email_or_id_is_refused_writing_nothing(store: Store, raw_sql) -> None:
    with store() as uow:
        assert uow.users.add(make_user()) is True
        uow.commit()
    with store() as uow:
        assert uow.users.add(make_user("u-2", "Ann@EXAMPLE.com", role=Role.ADMIN)) is False  # case-insensitive
        assert uow.users.add(make_user("u-1", "other@example.com")) is False  # the id
        # The transaction is still usable after a refusal (Postgres aborts it on an error).
        assert uow.users.add(make_user("u-3", "cid@example.com")) is True
        uow.commit()
    assert raw_sql("SELECT user_id, email, role FROM users ORDER BY user_id") == [
        ("u-1", "ann@example.com", "operator"), ("u-3", "cid@example.com", "operator")]
    with store() as uow:
        assert uow.users.by_email("ann@example.com") == make_user()


def test_users_save_changes_role_hash_and_flags_only(store: Store) -> None:
    with store() as uow:
        uow.users.add(make_user())
        uow.commit()
    changed = make_user(role=Role.ADMIN, password_hash="$argon2id$new", email_verified=True, disabled=True,
                        email="changed@example.com", created_at=T0 + timedelta(days=1))
    with store() as uow:
        uow.users.save(changed)
        with pytest.raises(LookupError):
            uow.users.save(make_user("never-added", "x@example.com"))
        uow.commit()
    with store() as uow:
        assert uow.users.get("u-1") == make_user(role=Role.ADMIN, password_hash="$argon2id$new",
                                                 email_verified=True, disabled=True)


def test_opening_beyond_the_cap_revokes_the_oldest_live_sessions(store: Store) -> None:
    now = T0 + timedelta(hours=1)
    with store() as uow:
        uow.users.add(make_user())
        uow.users.add(make_user("u-2", "bob@example.com"))
        uow.login_sessions.open(make_login("bob-1", "u-2"), max_live=3, now=now)
        assert [uow.login_sessions.open(make_login(f"s{n}", minutes=n), max_live=3, now=now) for n in (1, 2, 3)] == [
            [], [], []]
        assert uow.login_sessions.open(make_login("s4", minutes=4), max_live=3, now=now) == ["s1"]
        uow.commit()
    with store() as uow:
        first = uow.login_sessions.get("s1")
        assert first.revoked_at == now and first.revoked_reason == "session limit: oldest revoked"
        assert [s.session_id for s in uow.login_sessions.live("u-1", now=now)] == ["s2", "s3", "s4"]
        assert uow.login_sessions.open(make_login("s5", minutes=5), max_live=2, now=now) == ["s2", "s3"]
        assert [s.session_id for s in uow.login_sessions.live("u-1", now=now)] == ["s4", "s5"]
        assert [s.session_id for s in uow.login_sessions.live("u-2", now=now)] == ["bob-1"]  # another user's
        assert uow.login_sessions.get("s5") == make_login("s5", minutes=5)
        assert uow.login_sessions.get("nope") is None
        with pytest.raises(LookupError):
            uow.login_sessions.open(make_login("x", "nobody"), max_live=3, now=now)
        with pytest.raises(ValueError, match="max_live"):
            uow.login_sessions.open(make_login("y"), max_live=0, now=now)


def test_live_sessions_exclude_revoked_and_expired_and_revoke_only_live_ones(store: Store) -> None:
    now = T0 + timedelta(hours=1)
    with store() as uow:
        uow.users.add(make_user())
        uow.users.add(make_user("u-2", "bob@example.com"))
        uow.login_sessions.open(make_login("expired", expires_at=now), max_live=9, now=T0)  # live until `now`
        uow.login_sessions.open(make_login("revoked", minutes=1), max_live=9, now=now)
        uow.login_sessions.open(make_login("kept", minutes=2), max_live=9, now=now)
        uow.login_sessions.open(make_login("other", minutes=3), max_live=9, now=now)
        uow.login_sessions.open(make_login("bob", "u-2"), max_live=9, now=now)
        assert uow.login_sessions.revoke("revoked", at=now, reason="logout") is True
        assert uow.login_sessions.revoke("revoked", at=now, reason="again") is False
        assert uow.login_sessions.revoke("expired", at=now, reason="logout") is False
        assert uow.login_sessions.revoke("nope", at=now, reason="logout") is False
        uow.commit()
    with store() as uow:
        assert [s.session_id for s in uow.login_sessions.live("u-1", now=now)] == ["kept", "other"]
        assert [s.session_id for s in uow.login_sessions.live("u-1", now=T0)] == ["expired", "kept", "other"]
        revoked = uow.login_sessions.get("revoked")
        assert (revoked.revoked_at, revoked.revoked_reason) == (now, "logout") and not revoked.live(now)
        assert uow.login_sessions.get("expired").revoked_at is None
        later = now + timedelta(minutes=1)
        assert uow.login_sessions.revoke_all("u-1", at=later, reason="password changed") == 2
        assert uow.login_sessions.revoke_all("u-1", at=later, reason="again") == 0
        uow.commit()
    with store() as uow:
        assert uow.login_sessions.live("u-1", now=now) == []
        assert uow.login_sessions.get("kept").revoked_reason == "password changed"
        assert uow.login_sessions.get("revoked").revoked_reason == "logout"  # not revoked twice
        assert [s.session_id for s in uow.login_sessions.live("u-2", now=now)] == ["bob"]


def test_concurrent_logins_of_one_user_never_exceed_the_cap(store: Store) -> None:
    with store() as uow:
        uow.users.add(make_user())
        uow.commit()
    now = T0 + timedelta(minutes=1)

    def login(i: int) -> list[str]:
        with store() as uow:
            revoked = uow.login_sessions.open(make_login(f"s{i}"), max_live=3, now=now)  # all at the same instant
            time.sleep(0.02)  # widen the window between counting and committing
            uow.commit()
        return revoked

    results = run_threads(8, login)
    with store() as uow:
        live = uow.login_sessions.live("u-1", now=now)
        revoked = [s for s in (uow.login_sessions.get(f"s{i}") for i in range(8)) if s.revoked_at is not None]
    assert len(live) == 3 and len(revoked) == 5
    assert sorted(itertools.chain.from_iterable(results)) == sorted(s.session_id for s in revoked)
    assert {s.revoked_reason for s in revoked} == {"session limit: oldest revoked"}


def test_invitations_round_trip_newest_first_and_accept_once(store: Store) -> None:
    at = T0 + timedelta(hours=2)
    older = make_invitation("i-1", created_at=T0.astimezone(NEW_YORK))
    newer = make_invitation("i-2", email="admin@example.com", role=Role.ADMIN, created_at=T0 + timedelta(hours=1))
    tied = make_invitation("i-3")  # the same instant as i-1: later insertion, listed first
    with store() as uow:
        for invitation in (older, newer, tied):
            uow.invitations.add(invitation)
        uow.commit()
    with store() as uow:
        assert uow.invitations.get("i-2") == newer and uow.invitations.get("nope") is None
        assert [i.invitation_id for i in uow.invitations.list()] == ["i-2", "i-3", "i-1"]
        assert uow.invitations.accept("i-1", at=at) is True
        assert uow.invitations.accept("i-1", at=at + timedelta(seconds=1)) is False
        assert uow.invitations.accept("nope", at=at) is False
        assert uow.invitations.accept("i-2", at=at) is True  # rolled back below
        uow.commit()
        uow.invitations.accept("i-3", at=at)
    with store() as uow:
        assert uow.invitations.get("i-1").accepted_at == at
        assert uow.invitations.get("i-2").accepted_at == at
        assert uow.invitations.get("i-3").accepted_at is None  # never committed


def test_threads_racing_to_accept_one_invitation_exactly_one_wins(store: Store) -> None:
    with store() as uow:
        uow.invitations.add(make_invitation())
        uow.commit()

    def accept(i: int) -> bool:
        with store() as uow:
            accepted = uow.invitations.accept("i-1", at=T0 + timedelta(seconds=i))
            time.sleep(0.01)
            uow.commit()
        return accepted

    results = run_threads(8, accept)
    assert results.count(True) == 1
    with store() as uow:
        assert uow.invitations.get("i-1").accepted_at == T0 + timedelta(seconds=results.index(True))


def test_login_failures_are_counted_by_email_address_and_since(store: Store) -> None:
    def attempt(minutes: int, email: str, address: str, succeeded: bool = False) -> LoginAttempt:
        return LoginAttempt(ts=T0 + timedelta(minutes=minutes), email=email, address=address, succeeded=succeeded)

    with store() as uow:
        for a in (attempt(0, "ann@example.com", "10.0.0.1"), attempt(1, "ann@example.com", "10.0.0.1"),
                  attempt(2, "ann@example.com", "10.0.0.2"), attempt(3, "ann@example.com", "10.0.0.1", True),
                  attempt(1, "bob@example.com", "10.0.0.1"), attempt(5, "nobody@example.com", "10.0.0.3")):
            uow.login_attempts.add(a)
        uow.commit()
    since = T0 + timedelta(minutes=1)
    with store() as uow:
        count = uow.login_attempts.failures_since
        assert count(since=since, email="ann@example.com") == 2  # `since` itself counts; successes never
        assert count(since=T0, email="ann@example.com") == 3
        assert count(since=since, address="10.0.0.1") == 2
        assert count(since=since, email="ann@example.com", address="10.0.0.1") == 1
        assert count(since=since) == 4
        assert count(since=T0 + timedelta(minutes=6)) == 0
        assert count(since=T0.astimezone(NEW_YORK), email="bob@example.com") == 1
        assert count(since=T0, email="ANN@example.com") == 0  # stored lower-cased: matched as given
