"""The go-live drills as an operator runs them, against real `quantshift paper` processes: the
kill switch drilled on the running session (its resting order cancelled by that session, the
figures recorded, the halt lifted), refused while halted and without a session; and on
Postgres the failover drill killing the LIVE instance and timing the STANDBY's takeover."""

from __future__ import annotations

import json
import signal

import psycopg
import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# A crypto bot: the simulated equity feed keeps NYSE hours, so an equity bot gets no bar (and no
# price for the drill order) when the suite runs while the market is closed.
ONE_BOT = """
[engine]
heartbeat_seconds = 0.5
lease_seconds = 1.5

[[bots]]
name = "spy"
asset_class = "crypto"
symbols = ["BTC-USD"]
params = { fast = 10, slow = 30 }
position_fraction = 0.45
"""


def drill_records(cli) -> list[dict]:
    return [json.loads(data) for (data,) in cli.query("SELECT data FROM audit_log WHERE kind = 'drill'")]


def running(cli) -> bool:
    return cli.db.exists() and bool(cli.query(
        "SELECT count(*) FROM heartbeats WHERE bot = 'spy' AND run_state = 'running' AND detail != 'starting'")[0][0])


def test_killswitch_drill_on_the_running_session_records_its_figures_and_lifts_its_halt(cli):
    config = cli.config(ONE_BOT)
    alone = cli.run("drill", "killswitch", "--config", str(config), check=False)
    assert alone.returncode == 4 and "Traceback" not in alone.stderr
    assert "no running session trades bot spy on account paper" in alone.stderr
    assert f"start `quantshift paper --config {config}` first" in alone.stderr
    paper = cli.start("paper", "--bar-seconds", "0.2", "--config", str(config))
    try:
        wait_until(lambda: running(cli), timeout=60, interval=0.1, message="the paper session running", process=paper)
        cli.run("halt", "--reason", "ops halt")
        refused = cli.run("drill", "killswitch", "--config", str(config), check=False)
        assert refused.returncode == 4 and "the global switch is halted (ops halt" in refused.stderr
        assert cli.query("SELECT state FROM control WHERE scope = '*'") == [("halted",)]  # not lifted by the drill
        cli.run("resume")

        drill = cli.run("drill", "killswitch", "--bot", "spy", "--config", str(config), "--json", check=False)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        figures = json.loads(drill.stdout)
        assert paper.poll() is None, "the session runs on after the drill"
    finally:
        paper.send_signal(signal.SIGTERM)
        paper.wait(timeout=30)
    assert figures["passed"] is True and figures["resumed"] is True and figures["venue"] == "simulated"
    assert figures["orders_open"] >= 1 and figures["orders_cancelled"] == figures["orders_open"]
    assert 0 < figures["cancel_seconds"] < 1.0 and figures["submissions_after_1s"] == 0
    [record] = drill_records(cli)  # the refusals recorded nothing
    assert record == {k: v for k, v in figures.items() if k not in ("ts", "account", "bot")}
    # The session itself cancelled its own resting drill order, at the halt, and the halt is lifted.
    [(status, reason)] = cli.query("SELECT status, reason FROM orders WHERE strategy = 'drill'")
    assert status == "cancelled" and reason.startswith("halt: kill-switch drill")
    assert cli.query("SELECT state, actor FROM control WHERE scope = 'paper/spy'")[0][0] == "active"
    assert [k for (k,) in cli.query("SELECT kind FROM audit_log WHERE bot = 'spy' AND kind IN ('halt', 'resume') "
                                    "ORDER BY id")] == ["halt", "resume"]


def test_failover_drill_kills_the_live_instance_and_times_the_standby(pg_cli):
    config = pg_cli.config(ONE_BOT)
    args = ("paper", "--bar-seconds", "0.2", "--config", str(config))
    live = pg_cli.start(*args)
    standby = None
    try:
        wait_until(lambda: roles(pg_cli) == {live.pid: "LIVE"}, timeout=60, message="the LIVE instance", process=live)
        standby = pg_cli.start(*args)
        wait_until(lambda: roles(pg_cli) == {live.pid: "LIVE", standby.pid: "STANDBY"}, timeout=60,
                   message="the STANDBY instance", process=standby)
        drill = pg_cli.run("drill", "failover", "--config", str(config), "--json", check=False)
        assert drill.returncode == 0, drill.stdout + drill.stderr
        assert live.wait(timeout=10) == -signal.SIGKILL
        figures = json.loads(drill.stdout)
        assert standby.poll() is None
    finally:
        for process in (live, standby):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    assert figures["passed"] is True and figures["drill"] == "failover"
    assert figures["from_instance"].startswith(f"{live.pid}@") and figures["to_instance"].startswith(f"{standby.pid}@")
    assert 0 < figures["takeover_seconds"] < 10
    with psycopg.connect(pg_cli.pg_url, autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM audit_log WHERE kind = 'drill'").fetchone()[0] == 1


def roles(cli) -> dict[int, str]:
    try:
        return {i["pid"]: i["role"] for i in cli.json("status")["instances"] if i["role"] != "STOPPED"}
    except (AssertionError, json.JSONDecodeError):  # the store is not made yet
        return {}


def test_failover_drill_on_sqlite_says_it_needs_postgres(cli):
    result = cli.invoke("drill", "failover", "--config", str(cli.config(ONE_BOT)))
    assert result.returncode == 2 and "needs Postgres with a standby" in result.stderr and "docs/golive.md" in result.stderr
