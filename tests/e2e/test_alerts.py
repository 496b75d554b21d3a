"""Alerts end to end with real processes: a paper session whose bot breaks its drawdown limits
alerts a loopback webhook within 5 s, recorded once; `quantshift watch` repeats the critical one
until `quantshift alerts ack` stops it; the API lists and acknowledges alerts by role."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

import pytest

from tests.e2e.test_api_server import PASSWORD, USERS, Server
from tests.support.alert_drills import BREAKER_KEY, breaker_config, crash_csv
from tests.support.processes import run_quantshift
from tests.support.receivers import HttpReceiver
from tests.support.waiting import wait_until
from tests.support.watchdog import add_hook_channel, start, titled, wait_leading

pytestmark = pytest.mark.e2e

REPEAT_SECONDS = 3  # [alerts] repeat_minutes = 0.05 (breaker_config)
BREAKER = BREAKER_KEY


def alert_entries(cli, key: str) -> list[dict]:
    rows = cli.query("SELECT data FROM audit_log WHERE kind = 'alert' ORDER BY id")
    return [data for data in (json.loads(r[0]) for r in rows) if data["key"] == key]


def test_a_breaker_tripped_in_a_paper_session_is_alerted_within_5_s_and_repeats_until_acked(cli):
    config = cli.config(breaker_config())
    with HttpReceiver() as hook:
        add_hook_channel(cli.db, hook, cli.env)
        cli.run("paper", "--config", str(config), "--data", f"BTC-USD={crash_csv(cli.tmp / 'btc.csv')}", "--json")

        warning, = titled(hook, "bot btc reducing")
        breaker, = titled(hook, "bot btc halted")
        assert warning.json()["type"] == "warning" and breaker.json()["type"] == "failure"  # Apprise's words
        body = breaker.json()["message"]
        assert "drawdown:" in body and "limit: 10.00%" in body and "account sim-0001, bot btc" in body
        # From the halt being written to the webhook getting it: the 5 s goal.
        (halted_at,), = cli.query("SELECT recorded_at FROM audit_log WHERE kind = 'halt' AND message LIKE 'halted%'")
        latency = breaker.at - datetime.fromisoformat(halted_at).timestamp()
        assert 0 <= latency < 5, f"{latency:.3f} s from the halt to the alert"
        print(f"drawdown breaker: halt recorded -> alert delivered {latency * 1000:.0f} ms")

        # Recorded once, with where it went.
        fired = [e for e in alert_entries(cli, BREAKER) if e["event"] == "fired"]
        assert len(fired) == 1 and fired[0]["deliveries"] == [{"channel": "hook", "delivered": True, "detail": ""}]
        listed = cli.json("alerts", "list")
        assert {a["key"] for a in listed} == {BREAKER, "drawdown_warning:sim-0001/btc"}

        # The watchdog repeats the unacknowledged critical alert; the acknowledgement stops it.
        watch = start(["watch", "--config", str(config)], env=cli.env, log=cli.tmp / "watch.log")
        try:
            wait_leading(cli.db, watch)
            wait_until(lambda: titled(hook, "(repeat 1:"), timeout=REPEAT_SECONDS + 10, interval=0.05,
                       message="a repeat of the breaker's alert")
            acked = cli.json("alerts", "ack", BREAKER, "--as", "ops@example.com")
            assert acked["acked_by"] == "ops@example.com" and acked["newly_acked"] and acked["open"]
            sent = len(titled(hook, "bot btc halted"))
            time.sleep(2 * REPEAT_SECONDS + 1)
            assert len(titled(hook, "bot btc halted")) == sent, "repeated after the acknowledgement"
        finally:
            watch.send_signal(signal.SIGTERM)
            watch.wait(timeout=15)
        assert titled(hook, "bot btc reducing") == [warning]  # a warning does not repeat
    events = [e["event"] for e in alert_entries(cli, BREAKER)]
    assert events[0] == "fired" and "repeated" in events and events[-1] == "acked"
    (state,) = [a for a in cli.json("alerts", "list") if a["key"] == BREAKER]
    assert (state["acked"], state["open"], state["acked_by"]) == (True, True, "ops@example.com")


def test_ack_errors_name_the_key(cli):
    cli.run("halt", "--reason", "drill")
    assert cli.run("alerts", "ack", "halted:nope", check=False).stderr.strip() == (
        "error: no alert has the key 'halted:nope' (`quantshift alerts list` shows the open ones)")
    cli.env["QUANTSHIFT_DATABASE_URL"] = f"sqlite:///{cli.tmp / 'missing.db'}"
    missing = cli.run("alerts", "list", check=False)
    assert missing.returncode == 3 and "there is no store" in missing.stderr and "Traceback" not in missing.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts-api")
    config = tmp / "qs.toml"
    config.write_text('[alerts]\ngroup_seconds = 0\n\n[watchdog]\nenabled = false\n\n'
                      '[[bots]]\nname = "btc"\nasset_class = "crypto"\nsymbols = ["BTC-USD"]\n')
    srv = Server(tmp, f"sqlite:///{tmp / 'qs.db'}")
    srv.config = config
    for role, email in USERS.items():
        run_quantshift(srv.env, "users", "create", "--email", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    srv.start()
    try:
        srv.log_in(USERS)
        yield srv
    finally:
        srv.stop()


def test_the_api_lists_alerts_to_viewers_and_operators_acknowledge_them(server):
    run_quantshift(server.env, "halt", "--reason", "api drill", "--config", str(server.config))  # the CLI's alert: halted:*
    listed = server.as_role("viewer", "GET", "/api/v1/alerts").json()
    assert [(a["key"], a["level"], a["open"], a["acked"]) for a in listed] == [("halted:*", "critical", True, False)]
    assert server.as_role("viewer", "POST", "/api/v1/alerts/halted:*/ack").status_code == 403
    assert server.call("POST", "/api/v1/alerts/halted:*/ack").status_code == 401
    acked = server.as_role("operator", "POST", "/api/v1/alerts/halted:*/ack")
    assert acked.status_code == 200, acked.text
    assert (acked.json()["acked_by"], acked.json()["newly_acked"]) == (USERS["operator"], True)
    again = server.as_role("admin", "POST", "/api/v1/alerts/halted:*/ack").json()
    assert (again["newly_acked"], again["acked_by"]) == (False, USERS["operator"])
    unknown = server.as_role("operator", "POST", "/api/v1/alerts/drawdown_breaker:paper/nope/ack")
    assert unknown.status_code == 404 and "no alert has the key 'drawdown_breaker:paper/nope'" in unknown.json()["detail"]
    assert server.as_role("operator", "POST", "/api/v1/alerts/halted:*").status_code == 404  # no /ack
    run_quantshift(server.env, "resume", "--reason", "drill over", "--config", str(server.config))  # resolves it
    closed = server.as_role("operator", "POST", "/api/v1/alerts/halted:*/ack")
    assert closed.status_code == 409 and "is not open: it was resolved" in closed.json()["detail"]
    assert server.as_role("viewer", "GET", "/api/v1/alerts").json() == []
    every = server.as_role("viewer", "GET", "/api/v1/alerts?all=true").json()
    assert [(a["key"], a["open"], a["resolved_at"] is not None) for a in every] == [("halted:*", False, True)]


def _dashboard(server, email: str):
    import httpx

    client = httpx.Client(base_url=server.base, timeout=30, follow_redirects=False)
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"email": email, "password": PASSWORD,
                                                     "csrf_token": client.cookies["qs_csrf"]})
    assert response.status_code == 303, response.text
    return client


def test_the_dashboard_alerts_page_acks_for_operators_only(server):
    run_quantshift(server.env, "halt", "--reason", "dashboard drill", "--config", str(server.config))
    viewer, operator = _dashboard(server, USERS["viewer"]), _dashboard(server, USERS["operator"])
    try:
        seen = viewer.get("/dashboard/alerts")
        assert seen.status_code == 200 and 'data-alert-key="halted:*"' in seen.text and 'data-action="ack"' not in seen.text
        refused = viewer.post("/dashboard/alerts/ack", data={"key": "halted:*", "csrf_token": viewer.cookies["qs_csrf"]})
        assert refused.status_code == 403
        page = operator.get("/dashboard/alerts")
        assert 'data-action="ack"' in page.text and 'href="/dashboard/alerts"' in page.text  # the nav link
        stale = operator.post("/dashboard/alerts/ack", data={"key": "halted:*", "csrf_token": "forged"})
        assert stale.status_code == 403  # the CSRF check
        done = operator.post("/dashboard/alerts/ack", data={"key": "halted:*", "csrf_token": operator.cookies["qs_csrf"]})
        assert done.status_code == 303 and done.headers["location"] == "/dashboard/alerts"
        after = operator.get("/dashboard/alerts").text
        assert USERS["operator"] in after and 'data-action="ack"' not in after
        unknown = operator.post("/dashboard/alerts/ack", data={"key": "halted:nope",
                                                               "csrf_token": operator.cookies["qs_csrf"]})
        assert unknown.status_code == 404 and "no alert has the key" in unknown.text
    finally:
        viewer.close()
        operator.close()
    run_quantshift(server.env, "resume", "--reason", "drill over", "--config", str(server.config))
