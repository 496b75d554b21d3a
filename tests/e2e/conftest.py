"""The CLI as a user drives it: real subprocesses on a SQLite file of their own."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import QUANTSHIFT, free_port

# Commands that only read the store and print a report.
_READS = frozenset({"status", "trades", "positions", "risk", "audit", "strategies"})


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "qs.db"
        self.tmp = tmp_path
        self.env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{self.db}", "COLUMNS": "200",
                    "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue")}

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([QUANTSHIFT, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"quantshift {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def invoke(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """The same CLI in this process (typer's runner, the same environment): for the checks of
        arguments, configuration and help texts, which would otherwise pay a process start
        (about a second of CPU) each. What a process start itself must prove uses `run`."""
        from typer.testing import CliRunner

        from entrypoints.cli.main import build_app

        result = CliRunner().invoke(build_app(), list(args), input=input, env=self.env, catch_exceptions=False)
        return subprocess.CompletedProcess(["quantshift", *args], result.exit_code, result.stdout, result.stderr)

    def json(self, *args: str) -> object:
        if args[0] in _READS and self.env["QUANTSHIFT_DATABASE_URL"].startswith("sqlite"):
            # A report read from the SQLite file: in process (no pool or server connection outlives it).
            result = self.invoke(*args, "--json")
            assert result.returncode == 0, f"quantshift {' '.join(args)} exited {result.returncode}\n{result.stderr}"
            return json.loads(result.stdout)
        return json.loads(self.run(*args, "--json").stdout)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([QUANTSHIFT, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def query(self, sql: str, *params: object) -> list[tuple]:
        connection = sqlite3.connect(self.db, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def query_write(self, sql: str, *params: object) -> None:
        connection = sqlite3.connect(self.db, timeout=10)
        try:
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()

    def config(self, text: str) -> Path:
        path = self.tmp / "bots.toml"
        path.write_text(text)
        return path


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


POSTGRES_ADMIN_URL = os.environ.get("QUANTSHIFT_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """The URL of a new, empty Postgres database, dropped afterwards. Unreachable server:
    skipped, except with CI=true, where the Postgres tests must run and so fail."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        reason = f"Postgres test server unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Postgres tests must run)")
        pytest.skip(reason)
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_cli(cli: Cli) -> Iterator[Cli]:
    """`cli` pointed at a fresh Postgres database (its URL also in `pg_url`), dropped afterwards."""
    with fresh_postgres_database("qs_e2e") as url:
        cli.pg_url = url  # type: ignore[attr-defined]
        cli.env["QUANTSHIFT_DATABASE_URL"] = url
        yield cli


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def engine_server(request, tmp_path_factory):
    """One `quantshift serve` per store engine, shared by the API's fuzz and bad-input tests
    and test_api_server's Postgres smoke (a server with its paper session costs seconds of
    CPU): an admin logged in, an operator who is not (the smoke logs in itself), a mail server
    that takes everything (else the mail routes only ever answer 503), a short paper session
    behind it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from tests.e2e.test_api_server import USERS, Server

    tmp = tmp_path_factory.mktemp(f"api_{request.param}")
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp / 'qs.db'}" if request.param == "sqlite"
               else stack.enter_context(fresh_postgres_database("qs_api_shared")))
        smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port(), ready_timeout=5)
        smtp.start()
        stack.callback(smtp.stop)
        srv = Server(tmp, url)
        srv.engine = request.param
        srv.env.update({"QUANTSHIFT_SMTP_HOST": "127.0.0.1", "QUANTSHIFT_SMTP_PORT": str(smtp.port),
                        "QUANTSHIFT_SMTP_FROM": "QuantShift <alerts@quantshift.test>",
                        "QUANTSHIFT_SMTP_SECURITY": "none", "QUANTSHIFT_SMTP_TIMEOUT": "5",
                        "QUANTSHIFT_PUBLIC_URL": srv.base})
        stack.callback(srv.stop)
        srv.prepare({"admin": USERS["admin"], "operator": USERS["operator"]})
        srv.start()
        srv.log_in({"admin": USERS["admin"]})
        yield srv
