"""Session settings of every connection, and the statement runner the repositories use."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import cattrs
import psycopg
from psycopg import sql

Params = Sequence[object]
Row = dict[str, Any]

# Advisory lock classes (first key of the two-key form); the second key is the schema's hash,
# so stores in different schemas of one database never wait for each other.
LOCK_CREATE_SCHEMA = 0x51530000
LOCK_MIGRATE = 0x51530001
LOCK_SIMULATION_ACCOUNT = 0x51530002
LOCK_CONTROL = 0x51530003  # the trading switch: shared by each release, exclusive by each change

SCHEMA_KEY = "hashtext(COALESCE(current_schema(), ''))"


def prepare_session(connection: psycopg.Connection[Any], *, schema: str | None) -> None:
    """UTC session time zone and, with a schema, search_path set to it (created if missing).

    Leaves the connection idle, as the pool requires of its `configure` callback.
    """
    connection.execute("SET TIME ZONE 'UTC'")
    if schema is not None:
        exists = connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:
            # Two processes creating it at once: the lock makes the second see the first's.
            connection.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CREATE_SCHEMA, schema))
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    connection.commit()


class Statements:
    """Runs SQL for the repositories of one unit of work.

    `connection_for_statement` is the unit of work's guard: it refuses statements outside
    the `with` block. psycopg opens a transaction at the first statement (autocommit is
    off), also after a commit, so nothing ever runs in autocommit by accident.
    """

    def __init__(
        self,
        *,
        converter: cattrs.Converter,
        connection_for_statement: Callable[[], psycopg.Connection[Any]],
        translate_errors: Callable[[], AbstractContextManager[None]],
    ) -> None:
        self.converter = converter
        self._connection_for_statement = connection_for_statement
        self._translate_errors = translate_errors

    def execute(self, query: str, params: Params | None = None) -> int:
        """Run one statement; returns the number of rows it changed."""
        connection = self._connection_for_statement()
        with self._translate_errors():
            return connection.execute(query, params).rowcount  # type: ignore[arg-type]

    def execute_many(self, query: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        if not rows:
            return
        connection = self._connection_for_statement()
        with self._translate_errors(), connection.cursor() as cursor:
            cursor.executemany(query, rows)  # type: ignore[arg-type]

    def one(self, query: str, params: Params | None = None) -> Row | None:
        connection = self._connection_for_statement()
        with self._translate_errors():
            return connection.execute(query, params).fetchone()  # type: ignore[arg-type,return-value]

    def all(self, query: str, params: Params | None = None) -> list[Row]:
        connection = self._connection_for_statement()
        with self._translate_errors():
            return connection.execute(query, params).fetchall()  # type: ignore[arg-type,return-value]


def where(conditions: Iterable[tuple[str, object | None]]) -> tuple[str, list[object]]:
    """A WHERE clause of `column = %s` for every condition whose value is not None."""
    clauses: list[str] = []
    params: list[object] = []
    for column, value in conditions:
        if value is not None:
            clauses.append(column)
            params.append(value)
    if not clauses:
        return "", params
    return " WHERE " + " AND ".join(clauses), params


def sql_limit(limit: int) -> int | None:
    # SQLite reads a negative LIMIT as "no limit"; Postgres refuses it. LIMIT NULL is ALL.
    return None if limit < 0 else limit
