"""The Postgres store: a connection pool, schema migrations, and units of work.

Nothing happens at construction beyond reading the URL: the pool opens on first use
(never at import). The store is also a UnitOfWorkFactory: `store()` is a new unit of work.

`schema`, when given, is every connection's search_path (created if missing), so several
stores, one per test say, share a database without seeing each other's tables.
"""

from __future__ import annotations

import math
import threading
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from adapters.postgres import migrator
from adapters.postgres.connection import prepare_session
from adapters.postgres.converter import make_store_converter
from adapters.postgres.errors import Scrubber, describe, translate_errors
from adapters.postgres.unit_of_work import PostgresUnitOfWork
from domain.errors import ConfigurationError, StoreNotFound

_MAX_IDENTIFIER = 63  # NAMEDATALEN - 1

Pool = psycopg_pool.ConnectionPool[Any]


class _LastConnectError:
    """The newest connection failure the pool saw, for a StoreUnavailable that says why."""

    def __init__(self) -> None:
        self.error: BaseException | None = None

    def __call__(self) -> BaseException | None:
        return self.error


def _recording_connection_class(last: _LastConnectError) -> type[psycopg.Connection[Any]]:
    class RecordingConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> RecordingConnection:  # type: ignore[override]
            try:
                connection = super().connect(conninfo, **kwargs)
            except psycopg.Error as error:
                last.error = error
                raise
            last.error = None
            return connection  # type: ignore[return-value]

    return RecordingConnection


class PostgresStore:
    def __init__(
        self,
        *,
        url: str,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 5,
        connect_timeout_seconds: float = 5.0,
        create: bool = True,
    ) -> None:
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            # The message of a malformed URL may quote it, password and all.
            raise ConfigurationError("the Postgres URL cannot be parsed (check its syntax)") from None
        if schema is not None and not (0 < len(schema.encode()) <= _MAX_IDENTIFIER):
            raise ConfigurationError(f"Postgres schema name {schema!r} must have 1 to {_MAX_IDENTIFIER} bytes")
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ConfigurationError(f"Postgres pool sizes need 0 <= min_size <= max_size, max_size >= 1 "
                                     f"(got {min_size}, {max_size})")
        if not (math.isfinite(connect_timeout_seconds) and connect_timeout_seconds > 0):
            raise ConfigurationError(f"connect_timeout_seconds must be positive, got {connect_timeout_seconds!r}")
        self._url = url
        self._schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = float(connect_timeout_seconds)
        self._location = describe(params, schema=schema)
        self._scrub = Scrubber(params.get("password"))
        self._converter = make_store_converter()
        self._last_connect_error = _LastConnectError()
        self._connection_class = _recording_connection_class(self._last_connect_error)
        self._connect_kwargs: dict[str, Any] = {
            # libpq counts whole seconds (and treats 1 as 2).
            "connect_timeout": max(1, math.ceil(self._timeout)),
            "autocommit": False,
            "row_factory": dict_row,
            # Names the store's connections in pg_stat_activity (and its schema, when it has one).
            "application_name": f"quantshift:{schema}"[:63] if schema else "quantshift",
        }
        self._pool: Pool | None = None
        self._pool_lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._schema_checked = False
        self._create = create  # False (read commands): an empty schema is StoreNotFound, never migrated
        self._local = threading.local()

    @property
    def location(self) -> str:
        """postgresql://user@host:port/dbname (and the schema), never the password."""
        return self._location

    @property
    def schema(self) -> str | None:
        """The schema every connection works in (None: the server's default search_path)."""
        return self._schema

    @property
    def path(self) -> str:
        """The same as `location`, for callers that print a SQLite store's path."""
        return self._location

    def __repr__(self) -> str:
        return f"PostgresStore(location={self._location!r})"

    def unit_of_work(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        """A new unit of work; cheap, nothing touches the server before `with`."""
        return PostgresUnitOfWork(store=self, converter=self._converter, read_only=read_only)

    def __call__(self) -> PostgresUnitOfWork:
        return self.unit_of_work()

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty when up to date)."""
        if getattr(self._local, "open", False):
            raise RuntimeError("migrate() cannot run inside an open unit of work on this thread")
        pool, connection = self._checkout(read_only=False)
        try:
            with self._translate_errors():
                return migrator.apply_pending(connection)
        finally:
            self._checkin(pool, connection)

    def schema_version(self) -> int:
        pool, connection = self._checkout(read_only=True)
        try:
            with self._translate_errors():
                return migrator.current_version(connection)
        finally:
            self._checkin(pool, connection)

    def latest_version(self) -> int:
        """The newest schema version this code knows."""
        return migrator.latest_version()

    def close(self) -> None:
        """Close the pool; the store reopens it lazily if used again."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    # The methods below are for PostgresUnitOfWork only.

    def _translate_errors(self) -> AbstractContextManager[None]:
        return translate_errors(
            location=self._location, scrub=self._scrub, last_connect_error=self._last_connect_error
        )

    def _ensure_schema(self) -> None:
        """Once per store object: migrate a schema that is behind the code; refuse a newer one."""
        if self._schema_checked:
            return
        with self._schema_lock:
            if self._schema_checked:
                return
            latest = migrator.latest_version()
            current = self.schema_version()
            if current > latest:
                raise ConfigurationError(
                    f"Postgres store {self._location} has schema version {current}, newer than this code ({latest})"
                )
            if current == 0 and not self._create:
                raise StoreNotFound(f"there is no store at {self._location}")
            if current < latest:
                self.migrate()
            self._schema_checked = True

    def _claim_thread(self) -> None:
        if getattr(self._local, "open", False):
            raise RuntimeError("a unit of work is already open on this thread")
        self._local.open = True

    def _release_thread(self) -> None:
        self._local.open = False

    def _checkout(self, *, read_only: bool) -> tuple[Pool, psycopg.Connection[Any]]:
        """A pooled connection (and its pool), idle, in the asked mode. Raises StoreUnavailable."""
        pool = self._open_pool()
        with self._translate_errors():
            try:
                connection = pool.getconn(timeout=self._timeout)
            except psycopg_pool.PoolTimeout:
                # The server went away: drop the pool, whose reconnect back-off grows to
                # minutes, so the next call probes directly: it fails at once while the
                # server is down and succeeds as soon as it is back.
                self._discard_pool(pool)
                raise
            try:
                connection.read_only = read_only
            except BaseException:
                pool.putconn(connection)
                raise
        return pool, connection

    def _checkin(self, pool: Pool, connection: psycopg.Connection[Any]) -> None:
        """Give a connection back: rolled back, writable again; a broken one the pool discards."""
        if not connection.closed:
            try:
                connection.rollback()
                connection.read_only = False
            except psycopg.Error:
                connection.close()  # in an unknown state: never hand it to anyone else
        # The pool it came from, even if close() replaced or closed it meanwhile: a closed
        # pool closes the connection.
        pool.putconn(connection)

    def _discard_pool(self, pool: Pool) -> None:
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        threading.Thread(target=pool.close, kwargs={"timeout": 1.0}, daemon=True).start()

    def _open_pool(self) -> Pool:
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is not None:
                return self._pool
            # One direct connection first: a server that is down or refuses us fails at once
            # with libpq's reason (the pool would only retry until its timeout), and the
            # schema is created before the pool's connections set their search_path.
            with self._translate_errors():
                probe = self._connection_class.connect(self._url, **self._connect_kwargs)
                try:
                    prepare_session(probe, schema=self._schema)
                finally:
                    probe.close()
            pool = psycopg_pool.ConnectionPool(
                self._url,
                connection_class=self._connection_class,
                kwargs=self._connect_kwargs,
                min_size=self._min_size,
                max_size=self._max_size,
                open=False,
                configure=self._configure,
                check=psycopg_pool.ConnectionPool.check_connection,
                timeout=self._timeout,
                name=f"quantshift-{self._schema or 'store'}",
            )
            pool.open(wait=False)
            self._pool = pool
            return pool

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        prepare_session(connection, schema=self._schema)
