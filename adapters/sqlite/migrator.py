"""Numbered SQL migrations (migrations/NNNN_name.sql), applied in order in one transaction.

The files ship as package data and are read with importlib.resources. BEGIN IMMEDIATE
takes the write lock before reading schema_migrations, so two processes migrating at
once serialise: the second one finds the versions applied and applies nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import resources

import attrs

from domain.errors import ConfigurationError

_FILE_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")

_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT"
)


@attrs.frozen(kw_only=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("adapters.sqlite").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(version=int(match[1]), name=match[2], sql=entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ConfigurationError(f"two SQLite migrations share a version number: {versions}")
    return found


def latest_version() -> int:
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0


def current_version(connection: sqlite3.Connection) -> int:
    exists = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    return connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]


def split_statements(script: str) -> Iterator[str]:
    """The statements of a script, one by one.

    executescript() would COMMIT the open transaction first (Python 3.11 does that
    unconditionally), so each statement runs through execute() instead.
    sqlite3.complete_statement knows about strings, comments and trigger bodies.
    """
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if _has_code(statement):
                yield statement
    if _has_code(buffer.rstrip(";")):
        raise ConfigurationError(f"SQLite migration ends with an incomplete statement: {buffer.strip()[:80]!r}")


def _has_code(text: str) -> bool:
    lines = (line.split("--", 1)[0].strip() for line in text.splitlines())
    return any(line and line != ";" for line in lines)


def apply_pending(connection: sqlite3.Connection, *, now: Callable[[], datetime]) -> list[int]:
    """Apply every migration the database lacks; returns the versions applied."""
    if connection.in_transaction:
        raise RuntimeError("migrate() cannot run inside an open unit of work on this thread")
    migrations = available_migrations()
    known = {m.version for m in migrations}
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_CREATE_LEDGER)
        applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        unknown = sorted(applied - known)
        if unknown:
            raise ConfigurationError(
                f"the SQLite store has migrations {unknown} this code does not know: it is newer than the code"
            )
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            for statement in split_statements(migration.sql):
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now().isoformat(timespec="microseconds")),
            )
            done.append(migration.version)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return done
