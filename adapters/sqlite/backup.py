"""Backups of the SQLite store (the BackupEngine port of application/golive/backups.py).

The snapshot is one read transaction on the live file: in WAL mode the bots' writers never
wait for it, and everything it reads (the manifest's rows, then sqlite3's online backup of the
whole database in one step from the same connection) is the same committed state. The backup
file is a plain SQLite database in rollback-journal mode, one self-contained file.

A restore copies the backup into a temporary file that is removed afterwards; the backup file
itself is only read.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from adapters.sqlite.connection import BUSY_TIMEOUT_SECONDS
from adapters.sqlite.errors import translate_errors
from application.golive.backup_manifest import BackupError
from domain.errors import StoreNotFound

_TABLES = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
           " ORDER BY name")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _View:
    """Reads of one SQLite connection inside one transaction (the caller holds it open)."""

    def __init__(self, connection: sqlite3.Connection, *, where: str, damage: list[str] | None = None) -> None:
        self._connection = connection
        self._where = where
        self._damage = damage or []

    def schema_version(self) -> int:
        try:
            exists = self._connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
            if exists is None:
                return 0
            return int(self._connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{self._where}: its schema version cannot be read: {exc}") from None

    def tables(self) -> list[str]:
        try:
            return [row[0] for row in self._connection.execute(_TABLES)]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{self._where}: its tables cannot be listed: {exc}") from None

    def rows(self, table: str) -> Iterator[tuple[str, bytes]]:
        try:
            info = self._connection.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
            keys = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            # A table without a declared key is ordered by its rowid (the order rows went in).
            order = ", ".join(map(_quoted, keys)) if keys else "rowid"
            select = ", ".join(map(_quoted, keys)) if keys else "rowid"
            cursor = self._connection.execute(f"SELECT {select}, * FROM {_quoted(table)} ORDER BY {order}")
            width = len(keys) if keys else 1
            names = keys or ["rowid"]
            for row in cursor:
                key = ", ".join(f"{name}={value!r}" for name, value in zip(names, row[:width], strict=True))
                # repr of the values (int, float, str, bytes, None) is exact and stable.
                yield key, repr(tuple(row[width:])).encode("utf-8")
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"table {table} of {self._where} cannot be read: {exc}") from None

    def damage(self) -> list[str]:
        return list(self._damage)


class _Snapshot(_View):
    def dump_to(self, path: Path) -> None:
        try:
            with closing(sqlite3.connect(path, isolation_level=None)) as target:
                # One step (pages=-1): the whole file from this connection's open read
                # transaction, the very state the manifest was computed from.
                self._connection.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        except sqlite3.Error as exc:
            raise BackupError(f"cannot write the backup to {path}: {exc}") from None


class SqliteBackupEngine:
    engine = "sqlite"

    def __init__(self, *, path: Path, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        self._path = Path(path)
        self._timeout = busy_timeout_seconds
        self.location = str(self._path)

    @contextmanager
    def snapshot(self) -> Iterator[_Snapshot]:
        if not self._path.is_file():
            raise StoreNotFound(f"there is no store at {self._path}")
        with translate_errors(self._path):
            connection = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
        with closing(connection):
            with translate_errors(self._path):
                connection.execute("PRAGMA query_only = ON")  # a backup never writes the live store
                connection.execute("BEGIN")
                connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
            yield _Snapshot(connection, where=f"the SQLite store {self._path}")

    @contextmanager
    def restore(self, path: Path) -> Iterator[_View]:
        with tempfile.TemporaryDirectory(prefix="quantshift-verify-") as scratch:
            copy, damage = _restored(path, scratch=Path(scratch) / "restored.db")
            with closing(copy):
                yield _View(copy, where=f"the restored copy of {path}", damage=damage)


def _restored(path: Path, *, scratch: Path) -> tuple[sqlite3.Connection, list[str]]:
    """`path` copied into `scratch` and checked; the copy's connection is in a read transaction.

    A plain copy of the bytes, not sqlite3's backup API: that one stops at the first damaged
    page, while the copy lets every table be read on its own, so the report names the tables
    a damaged (say truncated) backup loses."""
    try:
        shutil.copyfile(path, scratch)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    copy = sqlite3.connect(scratch, isolation_level=None)
    try:
        copy.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # a file that is no database fails here
    except sqlite3.DatabaseError as exc:
        copy.close()
        raise BackupError(f"{path} does not restore as an SQLite database: {exc}") from None
    try:
        found = [row[0] for row in copy.execute("PRAGMA integrity_check(20)")]
    except sqlite3.DatabaseError as exc:
        found = [str(exc)]  # the tables are still read one by one: the report names the lost ones
    except BaseException:
        copy.close()
        raise
    copy.execute("BEGIN")
    return copy, ([] if found == ["ok"] else [f"{path} fails SQLite's integrity check: " + "; ".join(found)])
