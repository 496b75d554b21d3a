"""Store fixtures: `store` is a fresh store of each engine, for the one contract suite.

SQLite: a file in tmp_path. Postgres: a fresh schema ("t_<uuid hex>") of the test database
(postgresql://postgres@127.0.0.1:5432/test, or QUANTSHIFT_TEST_POSTGRES_URL), dropped
afterwards. An unreachable Postgres skips its tests with the reason, except when CI is
"true": there they fail, so a broken CI service can never pass as green.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from adapters.postgres import PostgresStore
from adapters.sqlite import SqliteStore

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgres")

Store = SqliteStore | PostgresStore
RawSql = Callable[[str], list[tuple]]


def postgres_test_url() -> str:
    return os.environ.get("QUANTSHIFT_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL once it answers; skip (or fail on CI) when it does not."""
    url = postgres_test_url()
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        where = PostgresStore(url=url).location  # no password in the reason
        reason = f"Postgres test server {where} is unreachable: {' '.join(str(error).split())}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Postgres tests must run)")
        pytest.skip(reason)
    return url


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, connect_timeout=5, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def new_postgres_store(url: str, schema: str, **options: object) -> PostgresStore:
    settings: dict = {"min_size": 1, "max_size": 4, "connect_timeout_seconds": 5.0} | options
    return PostgresStore(url=url, schema=schema, **settings)


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from engine_store(request.param, request=request, tmp_path=tmp_path)


def engine_store(engine: str, *, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store of `engine`, closed (and its schema dropped) afterwards: the body of the
    `store` fixture, for fixtures that choose the engines themselves."""
    if engine == "sqlite":
        sqlite_store = SqliteStore(path=tmp_path / "store.db")
        yield sqlite_store
        sqlite_store.close()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex}"
    postgres_store = new_postgres_store(url, schema)
    try:
        yield postgres_store
    finally:
        postgres_store.close()
        drop_schema(url, schema)


@pytest.fixture
def reopen_store(store: Store) -> Iterator[Callable[..., Store]]:
    """Another store object on the same database (another process, as far as the store knows)."""
    made: list[Store] = []

    def make(**options: object) -> Store:
        if isinstance(store, SqliteStore):
            other: Store = SqliteStore(path=store.path, **options)
        else:
            other = new_postgres_store(postgres_test_url(), store.schema, **options)
        made.append(other)
        return other

    yield make
    for other in made:
        other.close()


@pytest.fixture
def raw_sql(store: Store) -> RawSql:
    """Runs one statement outside the adapter, autocommit; returns its rows ([] for none)."""

    def run(statement: str) -> list[tuple]:
        if isinstance(store, SqliteStore):
            connection = sqlite3.connect(store.path, isolation_level=None)
            try:
                return connection.execute(statement).fetchall()
            finally:
                connection.close()
        with psycopg.connect(postgres_test_url(), connect_timeout=5, autocommit=True) as connection:
            connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
            cursor = connection.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture(params=ENGINES)
def unreachable_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store that cannot be reached; needs no server. The Postgres one has a password in its URL."""
    if request.param == "sqlite":
        broken: Store = SqliteStore(path=tmp_path)  # a directory, not a database file
    else:
        broken = PostgresStore(url="postgresql://quant:s3cret-pw@127.0.0.1:1/test", connect_timeout_seconds=2.0)
    yield broken
    broken.close()
