"""The SQLite store: connections, schema migrations, and units of work.

Nothing happens at construction: the directory, the file and the schema are made on
first use. The store is also a UnitOfWorkFactory: `store()` is a new unit of work.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from adapters.sqlite import migrator
from adapters.sqlite.connection import BUSY_TIMEOUT_SECONDS, open_connection
from adapters.sqlite.converter import make_store_converter
from adapters.sqlite.errors import translate_errors
from adapters.sqlite.unit_of_work import SqliteUnitOfWork
from domain.errors import ConfigurationError


def _utc_now() -> datetime:
    # The wall clock of audit recorded_at and migration applied_at; adapters may read it.
    return datetime.now(timezone.utc)


class SqliteStore:
    def __init__(
        self,
        *,
        path: Path,
        wall_clock: Callable[[], datetime] = _utc_now,
        busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS,
        create: bool = True,
    ) -> None:
        """`create=False`: for commands that only read; a missing file is StoreNotFound
        (a mistyped path), never a new empty store."""
        self._path = Path(path)
        self._create = create
        self._busy_timeout_seconds = busy_timeout_seconds
        self._wall_clock = wall_clock
        self._converter = make_store_converter()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._schema_checked = False

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"SqliteStore(path={str(self._path)!r})"

    def unit_of_work(self, *, read_only: bool = False) -> SqliteUnitOfWork:
        """A new unit of work; cheap, nothing touches the file before `with`."""
        return SqliteUnitOfWork(
            store=self,
            path=self._path,
            converter=self._converter,
            wall_clock=self._wall_clock,
            read_only=read_only,
        )

    def __call__(self) -> SqliteUnitOfWork:
        return self.unit_of_work()

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty when up to date)."""
        connection = self._thread_connection()
        with translate_errors(self._path):
            return migrator.apply_pending(connection, now=self._wall_clock)

    def schema_version(self) -> int:
        connection = self._thread_connection()
        with translate_errors(self._path):
            return migrator.current_version(connection)

    def latest_version(self) -> int:
        """The newest schema version this code knows."""
        return migrator.latest_version()

    def close(self) -> None:
        """Close every thread's connection; the store reopens lazily if used again."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for connection in connections:
            connection.close()

    # The methods below are for SqliteUnitOfWork only.

    def _ensure_schema(self) -> None:
        """Once per store object: migrate an embedded store that is behind the code."""
        if self._schema_checked:
            return
        with self._schema_lock:
            if self._schema_checked:
                return
            latest = migrator.latest_version()
            current = self.schema_version()
            if current > latest:
                raise ConfigurationError(
                    f"SQLite store {self._path} has schema version {current}, newer than this code ({latest})"
                )
            if current < latest:
                self.migrate()
            self._schema_checked = True

    def _thread_connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = open_connection(self._path, busy_timeout_seconds=self._busy_timeout_seconds,
                                         create=self._create)
            with self._connections_lock:
                self._local.connection = connection
                self._connections.append(connection)
        return connection

    def _discard_thread_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        self._local.connection = None
        with self._connections_lock:
            if connection in self._connections:
                self._connections.remove(connection)
        try:
            connection.close()
        except sqlite3.Error:
            pass  # already broken; dropping it is the point
