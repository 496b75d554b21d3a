"""`quantshift db backup --to PATH` and `quantshift db verify-backup PATH` (registered on the
`db` group in store_commands.py): application/golive/backups.py with the store's engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from application.golive.backup_manifest import manifest_path
from application.golive.backups import BackupEngine, take_backup, verify_backup
from domain.errors import StoreNotFound
from entrypoints.cli.common import EXIT_ERROR, ConfigOption, JsonOption, cli_errors, fail, reading_container
from entrypoints.cli.output import print_json
from entrypoints.container import default_database_url, is_postgres, sqlite_path


def backup_engine(database_url: str) -> BackupEngine:
    """The backup engine of the store the URL names (the same choice as build_store)."""
    url = database_url or default_database_url()
    if is_postgres(url):
        from adapters.postgres.backup import PostgresBackupEngine  # psycopg loads only when Postgres is used

        return PostgresBackupEngine(url=url)
    from adapters.sqlite.backup import SqliteBackupEngine

    return SqliteBackupEngine(path=sqlite_path(url))


def db_backup(
    to: Annotated[Path, typer.Option("--to", help="The backup file to write (or a directory: a dated file in it). "
                                                  "Its manifest goes beside it as FILE.manifest.json.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a backup file already at --to.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Back the store up while the bots keep trading: SQLite's online backup, or pg_dump of one
    snapshot on Postgres, with a manifest (every table, its rows and their digest, the file's
    sha256). Recorded in the audit trail; `db verify-backup` checks it by a restore."""
    with cli_errors():
        container = reading_container(config)
        store = container.store()
        if store.schema_version() == 0:
            raise StoreNotFound(f"there is no store at {store.path}")
        result = take_backup(engine=backup_engine(container.settings().database_url), store=store,
                             clock=container.clock(), to=to, force=force)
    if json_output:
        print_json(result.to_json() | {"manifest": str(manifest_path(result.path))})
        return
    print(f"backup taken: {result.path}\n  {result.detail}\n  sha256 {result.sha256}\n"
          f"verify it with: quantshift db verify-backup {result.path}")


def db_verify_backup(
    path: Annotated[Path, typer.Argument(help="A backup file written by `quantshift db backup` (its manifest beside it).")],
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Restore a backup into a scratch store (a temporary SQLite file, or a scratch Postgres
    database created and dropped) and compare it row by row with its manifest and the store's
    schema version. The result is recorded in the audit trail; exits 4 when it fails."""
    with cli_errors():
        container = reading_container(config)
        store = container.store()
        version = store.schema_version()
        if version == 0:
            raise StoreNotFound(f"there is no store at {store.path}")
        result = verify_backup(engine=backup_engine(container.settings().database_url), store=store,
                               clock=container.clock(), path=path, store_schema_version=version)
    if json_output:
        print_json(result.to_json())
    elif result.passed:
        print(f"backup verified: {result.path}\n  {result.detail}")
    if not result.passed:
        fail(f"backup {result.path} failed verification: {result.detail}", code=EXIT_ERROR)


def register(db_app: typer.Typer) -> None:
    db_app.command("backup")(db_backup)
    db_app.command("verify-backup")(db_verify_backup)

