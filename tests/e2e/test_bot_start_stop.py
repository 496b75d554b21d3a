"""Start and stop as an operator drives them, in real processes: `quantshift bots stop|start`
against a running continuous `quantshift paper` session (which obeys within a bar or two and
remembers across its own restart), and the same through a real `quantshift serve`."""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.test_api_server import PASSWORD, USERS, Server, assert_problem, run
from tests.e2e.test_cli_safety import USER_STRATEGIES
from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# Two bots whose strategy sends an order on every bar (FlipFlop), on 0.2 s bars: a bot that
# is not stopped cannot go a second without a new order, so "no new order" cannot pass by accident.
CONFIG = '''
[engine]
heartbeat_seconds = 0.5
market_fill = "this_close"
max_volume_share = 1
''' + NO_ORDER_THROTTLE + flipflop_bot(USER_STRATEGIES, position_fraction=0.05) + flipflop_bot(
    USER_STRATEGIES, name="eth", symbol="ETH-USD", position_fraction=0.05)


def orders(cli, bot: str) -> int:
    try:
        return cli.query("SELECT count(*) FROM orders WHERE account='paper' AND bot=?", bot)[0][0]
    except Exception:  # the database may not exist yet
        return 0


def detail(cli, bot: str) -> str:
    """The bot's heartbeat detail, read from the store (polling the CLI would cost a process a try)."""
    rows = cli.query("SELECT detail FROM heartbeats WHERE account='paper' AND bot=?", bot)
    return rows[0][0] if rows else ""


def bots(cli) -> dict[str, dict]:
    return {b["bot"]: b for b in cli.json("status")["bots"]}


def test_a_running_bot_obeys_stop_and_start_from_the_cli_and_remembers_across_a_restart(cli):
    config = str(cli.config(CONFIG))
    process = cli.start("paper", "--bar-seconds", "0.2", "--config", config)
    try:
        wait_until(lambda: orders(cli, "btc") >= 2 and orders(cli, "eth") >= 2, timeout=30, message="both bots trading")
        stopped = cli.json("bots", "stop", "--bot", "btc", "--reason", "e2e drill", "--config", config)
        assert (stopped["account"], stopped["bot"], stopped["desired"], stopped["reason"]) == (
            "paper", "btc", "stopped", "e2e drill")
        # The bot says it obeys (its heartbeat's detail) within a few seconds ...
        wait_until(lambda: detail(cli, "btc") == f"stopped by {stopped['actor']}: e2e drill",
                   timeout=5, message="the session to report btc stopped")
        # ... and from then on sends nothing, while the other bot trades on.
        btc, eth = orders(cli, "btc"), orders(cli, "eth")
        time.sleep(1.5)  # about seven bars
        assert orders(cli, "btc") == btc, "a stopped bot sent an order"
        assert orders(cli, "eth") > eth, "the other bot should have traded on"
        status = bots(cli)
        assert (status["btc"]["state"], status["btc"]["desired"], status["btc"]["stop_reason"]) == (
            "stopped", "stopped", "e2e drill")
        assert status["btc"]["detail"] == f"stopped by {stopped['actor']}: e2e drill"
        assert status["btc"]["stopped_by"] == stopped["actor"]
        assert (status["eth"]["state"], status["eth"]["desired"], status["eth"]["stopped_by"]) == (
            "running", "running", None)
        assert process.poll() is None, "the session should still be running (stopped is not dead)"

        started = cli.json("bots", "start", "--bot", "btc", "--config", config)
        assert started["desired"] == "running" and started["reason"] == "started by operator"
        wait_until(lambda: orders(cli, "btc") >= btc + 2, timeout=5, message="btc trading again")
        assert detail(cli, "btc") == ""

        # Stopped again, then the process restarts: the new one remembers and sends nothing for btc.
        cli.run("bots", "stop", "--bot", "btc", "--reason", "over the weekend", "--config", config)
        wait_until(lambda: detail(cli, "btc").endswith(": over the weekend"), timeout=5,
                   message="the session to report btc stopped again")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    btc, eth = orders(cli, "btc"), orders(cli, "eth")
    cli.run("paper", "--bar-seconds", "0.2", "--duration", "2", "--config", config)
    assert orders(cli, "btc") == btc, "the restarted session sent an order for the stopped bot"
    assert orders(cli, "eth") > eth

    # A typo is an error that names the bot, and nothing is written.
    result = cli.run("bots", "stop", "--bot", "btx", "--reason", "typo", "--config", config, check=False)
    assert result.returncode == 2 and "no bot btx in account paper" in result.stderr
    assert cli.query("SELECT count(*) FROM bot_runs WHERE bot='btx'") == [(0,)]


@pytest.fixture
def server(tmp_path):
    roles = {role: USERS[role] for role in ("viewer", "operator")}
    srv = Server(tmp_path, f"sqlite:///{tmp_path / 'qs.db'}")
    run(srv.env, "paper", "--days", "1", "--json")  # bots to stop (Server.prepare runs three days)
    for role, email in roles.items():
        run(srv.env, "users", "create", "--email", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    srv.start()
    try:
        srv.log_in(roles)
        yield srv
    finally:
        srv.stop()


def test_operators_stop_and_start_a_bot_through_the_api(server):
    account, bot = next((b["account"], b["bot"]) for b in server.as_role("viewer", "GET", "/api/v1/bots").json())
    path = f"/api/v1/bots/{account}/{bot}"

    response = server.as_role("operator", "POST", f"{path}/stop", json={"reason": "api drill"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["account"], body["bot"], body["desired"], body["actor"], body["reason"], body["trading_state"]) == (
        account, bot, "stopped", USERS["operator"], "api drill", "active")
    row = server.as_role("viewer", "GET", path).json()
    assert (row["desired"], row["stopped_by"], row["stop_reason"]) == ("stopped", USERS["operator"], "api drill")

    # Viewers may not; unknown bots are 404; a reason is required.
    assert_problem(server.as_role("viewer", "POST", f"{path}/stop", json={"reason": "x"}), 403)
    assert_problem(server.as_role("viewer", "POST", f"{path}/start", json={"reason": "x"}), 403)
    assert_problem(server.as_role("operator", "POST", f"/api/v1/bots/{account}/nope/stop", json={"reason": "x"}), 404)
    assert_problem(server.as_role("operator", "POST", f"/api/v1/bots/{account}/nope/start", json={"reason": "x"}), 404)
    assert_problem(server.as_role("operator", "POST", f"{path}/stop", json={}), 400)

    # Stored, not kept by the API process: the CLI, another process on the same store, says so too.
    [cli_row] = [b for b in server.cli_json("status")["bots"] if (b["account"], b["bot"]) == (account, bot)]
    assert (cli_row["desired"], cli_row["stop_reason"]) == ("stopped", "api drill")

    response = server.as_role("operator", "POST", f"{path}/start", json={"reason": "drill over"})
    assert response.status_code == 200, response.text
    assert (response.json()["desired"], response.json()["reason"], response.json()["changed"]) == (
        "running", "drill over", True)
    # Starting it again changes nothing and records nothing.
    again = server.as_role("operator", "POST", f"{path}/start", json={"reason": "twice"})
    assert again.status_code == 200, again.text
    assert (again.json()["desired"], again.json()["reason"], again.json()["changed"]) == (
        "running", "drill over", False)
    row = server.as_role("viewer", "GET", path).json()
    assert (row["desired"], row["stopped_by"], row["stop_reason"]) == ("running", None, None)
    audit = server.as_role("viewer", "GET", f"/api/v1/audit?account={account}&kind=bot_run").json()
    assert [e["message"] for e in audit if e.get("bot") == bot] == [
        f"bot {account}/{bot} stopped: api drill (by {USERS['operator']})",
        f"bot {account}/{bot} started: drill over (by {USERS['operator']})",
    ]
