"""`quantshift reconcile` and the start-up reconciliation, against the durable simulated venue."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_cli_safety import USER_STRATEGIES, count
from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot

pytestmark = pytest.mark.e2e

def config(cli):
    strategy = USER_STRATEGIES
    return cli.config('''
[engine]
heartbeat_seconds = 0.3
market_fill = "next_open"
max_volume_share = 1
''' + NO_ORDER_THROTTLE + flipflop_bot(strategy))


def test_reconcile_agrees_after_a_session_and_halts_on_what_it_cannot_explain(cli):
    bots = config(cli)
    cli.run("paper", "--bar-seconds", "0.1", "--duration", "2.5", "--config", str(bots))
    fills = count(cli, "SELECT count(*) FROM fills")
    assert fills >= 4
    clean = json.loads(cli.run("reconcile", "--json", "--config", str(bots)).stdout)
    assert clean["ok"] is True and clean["backfilled_fills"] == 0

    # A position that differs from the venue's cannot be explained: a mismatch, exit code 4...
    cli.query_write("UPDATE positions SET quantity = '123' WHERE bot='btc'")
    result = cli.run("reconcile", "--json", "--config", str(bots), check=False)
    assert result.returncode == 4
    mismatch = json.loads(result.stdout)
    assert mismatch["ok"] is False and any("BTC-USD" in m and "123" in m for m in mismatch["mismatches"])
    # ...and a bot started on it is halted before it trades.
    cli.run("paper", "--bar-seconds", "0.1", "--duration", "1.5", "--config", str(bots))
    halt = cli.query("SELECT state, actor, reason FROM control WHERE scope='paper/btc'")
    assert halt[0][0] == "halted" and halt[0][1] == "reconciliation" and "BTC-USD" in halt[0][2]
