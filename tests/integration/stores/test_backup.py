"""Backups on both engines (application/golive/backups.py with adapters/sqlite/backup.py and
adapters/postgres/backup.py): taken while the store is written, verified by a restore into a
scratch store, and refused, naming the file and what is wrong, when damaged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.postgres.backup import PostgresBackupEngine
from adapters.sqlite import SqliteStore
from adapters.sqlite.backup import SqliteBackupEngine
from application.golive.backup_manifest import read_manifest
from application.golive.backups import backup_item, take_backup, verify_backup
from application.records import AuditEntry, AuditKind
from tests.fakes.clock import FixedClock
from tests.integration.conftest import postgres_test_url
from tests.integration.stores.test_store_contract import T0, make_order

CLOCK_START = T0 + timedelta(days=400)


def engine_of(store) -> SqliteBackupEngine | PostgresBackupEngine:
    if isinstance(store, SqliteStore):
        return SqliteBackupEngine(path=store.path)
    return PostgresBackupEngine(url=postgres_test_url(), schema=store.schema)


def scratch_databases() -> set[str]:
    with psycopg.connect(postgres_test_url(), autocommit=True) as connection:
        return {row[0] for row in connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'quantshift\\_verify\\_%'")}


@pytest.fixture
def filled(store):
    """The store with orders and audit entries in it."""
    store.migrate()
    with store() as uow:
        for i in range(40):
            uow.orders.add(make_order(f"o-{i:03d}", reason=f"marker-{i:03d}-" + "x" * 40))
        for i in range(30):
            uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ORDER, message=f"order {i}", data={"i": i}))
        uow.commit()
    return store


def backup(store, tmp_path: Path, clock: FixedClock, engine=None, name: str = "qs.backup"):
    return take_backup(engine=engine or engine_of(store), store=store, clock=clock, to=tmp_path / name)


def verify(store, path: Path, clock: FixedClock, engine=None):
    return verify_backup(engine=engine or engine_of(store), store=store, clock=clock, path=path,
                         store_schema_version=store.schema_version())


def backup_entries(store) -> list[AuditEntry]:
    with store() as uow:
        return uow.audit.list(kind="backup", limit=1000)


def test_a_store_with_records_backs_up_and_verifies(filled, tmp_path) -> None:
    clock = FixedClock(CLOCK_START)
    before = scratch_databases() if not isinstance(filled, SqliteStore) else set()
    taken = backup(filled, tmp_path, clock)
    manifest = read_manifest(taken.path)
    assert manifest.table_rows()["orders"] == 40 and manifest.table_rows()["audit_log"] == 30
    assert manifest.schema_version == filled.schema_version() and manifest.sha256 == taken.sha256
    clock.advance(timedelta(minutes=5))
    verified = verify(filled, taken.path, clock)
    assert verified.passed, verified.detail
    assert verified.tables == manifest.table_rows()
    entries = backup_entries(filled)
    assert [e.data for e in entries] == [
        {"event": "taken", "path": str(taken.path), "engine": engine_of(filled).engine,
         "tables": manifest.table_rows(), "sha256": taken.sha256, "detail": taken.detail},
        {"event": "verified", "path": str(taken.path), "engine": taken.engine, "tables": manifest.table_rows(),
         "sha256": taken.sha256, "passed": True, "detail": verified.detail},
    ]
    assert [e.account for e in entries] == ["", ""] and entries[1].ts == CLOCK_START + timedelta(minutes=5)
    with filled() as uow:
        assert uow.orders.count(account="acc") == 40  # the live store: only the two audit entries added
        assert backup_item(uow, now=clock.now()).passed
    if not isinstance(filled, SqliteStore):
        assert scratch_databases() <= before, "the scratch database was not dropped"


class RowChangedInTheCopy:
    """The real engine, but the restored copy's order o-007 reads differently (a damaged copy)."""

    def __init__(self, real) -> None:
        self.real = real
        self.engine = real.engine
        self.location = real.location

    def snapshot(self):
        return self.real.snapshot()

    @contextmanager
    def restore(self, path: Path) -> Iterator[object]:
        with self.real.restore(path) as copy:
            yield _Changed(copy)


class _Changed:
    def __init__(self, copy) -> None:
        self._copy = copy

    def __getattr__(self, name: str):
        return getattr(self._copy, name)

    def rows(self, table: str):
        for key, row in self._copy.rows(table):
            yield key, (row.replace(b"marker-007", b"marker-70") if table == "orders" else row)


def test_a_row_changed_in_the_restored_copy_fails_naming_table_and_row(filled, tmp_path) -> None:
    clock = FixedClock(CLOCK_START)
    taken = backup(filled, tmp_path, clock)
    result = verify(filled, taken.path, clock, engine=RowChangedInTheCopy(engine_of(filled)))
    assert not result.passed
    assert result.detail == "table orders: row 8 (client_order_id='o-007') differs"
    assert backup_entries(filled)[-1].data["passed"] is False
    with filled() as uow:
        assert not backup_item(uow, now=clock.now()).passed


def flip_a_byte(path: Path, *, marker: bytes | None) -> None:
    data = bytearray(path.read_bytes())
    # In the SQLite file the order's text is stored as is; the Postgres dump compresses each
    # table's data, so a byte near the end (in the last tables' data) is flipped there.
    at = data.find(marker) + 3 if marker and data.find(marker) >= 0 else len(data) - 200
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["byte flipped", "truncated"])
def test_a_damaged_backup_fails_naming_the_file(filled, tmp_path, damage) -> None:
    clock = FixedClock(CLOCK_START)
    taken = backup(filled, tmp_path, clock)
    if damage == "byte flipped":
        flip_a_byte(taken.path, marker=b"marker-012" if isinstance(filled, SqliteStore) else None)
    else:
        taken.path.write_bytes(taken.path.read_bytes()[: -taken.path.stat().st_size // 3])
    result = verify(filled, taken.path, clock)
    assert not result.passed
    assert result.detail.startswith(f"{taken.path}: its sha256 "), result.detail
    if damage == "byte flipped" and isinstance(filled, SqliteStore):
        assert "table orders: row 13 (client_order_id='o-012') differs" in result.detail
    else:
        assert "table" in result.detail  # the table that was lost, or that none could be compared
    assert backup_entries(filled)[-1].data["passed"] is False


def test_a_missing_or_foreign_file_is_refused_with_what_is_wrong(store, tmp_path) -> None:
    store.migrate()
    clock = FixedClock(CLOCK_START)
    missing = verify(store, tmp_path / "nowhere.db", clock)
    assert (missing.passed, missing.detail) == (False, f"there is no backup file at {tmp_path / 'nowhere.db'}")
    foreign = tmp_path / "photo.jpg"
    foreign.write_bytes(b"\xff\xd8\xff\xe0 not a backup")
    result = verify(store, foreign, clock)
    assert result.detail == (f"{foreign} has no manifest beside it (photo.jpg.manifest.json): not a QuantShift "
                             "backup, or its manifest was moved away")
    (tmp_path / "photo.jpg.manifest.json").write_text('{"some": "json"}')
    assert "is not a QuantShift backup manifest" in verify(store, foreign, clock).detail


class WritesDuringTheBackup:
    """The real engine; while its snapshot is open (before the manifest is read, and again before
    the dump), it waits until the writer has committed more rows, so the writes certainly fall
    inside the backup's window."""

    def __init__(self, real, *, written) -> None:
        self.real = real
        self.engine = real.engine
        self.location = real.location
        self.written = written

    def restore(self, path: Path):
        return self.real.restore(path)

    @contextmanager
    def snapshot(self):
        with self.real.snapshot() as snapshot:
            self.written.wait_for_more(3)
            yield _DumpAfterMoreWrites(snapshot, self.written)


class _DumpAfterMoreWrites:
    def __init__(self, snapshot, written) -> None:
        self._snapshot = snapshot
        self._written = written

    def __getattr__(self, name: str):
        return getattr(self._snapshot, name)

    def dump_to(self, path: Path) -> None:
        self._written.wait_for_more(3)
        self._snapshot.dump_to(path)


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self._changed = threading.Condition()

    def add(self) -> None:
        with self._changed:
            self.value += 1
            self._changed.notify_all()

    def wait_for_more(self, count: int) -> None:
        with self._changed:
            target = self.value + count
            assert self._changed.wait_for(lambda: self.value >= target, timeout=30), "the writer waited for the backup"


def test_a_backup_while_another_connection_writes_stays_consistent(filled, reopen_store, tmp_path) -> None:
    """Each of the writer's transactions adds an order and an audit entry: a consistent backup
    holds as many of one as of the other, and its dump agrees with its manifest."""
    writer_store = reopen_store()
    written, stop = Counter(), threading.Event()

    def write() -> None:
        i = 0
        while not stop.is_set():
            with writer_store() as uow:
                uow.orders.add(make_order(f"w-{i:05d}"))
                uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ORDER, message=f"written {i}"))
                uow.commit()
            written.add()
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        written.wait_for_more(2)
        taken = backup(filled, tmp_path, FixedClock(CLOCK_START),
                       engine=WritesDuringTheBackup(engine_of(filled), written=written))
    finally:
        stop.set()
        writer.join(timeout=30)
    rows = read_manifest(taken.path).table_rows()
    assert rows["orders"] - 40 == rows["audit_log"] - 30 > 0
    with filled() as uow:
        assert uow.orders.count(account="acc") >= rows["orders"] + 6  # the writes the backup waited for
    result = verify(filled, taken.path, FixedClock(CLOCK_START))
    assert result.passed, result.detail
