"""End-to-end safety drills with real processes: halt during a running session,
SIGKILL then status, and the runaway-order scenario."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from datetime import datetime, timedelta

import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

USER_STRATEGIES = Path(__file__).with_name("user_strategies.py")
OPEN = "('initialized','submitted','accepted','partially_filled','pending_cancel')"


# The built-in bots, named in the file: a config file without [[bots]] is refused.
DEFAULT_BOTS = """
[[bots]]
name = "equity"
asset_class = "equity"
symbols = ["SPY", "AAPL"]
params = { fast = 10, slow = 30 }
position_fraction = 0.45

[[bots]]
name = "crypto"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 50000
params = { fast = 24, slow = 96 }
position_fraction = 0.5
"""


def all_running(cli) -> bool:
    # Until the session has made its store, `status` says there is none (it never creates one).
    if not cli.db.exists():
        return False
    bots = cli.json("status")["bots"]
    return bool(bots) and all(b["state"] == "running" for b in bots)


def count(cli, sql: str, *params) -> int:
    try:
        return cli.query(sql, *params)[0][0]
    except Exception:  # the database may not exist yet
        return 0


def test_halt_stops_a_running_session_within_a_second_and_survives_restart(cli):
    # Partial fills keep orders open across bars, so the halt has open orders to cancel.
    config = cli.config("[engine]\nmax_volume_share = 0.000001\ntimeframe = \"5m\"\n" + DEFAULT_BOTS)
    bot = cli.start("paper", "--days", "400", "--config", str(config), "--json")
    try:
        wait_until(lambda: count(cli, f"SELECT count(*) FROM orders WHERE status IN {OPEN}") >= 1,
                   timeout=90, message="an open order in the running session")
        cli.run("halt", "--reason", "e2e drill")
        # When the switch was stored (the CLI process takes a moment to start).
        halted_at = datetime.fromisoformat(cli.query("SELECT changed_at FROM control WHERE scope='*'")[0][0])
        time.sleep(2.0)
        assert bot.poll() is None, "the session should still be running (halted, not dead)"
        late = [r for (r,) in cli.query("SELECT recorded_at FROM audit_log WHERE message LIKE 'submitted to the venue%'")
                if datetime.fromisoformat(r) > halted_at + timedelta(seconds=1)]
        assert late == [], "an order was submitted more than 1 s after the halt"
        assert count(cli, f"SELECT count(*) FROM orders WHERE status IN {OPEN}") == 0, "open orders not cancelled"
        assert count(cli, "SELECT count(*) FROM orders WHERE status='cancelled' AND reason LIKE 'halt:%'") >= 1
        status = cli.json("status")
        assert status["halt"]["state"] == "halted" and status["halt"]["reason"] == "e2e drill"
        assert {b["state"] for b in status["bots"]} == {"halted"}
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
    # A new process: the halt is still there, and nothing is sent.
    report = cli.json("paper", "--days", "3")
    assert report["orders"] == 0
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}
    cli.run("resume")
    report = cli.json("paper", "--days", "3")
    assert report["orders"] > 0
    assert count(cli, "SELECT count(*) FROM audit_log WHERE kind='resume'") >= 1


def test_sigkill_shows_stale_within_two_heartbeats(cli):
    config = cli.config("[engine]\nheartbeat_seconds = 0.5\n" + DEFAULT_BOTS)
    bot = cli.start("paper", "--bar-seconds", "0.2", "--config", str(config))
    try:
        wait_until(lambda: all_running(cli), timeout=60, interval=0.05, message="bots running")
    finally:
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(timeout=10)
    time.sleep(2 * 0.5 + 0.15)
    states = {b["bot"]: b["state"] for b in cli.json("status")["bots"]}
    assert states == {"equity": "stale", "crypto": "stale"}


def test_clean_stop_shows_stopped(cli):
    config = cli.config("[engine]\nheartbeat_seconds = 0.5\n" + DEFAULT_BOTS)
    cli.run("paper", "--bar-seconds", "0.2", "--duration", "1.5", "--config", str(config))
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}


def test_runaway_signals_reach_the_venue_once_and_the_throttle_halts(cli):
    strategies = USER_STRATEGIES
    config = cli.config(f'''
[engine]
evaluations_per_bar = 500
timeframe = "15m"

[[bots]]
name = "spy"
asset_class = "equity"
symbols = ["SPY"]
strategy = "{strategies}:AlwaysLong"
''')
    report = cli.json("paper", "--days", "1", "--config", str(config))
    assert report["orders"] == 1, "500 identical signals must be one order"
    assert count(cli, "SELECT count(*) FROM audit_log WHERE message LIKE 'submitted to the venue%'") == 1

    config = cli.config(f'''
[engine]
timeframe = "5s"
market_fill = "this_close"
max_volume_share = 1

[risk]
max_orders_per_symbol_per_minute = 10

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 5000
strategy = "{strategies}:FlipFlop"
''')
    report = cli.json("paper", "--days", "1", "--config", str(config))
    assert report["orders"] == 10, "the 11th order within a minute must be stopped"
    halt = cli.query("SELECT state, actor, reason FROM control WHERE scope='sim-0002/btc'")
    assert halt and halt[0][0] == "halted" and halt[0][1] == "risk-engine" and "order_rate_symbol" in halt[0][2]
    assert report["critical_errors"] >= 1 and report["go_live"] is False
    ids = cli.query("SELECT client_order_id FROM orders WHERE account='sim-0002'")
    assert len(ids) == len(set(ids))


def test_a_second_process_cannot_trade_the_same_bots(cli):
    config = cli.config("[engine]\nheartbeat_seconds = 0.5\n" + DEFAULT_BOTS)
    first = cli.start("paper", "--bar-seconds", "0.2", "--config", str(config))
    try:
        wait_until(lambda: all_running(cli), timeout=60, interval=0.05, message="bots running")
        second = cli.run("paper", "--bar-seconds", "0.2", "--duration", "1", "--config", str(config), check=False)
        assert first.poll() is None, first.communicate()[1]
        # Refused by the heartbeat check or by the venue's lock, whichever it meets first.
        assert second.returncode == 2
        assert "is already running" in second.stderr or "in use by another process" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}
