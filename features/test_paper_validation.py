"""Step definitions for paper_validation.feature: the real CLI in subprocesses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

scenarios("paper_validation.feature")

QUANTSHIFT = str(Path(sys.executable).with_name("quantshift"))


@pytest.fixture
def world(tmp_path: Path) -> dict:
    return {"db": tmp_path / "qs.db", "env": {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'qs.db'}"}}


def quantshift(world: dict, *args: str) -> str:
    result = subprocess.run([QUANTSHIFT, *args], env=world["env"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@given("a fresh machine with no keys, no network and no server")
def fresh(world: dict) -> None:
    assert not world["db"].exists()


@when(parsers.parse("I run a paper session of {days:d} trading days with seed {seed:d}"))
def run_session(world: dict, days: int, seed: int) -> None:
    world["report"] = json.loads(quantshift(world, "paper", "--days", str(days), "--seed", str(seed), "--json"))


@when(parsers.parse('the operator halts all trading because "{reason}"'))
def halt(world: dict, reason: str) -> None:
    quantshift(world, "halt", "--reason", reason)


@when("the operator resumes trading")
def resume(world: dict) -> None:
    quantshift(world, "resume")


@then("every order, fill, round trip and heartbeat of the session is stored")
def stored(world: dict) -> None:
    report = world["report"]
    with sqlite3.connect(world["db"]) as db:
        account = report["account"]
        sent = db.execute("SELECT count(*) FROM orders WHERE account=? AND submitted_at IS NOT NULL",
                          (account,)).fetchone()[0]
        assert sent == report["orders"] > 0
        assert db.execute("SELECT count(*) FROM fills WHERE account=?", (account,)).fetchone()[0] == report["fills"]
        assert db.execute("SELECT count(*) FROM trades WHERE account=?", (account,)).fetchone()[0] == report["round_trips"]
        assert db.execute("SELECT count(*) FROM heartbeats WHERE account=?", (account,)).fetchone()[0] >= 1


@then("the report shows each go-live criterion with its value and result")
def criteria(world: dict) -> None:
    names = [c["name"] for c in world["report"]["criteria"]]
    assert names == ["trading_days", "round_trips", "win_rate", "max_drawdown", "critical_errors"]
    assert all(isinstance(c["passed"], bool) and c["value"] is not None for c in world["report"]["criteria"])


@then("the verdict is GO only if every criterion passes")
def verdict(world: dict) -> None:
    report = world["report"]
    assert report["go_live"] is all(c["passed"] for c in report["criteria"])


@then(parsers.parse('the criterion "{name}" fails'))
def criterion_fails(world: dict, name: str) -> None:
    (criterion,) = [c for c in world["report"]["criteria"] if c["name"] == name]
    assert criterion["passed"] is False


@then("the verdict is NO-GO")
def no_go(world: dict) -> None:
    assert world["report"]["go_live"] is False


@then("no order was sent")
def none_sent(world: dict) -> None:
    assert world["report"]["orders"] == 0


@then("orders were sent")
def some_sent(world: dict) -> None:
    assert world["report"]["orders"] > 0
