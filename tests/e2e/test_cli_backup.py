"""`quantshift db backup` and `db verify-backup` as a user runs them, on SQLite and on Postgres:
a store a paper session wrote, backed up, verified, then a damaged copy refused (exit 4, the file
named, no traceback), every step in the audit trail."""

from __future__ import annotations

import json
import shutil

import psycopg
import pytest

from tests.e2e.conftest import POSTGRES_ADMIN_URL


@pytest.fixture(params=["sqlite", "postgres"])
def engine_cli(request, cli):
    if request.param == "sqlite":
        yield cli
    else:
        yield request.getfixturevalue("pg_cli")


def scratch_databases() -> set[str]:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        return {row[0] for row in connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'quantshift\\_verify\\_%'")}


def test_backup_verify_and_a_damaged_copy_through_the_cli(engine_cli) -> None:
    cli = engine_cli
    postgres = cli.env["QUANTSHIFT_DATABASE_URL"].startswith("postgresql")
    before = scratch_databases() if postgres else set()
    cli.run("paper", "--days", "3", "--seed", "4")
    folder = cli.tmp / "backups"
    folder.mkdir()

    taken = json.loads(cli.run("db", "backup", "--to", str(folder), "--json").stdout)
    backup = folder / taken["path"].rsplit("/", 1)[1]
    assert backup.is_file() and (folder / (backup.name + ".manifest.json")).is_file()
    assert taken["engine"] == ("postgres" if postgres else "sqlite")
    assert taken["tables"]["orders"] > 0 and taken["tables"]["fills"] > 0

    verified = json.loads(cli.run("db", "verify-backup", str(backup), "--json").stdout)
    assert verified["passed"] is True, verified["detail"]
    assert verified["tables"] == taken["tables"] and verified["sha256"] == taken["sha256"]

    damaged = folder / "damaged.backup"
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    shutil.copy(folder / (backup.name + ".manifest.json"), folder / "damaged.backup.manifest.json")
    refused = cli.run("db", "verify-backup", str(damaged), check=False)
    assert refused.returncode == 4, refused.stderr
    assert refused.stderr.startswith(f"error: backup {damaged} failed verification: {damaged}: its sha256 ")
    assert "Traceback" not in refused.stderr + refused.stdout

    entries = json.loads(cli.run("audit", "--kind", "backup", "--json").stdout)
    assert [(e["data"]["event"], e["data"].get("passed")) for e in entries] == [
        ("taken", None), ("verified", True), ("verified", False)]
    assert entries[0]["data"]["sha256"] == taken["sha256"]
    if postgres:
        assert scratch_databases() <= before, "a scratch database was left behind"
