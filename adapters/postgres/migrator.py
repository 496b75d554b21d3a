"""Numbered SQL migrations (migrations/NNNN_name.sql), applied in order in one transaction.

The same version numbers, with the same meaning, as adapters/sqlite/migrations. The files
ship as package data and are read with importlib.resources. A transaction-scoped advisory
lock (per schema) is taken before reading schema_migrations, so two processes migrating
at once serialise: the second finds the versions applied and applies nothing.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import attrs
import psycopg

from adapters.postgres.connection import LOCK_MIGRATE, SCHEMA_KEY
from domain.errors import ConfigurationError

_FILE_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")

_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
)


@attrs.frozen(kw_only=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("adapters.postgres").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(version=int(match[1]), name=match[2], sql=entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ConfigurationError(f"two Postgres migrations share a version number: {versions}")
    return found


def latest_version() -> int:
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0


def current_version(connection: psycopg.Connection[Any]) -> int:
    """The newest applied version (0 for an empty schema). Ends the read's transaction."""
    try:
        row = connection.execute(
            "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN NULL ELSE 1 END AS ledger"
        ).fetchone()
        if row is None or row["ledger"] is None:
            return 0
        row = connection.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations").fetchone()
        return int(row["version"]) if row else 0
    finally:
        connection.rollback()


def apply_pending(connection: psycopg.Connection[Any]) -> list[int]:
    """Apply every migration the schema lacks; returns the versions applied."""
    migrations = available_migrations()
    known = {m.version for m in migrations}
    try:
        connection.execute(f"SELECT pg_advisory_xact_lock({LOCK_MIGRATE}, {SCHEMA_KEY})")
        connection.execute(_CREATE_LEDGER)
        applied = {row["version"] for row in connection.execute("SELECT version FROM schema_migrations")}
        unknown = sorted(applied - known)
        if unknown:
            raise ConfigurationError(
                f"the Postgres store has migrations {unknown} this code does not know: it is newer than the code"
            )
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            # No parameters: psycopg sends the whole script at once (several statements,
            # dollar-quoted function bodies and all), inside this transaction.
            connection.execute(migration.sql)  # type: ignore[arg-type]
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
            done.append(migration.version)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return done
