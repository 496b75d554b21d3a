"""The watchdog with real processes: a real-time paper session SIGKILLed while `quantshift watch`
runs beside it (the "bot crashed" alert reaches a loopback webhook, kill -> delivered measured),
and `serve` and `watch` watching together (one alert, not two; the other one leads once the
leader stops). benchmarks/alert_latency.py takes the figures (median and max of 10)."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.support.processes import ServeProcess, stop_process
from tests.support.receivers import HttpReceiver
from tests.support.waiting import wait_until
from tests.support.watchdog import (
    BAR_SECONDS,
    add_hook_channel,
    kill_and_time,
    lease_holder,
    start,
    titled,
    wait_beating,
    wait_leading,
    watch_config,
)

pytestmark = pytest.mark.e2e

CRASHED = "bot crashed: paper/btc"


def fired(cli, key: str) -> list[dict]:
    rows = cli.query("SELECT data FROM audit_log WHERE kind = 'alert' ORDER BY id")
    return [d for d in (json.loads(r[0]) for r in rows) if d["key"] == key and d["event"] == "fired"]


def test_a_killed_paper_session_is_alerted_by_the_watchdog_beside_it(cli):
    config = cli.config(watch_config())
    with HttpReceiver() as hook:
        add_hook_channel(cli.db, hook, cli.env)
        paper = start(["paper", "--bar-seconds", BAR_SECONDS, "--config", str(config)], env=cli.env,
                      log=cli.tmp / "paper.log")
        watch = start(["watch", "--config", str(config)], env=cli.env, log=cli.tmp / "watch.log")
        try:
            wait_beating(cli.db, paper)
            wait_leading(cli.db, watch)
            seconds = kill_and_time(paper, hook, title=CRASHED)
            print(f"kill -> 'bot crashed' delivered: {seconds:.3f} s")
            assert seconds < 5, f"the alert took {seconds:.2f} s (the goal is 5 s)"
            (request,) = titled(hook, CRASHED)
            assert str(paper.pid) in request.json()["message"]
            # Recorded once delivered: a moment after the receiver got it.
            (entry,) = wait_until(lambda: fired(cli, "bot_crashed:paper/btc"), timeout=5, message="the ALERT entry")
            assert entry["source"] == "watchdog" and entry["level"] == "critical"
            assert entry["deliveries"] == [{"channel": "hook", "delivered": True, "detail": ""}]
            # The watchdog is no bot: status lists the session's bot and instance only.
            status = cli.json("status")
            assert [b["bot"] for b in status["bots"]] == ["btc"]
            assert {i["pid"] for i in status["instances"]} == {paper.pid}
        finally:
            stop_process(paper)
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=10) == 0, (cli.tmp / "watch.log").read_text()
    assert lease_holder(cli.db) is None  # given up on the way out: another watchdog leads at once
    assert "leading: alerting" in (cli.tmp / "watch.log").read_text()


def test_serve_and_watch_together_send_one_alert_and_hand_the_lead_over(cli, tmp_path):
    config = cli.config(watch_config(lease=10))  # longer than the handover below may take: given up, not expired
    with HttpReceiver() as hook:
        add_hook_channel(cli.db, hook, cli.env)
        serve = ServeProcess(tmp_path, database_url=cli.env["QUANTSHIFT_DATABASE_URL"], config=config,
                             jwt_secret="j" * 40, invitation_secret="i" * 40)
        serve.env.update(cli.env)
        serve.launch()
        watch = start(["watch", "--config", str(config)], env=cli.env, log=cli.tmp / "watch.log")
        paper = start(["paper", "--bar-seconds", BAR_SECONDS, "--config", str(config)], env=cli.env,
                      log=cli.tmp / "paper.log")
        try:
            serve.wait_until_up()
            wait_beating(cli.db, paper)
            wait_until(lambda: lease_holder(cli.db), timeout=10, message="a watchdog to lead")
            kill_and_time(paper, hook, title=CRASHED)
            time.sleep(1.5)  # seven ticks of both watchdogs: the other one sends nothing
            assert len(titled(hook, CRASHED)) == 1 and len(fired(cli, "bot_crashed:paper/btc")) == 1
            leader = serve.process if lease_holder(cli.db).startswith(f"{serve.process.pid}@") else watch
            other = watch if leader is serve.process else serve.process
            leader.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            assert leader.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
            wait_leading(cli.db, other, timeout=5)
            assert time.monotonic() - stopped < 8  # long before the lease could expire of the stop: the lease was given up
            time.sleep(0.6)
            assert len(titled(hook, CRASHED)) == 1 and len(fired(cli, "bot_crashed:paper/btc")) == 1
        finally:
            stop_process(paper)
            stop_process(watch)
            serve.stop()


def test_watch_refuses_bad_input_naming_it(cli):
    bad = cli.config(watch_config() + "\n[watchdog]\n")  # a second [watchdog] table: not TOML
    assert "not valid TOML" in cli.invoke("watch", "--config", str(bad)).stderr
    late = cli.config(watch_config().replace("lease_seconds = 1.5", "lease_seconds = 0.1"))
    refused = cli.invoke("watch", "--config", str(late))
    assert refused.returncode == 2 and "lease_seconds (0.1) must be longer than interval_seconds (0.2)" in refused.stderr
    typo = cli.config(watch_config().replace("interval_seconds", "intervall_seconds"))
    assert "watchdog: extra fields found (intervall_seconds)" in cli.invoke("watch", "--config", str(typo)).stderr
    assert cli.invoke("watch", "--duration", "0").returncode == 2
    shown = cli.invoke("watch", "--help")
    assert shown.returncode == 0 and "--duration" in shown.stdout and "leader lease" in shown.stdout
