"""The CLI on Postgres, in real processes: the same behaviour as SQLite, and hot standby
with failover (two instances, the leader SIGKILLed, the standby trades within seconds)."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime

import psycopg
import pytest

from tests.e2e.test_cli_safety import USER_STRATEGIES
from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def pg(cli, query: str, *params) -> list[tuple]:
    with psycopg.connect(cli.pg_url, autocommit=True) as connection:
        return connection.execute(query, params).fetchall()


def test_paper_session_on_postgres_matches_sqlite(pg_cli, tmp_path):
    on_postgres = pg_cli.json("paper", "--days", "6", "--seed", "4")
    assert pg_cli.json("db", "status")["up_to_date"] is True
    assert pg(pg_cli, "SELECT count(*) FROM orders WHERE submitted_at IS NOT NULL")[0][0] == on_postgres["orders"] > 0
    assert {b["state"] for b in pg_cli.json("status")["bots"]} == {"stopped"}
    assert len(pg_cli.json("audit", "--account", "sim-0001", "--kind", "fill", "--limit", "100000")) == on_postgres["fills"]
    with pytest.raises(psycopg.Error, match="append-only"):
        pg(pg_cli, "DELETE FROM audit_log")
    pg_cli.env["QUANTSHIFT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'same.db'}"
    on_sqlite = pg_cli.json("paper", "--days", "6", "--seed", "4")
    assert on_sqlite == on_postgres


def test_read_commands_never_make_a_store_in_an_empty_postgres_database(pg_cli):
    for command in (["status"], ["trades"], ["positions"], ["audit"], ["risk"], ["strategies"]):
        result = pg_cli.invoke(*command)
        assert result.returncode == 3, (command, result.stdout, result.stderr)
        assert "there is no store at postgresql://" in result.stderr and "nothing was created" in result.stderr
        assert "Traceback" not in result.stderr
    # db status reads the schema version without migrating: it says the store is empty.
    assert "schema version 0, behind" in pg_cli.invoke("db", "status").stdout
    assert pg(pg_cli, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == 0
    pg_cli.run("halt", "--reason", "a write makes the store")
    assert pg_cli.json("db", "status")["up_to_date"] is True


def test_halt_and_resume_on_postgres(pg_cli):
    pg_cli.run("halt", "--reason", "pg drill")
    assert pg_cli.json("paper", "--days", "3")["orders"] == 0
    pg_cli.run("resume")
    assert pg_cli.json("paper", "--days", "3")["orders"] > 0


def sent_orders(cli) -> int:
    try:
        return pg(cli, "SELECT count(*) FROM orders WHERE submitted_at IS NOT NULL")[0][0]
    except psycopg.errors.UndefinedTable:  # the first process has not created the schema yet
        return 0


def test_hot_standby_takes_over_within_seconds_and_never_two_leaders(pg_cli):
    strategy = USER_STRATEGIES
    config = pg_cli.config('''
[engine]
heartbeat_seconds = 0.5
lease_seconds = 1.5
market_fill = "this_close"
max_volume_share = 1
''' + NO_ORDER_THROTTLE + flipflop_bot(strategy))
    args = ("paper", "--bar-seconds", "0.2", "--config", str(config))
    first = pg_cli.start(*args)
    try:
        wait_until(lambda: sent_orders(pg_cli) >= 3, timeout=60, message="the first instance trading")
        second = pg_cli.start(*args)
        time.sleep(2.0)
        assert second.poll() is None
        leader = pg(pg_cli, "SELECT holder FROM leases WHERE bot='btc'")[0][0]
        assert leader.startswith(f"{first.pid}@")
        roles = {i["pid"]: i["role"] for i in pg_cli.json("status")["instances"]}
        assert roles == {first.pid: "LIVE", second.pid: "STANDBY"}
        killed_at = datetime.now().astimezone()
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        def traded_by_second():
            rows = pg(pg_cli, "SELECT min(recorded_at) FROM audit_log WHERE message LIKE 'submitted to the venue%%' "
                              "AND recorded_at > %s", killed_at)
            return rows[0][0]

        first_order = wait_until(traded_by_second, timeout=30, message="the standby trading")
        failover = (first_order - killed_at).total_seconds()
        print(f"failover: {failover:.2f} s")
        assert failover < 5.0
        assert pg(pg_cli, "SELECT holder FROM leases WHERE bot='btc'")[0][0].startswith(f"{second.pid}@")
    finally:
        for process in (first, locals().get("second")):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    # One order per intent, whoever led: no client_order_id twice, store and venue agree.
    ids = pg(pg_cli, "SELECT client_order_id FROM orders")
    assert len(ids) == len(set(ids))
    report = pg_cli.run("reconcile", "--json", check=False)
    assert report.returncode == 0, report.stdout + report.stderr
