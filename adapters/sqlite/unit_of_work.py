"""One SQLite transaction over every repository (the UnitOfWork port).

A writing unit of work takes the write lock at __enter__ (BEGIN IMMEDIATE), so two
writers serialise up front instead of one failing half way; WAL lets readers through.
A read-only one uses a deferred BEGIN and never blocks on writers.
"""

from __future__ import annotations

import enum
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

import cattrs

from adapters.sqlite.connection import Statements
from adapters.sqlite.errors import translate_errors
from adapters.sqlite.repositories import (
    SqliteFillCorrections,
    SqliteVenueCharges,
    SqliteAccounts,
    SqliteAllocations,
    SqliteBotRuns,
    SqliteSettings,
    SqliteSnapshots,
    SqliteVenueHealth,
    SqliteAuditLog,
    SqliteControl,
    SqliteEquity,
    SqliteFills,
    SqliteHeartbeats,
    SqliteInstances,
    SqliteLeases,
    SqliteOrders,
    SqlitePositions,
    SqliteSessions,
    SqliteTrades,
    SqliteStops,
    SqliteInvitations,
    SqliteLoginAttempts,
    SqliteLoginSessions,
    SqliteUsers,
)
from domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from adapters.sqlite.store import SqliteStore

log = logging.getLogger(__name__)


class _Phase(enum.Enum):
    NEW = "new"
    ACTIVE = "active"
    DONE = "done"


class SqliteUnitOfWork:
    def __init__(
        self,
        *,
        store: SqliteStore,
        path: Path,
        converter: cattrs.Converter,
        wall_clock: Callable[[], datetime],
        read_only: bool = False,
    ) -> None:
        self._store = store
        self._path = path
        self._read_only = read_only
        self._phase = _Phase.NEW
        self._connection: sqlite3.Connection | None = None
        db = Statements(path=path, converter=converter, connection_for_statement=self._connection_for_statement)
        self.orders = SqliteOrders(db)
        self.fills = SqliteFills(db)
        self.positions = SqlitePositions(db)
        self.accounts = SqliteAccounts(db)
        self.trades = SqliteTrades(db)
        self.heartbeats = SqliteHeartbeats(db)
        self.control = SqliteControl(db)
        self.audit = SqliteAuditLog(db, wall_clock=wall_clock)
        self.equity = SqliteEquity(db)
        self.sessions = SqliteSessions(db)
        self.leases = SqliteLeases(db, wall_clock=wall_clock)
        self.instances = SqliteInstances(db)
        self.stops = SqliteStops(db)
        self.allocations = SqliteAllocations(db)
        self.settings = SqliteSettings(db)
        self.bot_runs = SqliteBotRuns(db)
        self.snapshots = SqliteSnapshots(db)
        self.venue_health = SqliteVenueHealth(db)
        self.users = SqliteUsers(db)
        self.login_sessions = SqliteLoginSessions(db)
        self.invitations = SqliteInvitations(db)
        self.login_attempts = SqliteLoginAttempts(db)
        self.fill_corrections = SqliteFillCorrections(db)
        self.venue_charges = SqliteVenueCharges(db)

    @property
    def read_only(self) -> bool:
        return self._read_only

    def __enter__(self) -> Self:
        if self._phase is not _Phase.NEW:
            raise RuntimeError("a SqliteUnitOfWork is used in one `with` block only; ask the store for a new one")
        self._store._ensure_schema()
        connection = self._store._thread_connection()
        if connection.in_transaction:
            # One connection per thread: a nested unit of work would share (and commit)
            # the outer transaction. Refuse rather than blur the boundaries.
            raise RuntimeError("a unit of work is already open on this thread")
        self._connection = connection
        self._begin()
        self._phase = _Phase.ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._phase = _Phase.DONE
        try:
            self._rollback_if_open()
        except StoreUnavailable:
            self._store._discard_thread_connection()
            if exc is None:
                raise
            # The original error says more than the failed rollback; SQLite drops the
            # transaction with the connection anyway.
            log.warning("rollback failed on %s while handling %r", self._path, exc)
        if isinstance(exc, StoreUnavailable):
            # A broken connection (I/O error, file replaced) is reopened next time.
            self._store._discard_thread_connection()

    def commit(self) -> None:
        connection = self._active_connection()
        if connection.in_transaction:
            with translate_errors(self._path):
                connection.execute("COMMIT")

    def rollback(self) -> None:
        self._active_connection()
        self._rollback_if_open()

    def _begin(self) -> None:
        assert self._connection is not None
        with translate_errors(self._path):
            self._connection.execute("BEGIN" if self._read_only else "BEGIN IMMEDIATE")

    def _rollback_if_open(self) -> None:
        connection = self._connection
        if connection is not None and connection.in_transaction:
            with translate_errors(self._path):
                connection.execute("ROLLBACK")

    def _active_connection(self) -> sqlite3.Connection:
        if self._phase is not _Phase.ACTIVE or self._connection is None:
            raise RuntimeError("use the unit of work inside its `with` block")
        return self._connection

    def _connection_for_statement(self) -> sqlite3.Connection:
        connection = self._active_connection()
        if not connection.in_transaction:
            # After commit() or rollback() the next statement opens a new transaction,
            # so nothing ever runs in autocommit by accident; it is rolled back at exit
            # unless committed again.
            self._begin()
        return connection
