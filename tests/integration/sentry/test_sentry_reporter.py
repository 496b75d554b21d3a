"""The Sentry adapter on the real sentry-sdk, sending to a loopback envelope receiver: what it
tags, and that the redactor runs over everything the SDK gathered (the exception, each
frame's local variables, breadcrumbs from logging, extra, request data) before it leaves.
The SDK's client is process-wide state: each case runs in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.receivers import HttpReceiver
from tests.support.sentry_envelopes import dsn_for, events, raw_bodies

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "tok-9d8c7b6a5f4e3d2c"  # what every kind of secret below holds

SCRIPT = textwrap.dedent(f"""
    import logging, sys
    import sentry_sdk
    from application.log_context import log_context
    from entrypoints.error_reporting import start_error_reporting
    from entrypoints.logging_setup import LogFormat, configure_logging

    configure_logging(log_format=LogFormat.JSON)
    reporter = start_error_reporting(environment="watch")
    log = logging.getLogger("quantshift.watchdog")
    log.info("sent to tgram://123456:{TOKEN}/987 with Authorization: Bearer {TOKEN}")  # a breadcrumb
    sentry_sdk.set_extra("channel", {{"url": "discord://1/{TOKEN}", "api_key": "{TOKEN}"}})

    def request(event, hint):  # what a web integration would attach
        event["request"] = {{"url": "https://x.test/api?token={TOKEN}&page=2", "method": "GET",
                            "headers": {{"Authorization": "Bearer {TOKEN}", "X-Api-Key": "{TOKEN}", "Accept": "*/*"}},
                            "data": {{"password": "{TOKEN}"}}, "cookies": {{"session": "{TOKEN}"}}}}
        return event

    sentry_sdk.get_isolation_scope().add_event_processor(request)

    def submit():
        secret_key = "{TOKEN}"
        raise ValueError("venue refused key " + secret_key)

    try:
        with log_context(account="paper", bot="eq", symbol="SPY", client_order_id="qs-0123"):
            submit()
    except ValueError as exc:
        reporter.capture(exc, extra={{"request": "GET /api/v1/bots"}})
    reporter.flush()
    print("sentry_sdk" in sys.modules)
""")


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_an_event_is_tagged_from_the_log_context_and_nothing_secret_leaves():
    with HttpReceiver() as receiver:
        result = run({**os.environ, "QUANTSHIFT_SENTRY_DSN": dsn_for(receiver), "ALPACA_SECRET_KEY": TOKEN})
        assert result.returncode == 0, result.stderr
        [event] = events(receiver)
        sent = raw_bodies(receiver)
    assert TOKEN not in sent
    assert event["environment"] == "watch" and event["release"].startswith("quantshift@")
    assert event["tags"] == {"account": "paper", "bot": "eq", "symbol": "SPY", "client_order_id": "qs-0123"}
    assert event["exception"]["values"][-1]["value"] == "venue refused key [Filtered]"
    assert event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["vars"]["secret_key"] == "[Filtered]"
    [crumb] = [c for c in event["breadcrumbs"]["values"] if c.get("category") == "quantshift.watchdog"]
    assert crumb["message"] == "sent to tgram://[Filtered] with Authorization: [Filtered] [Filtered]"
    assert event["extra"]["channel"] == {"url": "discord://[Filtered]", "api_key": "[Filtered]"}
    assert event["extra"]["request"] == "GET /api/v1/bots"
    request = event["request"]
    assert request["url"] == "https://x.test/api?token=[Filtered]&page=2"
    assert request["headers"] == {"Authorization": "[Filtered]", "X-Api-Key": "[Filtered]", "Accept": "*/*"}
    assert request["data"] == {"password": "[Filtered]"}
    assert "user" not in event
    assert TOKEN not in result.stderr  # the JSON log line of the breadcrumb, redacted too


def test_without_the_dsn_nothing_is_reported_and_the_sdk_is_not_even_loaded():
    script = ("import sys\n"
              "from entrypoints.error_reporting import process_error_reporter, start_error_reporting\n"
              "reporter = start_error_reporting(environment='paper')\n"
              "reporter.capture(ValueError('x')); reporter.flush()\n"
              "print(type(reporter).__name__, process_error_reporter() is reporter, 'sentry_sdk' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "QUANTSHIFT_SENTRY_DSN"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NoErrorReporter", "True", "False"]
