"""Backups of the Postgres store (the BackupEngine port of application/golive/backups.py).

The snapshot is a REPEATABLE READ, READ ONLY transaction that exports its snapshot
(pg_export_snapshot): the manifest's rows are read in it, and `pg_dump --snapshot` dumps that
very state (custom format, the store's schema only) while it stays open, so the manifest and
the dump agree however much the bots write meanwhile, and nobody waits for the backup.

A restore goes into a scratch database (quantshift_verify_<random>) on the same server, made
for the check and dropped afterwards (WITH (FORCE)); the store's own database is never written.
Passwords reach pg_dump and pg_restore through PGPASSWORD, never on their command line.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.postgres.errors import Scrubber, cause, describe
from application.golive.backup_manifest import BackupError
from domain.errors import ConfigurationError, StoreUnavailable

_TABLES = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
           " WHERE n.nspname = %s AND c.relkind IN ('r', 'p')")
_KEY_COLUMNS = (
    "SELECT a.attname, a.attcollation <> 0 AS collatable FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
    " WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary"
    " ORDER BY array_position(i.indkey::int2[], a.attnum)"
)
_ROW = "qs_backup_row"  # the table's alias: `qs_backup_row::text` is the whole row as Postgres prints it
_DATA_SCHEMAS = ("SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                 " AND n.nspname NOT LIKE 'pg\\_toast%'")
TOOL_TIMEOUT_SECONDS = 3600.0


class _View:
    """Reads of one repeatable-read transaction; timestamps print in UTC (the session's zone)."""

    def __init__(self, connection: psycopg.Connection[Any], *, schema: str, where: str,
                 damage: list[str] | None = None) -> None:
        self._connection = connection
        self._schema = schema
        self._where = where
        self._damage = damage or []

    def schema_version(self) -> int:
        try:
            if "schema_migrations" not in self.tables():
                return 0
            row = self._connection.execute(sql.SQL("SELECT COALESCE(MAX(version), 0) FROM {}").format(
                sql.Identifier(self._schema, "schema_migrations"))).fetchone()
            return int(row[0]) if row else 0
        except psycopg.Error as exc:
            raise BackupError(f"{self._where}: its schema version cannot be read: {cause(exc)}") from None

    def tables(self) -> list[str]:
        try:
            return sorted(row[0] for row in self._connection.execute(_TABLES, (self._schema,)))
        except psycopg.Error as exc:
            raise BackupError(f"{self._where}: its tables cannot be listed: {cause(exc)}") from None

    def rows(self, table: str) -> Iterator[tuple[str, bytes]]:
        try:
            keys = self._connection.execute(_KEY_COLUMNS, (self._schema, table)).fetchall()
            # Text keys in byte order (COLLATE "C"): the same order in any database's locale.
            order = [sql.SQL("{} COLLATE \"C\"" if collatable else "{}").format(sql.Identifier(name))
                     for name, collatable in keys] or [sql.SQL(f'{_ROW}::text COLLATE "C"')]
            # A table without a key (or a copy whose keys did not restore) shows the row itself.
            shown = [sql.SQL("{}::text").format(sql.Identifier(name)) for name, _ in keys] or [
                sql.SQL("left({}::text, 80)").format(sql.Identifier(_ROW))]
            query = sql.SQL("SELECT {}, {}::text FROM {} AS {} ORDER BY {}").format(
                sql.SQL(", ").join(shown), sql.Identifier(_ROW), sql.Identifier(self._schema, table),
                sql.Identifier(_ROW), sql.SQL(", ").join(order))
            names = [name for name, _ in keys] or ["row"]
            width = len(shown)
            with self._connection.cursor(name=f"qs_backup_{secrets.token_hex(4)}") as cursor:
                cursor.itersize = 2000
                cursor.execute(query)
                for row in cursor:
                    key = ", ".join(f"{name}={value!r}" for name, value in zip(names, row[:width], strict=True))
                    yield key, str(row[width]).encode("utf-8")
        except psycopg.Error as exc:
            raise BackupError(f"table {table} of {self._where} cannot be read: {cause(exc)}") from None

    def damage(self) -> list[str]:
        return list(self._damage)


class _Snapshot(_View):
    def __init__(self, connection: psycopg.Connection[Any], *, engine: PostgresBackupEngine, schema: str,
                 snapshot_id: str) -> None:
        super().__init__(connection, schema=schema, where=f"the Postgres store {engine.location}")
        self._engine = engine
        self._snapshot_id = snapshot_id

    def dump_to(self, path: Path) -> None:
        pattern = '"' + self._schema.replace('"', '""') + '"'  # the schema's name, not a pattern
        self._engine.run_tool("pg_dump", "--format=custom", f"--snapshot={self._snapshot_id}",
                              f"--schema={pattern}", f"--file={path}",
                              f"--dbname={self._engine.conninfo()}", what=f"pg_dump of {self._engine.location}")


class PostgresBackupEngine:
    engine = "postgres"

    def __init__(self, *, url: str, schema: str | None = None, connect_timeout_seconds: float = 10.0,
                 tool_timeout_seconds: float = TOOL_TIMEOUT_SECONDS) -> None:
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            raise ConfigurationError("the Postgres URL cannot be parsed (check its syntax)") from None
        self._password = params.pop("password", None)
        self._params = params
        self._schema = schema
        self._timeout = max(1, int(connect_timeout_seconds))
        self._tool_timeout = tool_timeout_seconds
        self._scrub = Scrubber(self._password)
        self.location = describe(params, schema=schema)

    def conninfo(self, *, dbname: str | None = None) -> str:
        """The store's connection string without its password (that goes in PGPASSWORD)."""
        return make_conninfo(**(self._params | ({"dbname": dbname} if dbname else {})))

    def _connect(self, *, dbname: str | None = None, autocommit: bool = False) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.conninfo(dbname=dbname), password=self._password, autocommit=autocommit,
                                   connect_timeout=self._timeout, options="-c TimeZone=UTC")
        except psycopg.Error as exc:
            where = describe(self._params | {"dbname": dbname}, schema=None) if dbname else self.location
            raise StoreUnavailable(self._scrub(f"Postgres store {where} is unavailable: {cause(exc)}")) from None

    @contextmanager
    def snapshot(self) -> Iterator[_Snapshot]:
        with closing(self._connect()) as connection:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            try:
                snapshot_id = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
                schema = self._schema or connection.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
            except psycopg.Error as exc:
                raise StoreUnavailable(self._scrub(f"Postgres store {self.location}: cannot start the backup's "
                                                   f"snapshot: {cause(exc)}")) from None
            if schema is None:
                raise BackupError(f"the Postgres store {self.location} has no schema on its search_path")
            yield _Snapshot(connection, engine=self, schema=schema, snapshot_id=snapshot_id)

    @contextmanager
    def restore(self, path: Path) -> Iterator[_View]:
        self.run_tool("pg_restore", "--list", str(path), what=f"reading {path}",
                      failure=f"{path} is not a pg_dump archive that pg_restore can read")
        scratch = f"quantshift_verify_{secrets.token_hex(6)}"
        server = describe(self._params | {"dbname": scratch}, schema=None)
        with closing(self._connect(autocommit=True)) as admin:
            try:
                admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(scratch)))
            except psycopg.Error as exc:
                raise BackupError(self._scrub(f"cannot create the scratch database {server} to restore {path} "
                                              f"into (the role needs CREATEDB): {cause(exc)}")) from None
            try:
                with closing(self._connect(dbname=scratch, autocommit=True)) as empty:
                    # The dump makes its schema itself; a dump of `public` would fail on the new
                    # database's own (empty) public schema.
                    empty.execute("DROP SCHEMA IF EXISTS public")
                damage = self._restore_into(path, scratch=scratch)
                with closing(self._connect(dbname=scratch)) as connection:
                    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    schemas = [row[0] for row in connection.execute(_DATA_SCHEMAS)]
                    if len(schemas) > 1:
                        raise BackupError(f"{path} holds the tables of several schemas ({', '.join(sorted(schemas))}),"
                                          " not one QuantShift store")
                    schema = schemas[0] if schemas else (self._schema or "public")
                    yield _View(connection, schema=schema, where=f"the restored copy of {path}", damage=damage)
            finally:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))

    def _restore_into(self, path: Path, *, scratch: str) -> list[str]:
        """pg_restore goes on past a damaged table (its rows are then missing and the comparison
        names it); what it reported is kept as the copy's damage."""
        result = self.run_tool("pg_restore", "--no-owner", "--no-privileges", f"--dbname={self.conninfo(dbname=scratch)}",
                               str(path), what=f"pg_restore of {path}", check=False)
        if result.returncode == 0:
            return []
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        return [f"pg_restore reported errors restoring {path}: " + " | ".join(lines[:5])
                + (f" (and {len(lines) - 5} more lines)" if len(lines) > 5 else "")]

    def run_tool(self, tool: str, *args: str, what: str, failure: str | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if self._password:
            env["PGPASSWORD"] = self._password
        env.setdefault("PGCONNECT_TIMEOUT", str(self._timeout))
        try:
            result = subprocess.run([tool, *args], env=env, capture_output=True, text=True, errors="replace",
                                    timeout=self._tool_timeout, check=False)
        except FileNotFoundError:
            raise BackupError(f"{tool} is not installed (it comes with the PostgreSQL client tools, "
                              f"e.g. Debian's postgresql-client): needed for {what}") from None
        except subprocess.TimeoutExpired:
            raise BackupError(f"{what}: {tool} did not finish within {self._tool_timeout:.0f} s") from None
        if check and result.returncode != 0:
            message = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
            raise BackupError(self._scrub(f"{failure or what + ' failed'}: {message}"))
        return result
