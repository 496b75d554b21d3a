"""Opening a connection with the store's settings, and the statement runner the repositories use."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

import cattrs

from adapters.sqlite.errors import translate_errors
from domain.errors import StoreNotFound

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 10.0

Params = Sequence[object]


def open_connection(
    path: Path, *, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS, create: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode: the unit of work issues BEGIN/COMMIT itself.

    A writer waits up to `busy_timeout_seconds` for another writer's lock; past that
    the store counts as unavailable. `create=False` opens an existing file only (neither
    the file nor its directory is made).

    Raises StoreUnavailable when the file cannot be opened or is not a database, and
    StoreNotFound when `create` is False and there is no file.
    """
    if not create and not path.exists():
        raise StoreNotFound(f"there is no store at {path}")
    with translate_errors(path):
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        # mode=rw: the file must exist, even if it disappears after the check above.
        target = path if create else f"file:{quote(str(path.absolute()))}?mode=rw"
        # check_same_thread=False only so that SqliteStore.close() can close every
        # thread's connection; each connection is still used by one thread only.
        connection = sqlite3.connect(
            target, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False, uri=not create
        )
        try:
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
            # The first statement that reads the file: a non-database fails here.
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite store %s runs in %s journal mode, not WAL", path, mode)
            # FULL: a committed halt or fill survives a power cut, not only a crash.
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            connection.close()
            raise
    return connection


class Statements:
    """Runs SQL for the repositories of one unit of work.

    `connection_for_statement` is the unit of work's guard: it refuses statements
    outside the `with` block and begins a new transaction after a commit.
    """

    def __init__(
        self,
        *,
        path: Path,
        converter: cattrs.Converter,
        connection_for_statement: Callable[[], sqlite3.Connection],
    ) -> None:
        self.path = path
        self.converter = converter
        self._connection_for_statement = connection_for_statement

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        connection = self._connection_for_statement()
        with translate_errors(self.path):
            return connection.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        connection = self._connection_for_statement()
        with translate_errors(self.path):
            connection.executemany(sql, rows)

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        connection = self._connection_for_statement()
        with translate_errors(self.path):
            return connection.execute(sql, params).fetchone()

    def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        connection = self._connection_for_statement()
        with translate_errors(self.path):
            return connection.execute(sql, params).fetchall()


def where(conditions: Iterable[tuple[str, object | None]]) -> tuple[str, list[object]]:
    """A WHERE clause of `column = ?` for every condition whose value is not None."""
    clauses: list[str] = []
    params: list[object] = []
    for column, value in conditions:
        if value is not None:
            clauses.append(column)
            params.append(value)
    if not clauses:
        return "", params
    return " WHERE " + " AND ".join(clauses), params
