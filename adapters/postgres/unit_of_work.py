"""One Postgres transaction over every repository (the UnitOfWork port).

A unit of work borrows one pooled connection for its `with` block. Autocommit is off:
psycopg opens a transaction at the first statement (again after a commit), and leaving
the block without commit() rolls it back, as does an exception. A read-only unit of work
runs READ ONLY transactions: a write in it is refused by the server.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING, Any, Self

import cattrs
import psycopg
import psycopg_pool
from psycopg.pq import TransactionStatus

from adapters.postgres.connection import Statements
from adapters.postgres.repositories import (
    PostgresFillCorrections,
    PostgresVenueCharges,
    PostgresAccounts,
    PostgresAllocations,
    PostgresBotRuns,
    PostgresSettings,
    PostgresSnapshots,
    PostgresVenueHealth,
    PostgresAuditLog,
    PostgresControl,
    PostgresEquity,
    PostgresFills,
    PostgresHeartbeats,
    PostgresInstances,
    PostgresLeases,
    PostgresOrders,
    PostgresPositions,
    PostgresSessions,
    PostgresTrades,
    PostgresStops,
    PostgresInvitations,
    PostgresLoginAttempts,
    PostgresLoginSessions,
    PostgresUsers,
)
from domain.errors import StoreUnavailable

if TYPE_CHECKING:
    from types import TracebackType

    from adapters.postgres.store import PostgresStore

log = logging.getLogger(__name__)


class _Phase(enum.Enum):
    NEW = "new"
    ACTIVE = "active"
    DONE = "done"


class PostgresUnitOfWork:
    def __init__(self, *, store: PostgresStore, converter: cattrs.Converter, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._phase = _Phase.NEW
        self._connection: psycopg.Connection[Any] | None = None
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        db = Statements(
            converter=converter,
            connection_for_statement=self._active_connection,
            translate_errors=store._translate_errors,
        )
        self.orders = PostgresOrders(db)
        self.fills = PostgresFills(db)
        self.positions = PostgresPositions(db)
        self.accounts = PostgresAccounts(db)
        self.trades = PostgresTrades(db)
        self.heartbeats = PostgresHeartbeats(db)
        self.control = PostgresControl(db)
        self.audit = PostgresAuditLog(db)
        self.equity = PostgresEquity(db)
        self.sessions = PostgresSessions(db)
        self.leases = PostgresLeases(db)
        self.instances = PostgresInstances(db)
        self.stops = PostgresStops(db)
        self.allocations = PostgresAllocations(db)
        self.settings = PostgresSettings(db)
        self.bot_runs = PostgresBotRuns(db)
        self.snapshots = PostgresSnapshots(db)
        self.venue_health = PostgresVenueHealth(db)
        self.users = PostgresUsers(db)
        self.login_sessions = PostgresLoginSessions(db)
        self.invitations = PostgresInvitations(db)
        self.login_attempts = PostgresLoginAttempts(db)
        self.fill_corrections = PostgresFillCorrections(db)
        self.venue_charges = PostgresVenueCharges(db)

    @property
    def read_only(self) -> bool:
        return self._read_only

    def __enter__(self) -> Self:
        if self._phase is not _Phase.NEW:
            raise RuntimeError("a PostgresUnitOfWork is used in one `with` block only; ask the store for a new one")
        self._store._ensure_schema()
        # As on SQLite (one connection per thread): a nested unit of work would be a second
        # transaction that can wait forever on the outer one's locks. Refuse it.
        self._store._claim_thread()
        try:
            self._pool, self._connection = self._store._checkout(read_only=self._read_only)
        except BaseException:
            self._store._release_thread()
            raise
        self._phase = _Phase.ACTIVE
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._phase = _Phase.DONE
        connection, self._connection = self._connection, None
        pool, self._pool = self._pool, None
        try:
            if connection is not None:
                self._rollback_if_open(connection)
        except StoreUnavailable:
            if exc is None:
                raise
            # The original error says more than the failed rollback; the server drops the
            # transaction with the broken connection anyway.
            log.warning("rollback failed on %s while handling %r", self._store.location, exc)
        finally:
            if pool is not None and connection is not None:
                self._store._checkin(pool, connection)
            self._store._release_thread()

    def commit(self) -> None:
        connection = self._active_connection()
        with self._store._translate_errors():
            connection.commit()

    def rollback(self) -> None:
        self._rollback_if_open(self._active_connection())

    def _rollback_if_open(self, connection: psycopg.Connection[Any]) -> None:
        if connection.closed or connection.info.transaction_status is TransactionStatus.IDLE:
            return
        with self._store._translate_errors():
            connection.rollback()

    def _active_connection(self) -> psycopg.Connection[Any]:
        if self._phase is not _Phase.ACTIVE or self._connection is None:
            raise RuntimeError("use the unit of work inside its `with` block")
        return self._connection
