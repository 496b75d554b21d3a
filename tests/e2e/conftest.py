"""The CLI as a user drives it: real subprocesses on a SQLite file of their own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

QUANTSHIFT = str(Path(sys.executable).with_name("quantshift"))


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

    def json(self, *args: str) -> object:
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
