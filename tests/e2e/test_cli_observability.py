"""Sentry and structured logs as an operator gets them (docs/monitoring.md, "Sentry" and
"Structured logs"): real `quantshift` processes, a loopback HTTP server receiving the Sentry
envelopes (tests/support/sentry_envelopes.py).

One paper session does it all (a process costs a second of CPU): a strategy that raises with
the venue's secret key and a channel URL in its message (reported, tagged, redacted; the
session goes on), then a strategy whose bad return value breaks the cycle outside the safe
wrapper (the CLI's crash path: reported, exit 1); its stderr is JSON lines throughout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.support.processes import ServeProcess, free_port
from tests.support.receivers import HttpReceiver
from tests.support.sentry_envelopes import dsn_for, events, raw_bodies

pytestmark = pytest.mark.e2e

STRATEGIES = Path(__file__).with_name("obs_strategies.py")
SECRET = "alpaca-secret-7f3c9e2b41d8a6"
API_KEY = "PKOBSTEST8C2D4E6F"
CHANNEL_TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # in obs_strategies.CHANNEL_URL
ORDER_FIELDS = {"account", "bot", "symbol", "client_order_id"}


@pytest.fixture(scope="module")
def sentry() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(sentry: HttpReceiver) -> HttpReceiver:
    sentry.clear()
    return sentry


def two_bots(cli: Cli) -> Path:
    return cli.config(f"""
[[bots]]
name = "leaky"
asset_class = "equity"
symbols = ["SPY"]
strategy = "{STRATEGIES}:LeakyRaiser"

[[bots]]
name = "broken"
asset_class = "equity"
symbols = ["AAPL"]
strategy = "{STRATEGIES}:NotASignal"
""")


def json_lines(stderr: str) -> list[dict]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # any other line fails here
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= set(line), line
        assert datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    return lines


def test_a_paper_session_reports_to_sentry_tagged_and_redacted_and_logs_json_lines(cli, receiver):
    cli.env.update({"QUANTSHIFT_SENTRY_DSN": dsn_for(receiver), "ALPACA_SECRET_KEY": SECRET,
                    "ALPACA_API_KEY": API_KEY})
    result = cli.run("paper", "--days", "2", "--config", str(two_bots(cli)), "--log-format", "json", check=False)
    assert result.returncode == 1, result.stderr  # the broken bot's defect ends the session

    # Sentry: the strategy's exception, then the crash; each tagged; flushed before the exit.
    strategy, crash = events(receiver)
    assert strategy["exception"]["values"][-1]["type"] == "RuntimeError"
    assert strategy["exception"]["values"][-1]["value"] == "could not alert tgram://[Filtered] using [Filtered]"
    assert strategy["tags"]["bot"] == "leaky" and strategy["tags"]["symbol"] == "SPY"
    assert strategy["tags"]["account"].startswith("sim-")
    frame = strategy["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "on_bar" and frame["vars"]["api_key"] == "[Filtered]"  # a local variable
    assert crash["exception"]["values"][-1]["type"] == "AttributeError"
    assert (crash["tags"]["bot"], crash["tags"]["symbol"]) == ("broken", "AAPL")
    assert crash["tags"]["account"] == strategy["tags"]["account"]
    for event in (strategy, crash):
        assert event["environment"] == "paper" and event["release"].startswith("quantshift@")
        assert "user" not in event  # no personal data
    sent = raw_bodies(receiver)
    assert SECRET not in sent and API_KEY not in sent and CHANNEL_TOKEN not in sent

    # Logs: every stderr line a JSON object; order lines name the order, its bot and account.
    lines = json_lines(result.stderr)
    orders = [line for line in lines if line["message"].startswith("order ")]
    assert len(orders) >= 4 and all(ORDER_FIELDS <= set(line) for line in orders), orders
    assert {line["bot"] for line in orders} == {"leaky"}  # the broken bot never ordered
    assert all(line["client_order_id"] in line["message"] or line["message"].startswith("order intent")
               for line in orders)
    failed = next(line for line in lines if line["message"] == "strategy leaky_raiser failed on SPY")
    assert failed["level"] == "error" and failed["bot"] == "leaky"
    assert "RuntimeError: could not alert tgram://[Filtered] using [Filtered]" in failed["exc_info"]
    defect = next(line for line in lines if line["logger"] == "quantshift.cli")
    assert defect["level"] == "critical" and defect["bot"] == "broken" and "AttributeError" in defect["exc_info"]
    assert SECRET not in result.stderr and CHANNEL_TOKEN not in result.stderr


def test_without_the_dsn_nothing_is_sent(cli, receiver):
    cli.env.update({"ALPACA_SECRET_KEY": SECRET, "QUANTSHIFT_LOG_FORMAT": "json"})
    result = cli.run("paper", "--days", "2", "--config", str(two_bots(cli)), check=False)
    assert result.returncode == 1
    assert any(line["logger"] == "quantshift.cli" for line in json_lines(result.stderr))  # the env var's JSON
    assert receiver.requests == []


def test_live_says_its_refusal_as_a_json_line(cli):
    refused = cli.run("live", "--log-format", "json", check=False)
    assert refused.returncode == 2
    [line] = json_lines(refused.stderr)
    assert (line["level"], line["logger"]) == ("error", "quantshift.cli")
    assert line["message"].startswith("error: live needs --config bots.toml")


def test_a_bad_log_format_or_dsn_is_refused_naming_it(cli):
    for args, env in ((["--log-format", "xml"], {}), ([], {"QUANTSHIFT_LOG_FORMAT": "yaml"})):
        cli.env.update(env)
        refused = cli.invoke("paper", "--days", "1", *args)
        assert refused.returncode == 2
        assert "--log-format" in refused.stderr and "QUANTSHIFT_LOG_FORMAT" in refused.stderr
        assert "'text', 'json'" in refused.stderr
    cli.env["QUANTSHIFT_LOG_FORMAT"] = "json"
    cli.env["QUANTSHIFT_SENTRY_DSN"] = "ftp://sekrit-key@sentry.example.com"
    refused = cli.invoke("paper", "--days", "1")
    assert refused.returncode == 2, refused.stderr
    assert "QUANTSHIFT_SENTRY_DSN: not a Sentry DSN" in refused.stderr
    assert "sekrit-key" not in refused.stderr  # the DSN holds the project's key: never repeated


def test_serve_logs_json_lines_from_its_worker_and_uvicorn(tmp_path, receiver):
    server = ServeProcess(tmp_path, database_url=f"sqlite:///{tmp_path / 'qs.db'}", jwt_secret="j" * 40,
                          invitation_secret="i" * 40)
    server.env.update({"QUANTSHIFT_LOG_FORMAT": "json", "QUANTSHIFT_SENTRY_DSN": dsn_for(receiver)})
    server.launch()
    try:
        server.wait_until_up()
    finally:
        server.stop()
    lines = json_lines(server.log.read_text())
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers, loggers  # "Started server process", "Uvicorn running on ..."
    assert any("Application startup complete" in line["message"] for line in lines)


def test_serve_refuses_a_bad_dsn_before_it_binds_its_port(cli):
    cli.env.update({"QUANTSHIFT_JWT_SECRET": "j" * 40, "QUANTSHIFT_INVITATION_SECRET": "i" * 40,
                    "QUANTSHIFT_SENTRY_DSN": "https://sentry.example.com/1"})  # no public key
    refused = cli.run("serve", "--port", str(free_port()), check=False, timeout=30)
    assert refused.returncode == 2, refused.stderr
    assert "QUANTSHIFT_SENTRY_DSN: not a Sentry DSN (Missing public key)" in refused.stderr
