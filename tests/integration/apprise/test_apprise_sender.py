"""The Apprise ChannelSender against real receivers on loopback: Apprise's JSON webhook
(json://), ntfy's HTTP API (ntfy://127.0.0.1), e-mail (mailto:// to aiosmtpd); failures
(HTTP 500, a refused port, a server that never answers) raised as DeliveryFailed naming the
service, fast, and never with the URL's secrets; Apprise's own log kept out of ours; and
`deliver` over real channels, a dead one costing the others nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from adapters.apprise import AppriseSender
from application.alerting.alert import Alert
from application.alerting.channels import Channel, deliver
from application.alerting.ports import DeliveryFailed
from application.ports import AlertLevel
from tests.support.processes import free_port
from tests.support.receivers import HttpReceiver, Reply, SmtpReceiver

NOW = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
SECRET = "s3cretTOKENxyz"


@pytest.fixture(scope="module")
def http() -> Iterator[HttpReceiver]:
    with HttpReceiver(reply_for=lambda r: Reply(status=500) if r.path.startswith("/broken")
                      else Reply(delay=3.0) if r.path.startswith("/silent") else None) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def sender(http: HttpReceiver, smtp: SmtpReceiver) -> AppriseSender:
    http.clear()
    smtp.clear()
    return AppriseSender(timeout_seconds=0.5)


def test_json_webhook_gets_title_body_and_the_level(sender, http):
    sender.send(url=f"json://127.0.0.1:{http.port}/alerts?token={SECRET}", title="[QuantShift CRITICAL] bot down",
                body="paper/eq stopped beating", level=AlertLevel.CRITICAL)
    [request] = http.wait_for(1)
    assert request.method == "POST" and request.path.startswith("/alerts")
    assert request.json()["title"] == "[QuantShift CRITICAL] bot down"
    assert request.json()["message"] == "paper/eq stopped beating"
    assert request.json()["type"] == "failure"  # critical is Apprise's "failure"


def test_ntfy_on_loopback_gets_the_topic_and_the_message(sender, http):
    sender.send(url=f"ntfy://127.0.0.1:{http.port}/qs-alerts", title="drawdown 6%", body="eq fell",
                level=AlertLevel.WARNING)
    [request] = http.wait_for(1)
    assert request.json() == {"topic": "qs-alerts", "title": "drawdown 6%", "message": "eq fell"}


def test_email_reaches_the_smtp_server(sender, smtp):
    sender.send(url=f"mailto://127.0.0.1:{smtp.port}?from=alerts@qs.test&to=ops@qs.test", title="[QuantShift INFO] t",
                body="the figures", level=AlertLevel.INFO)
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ("ops@qs.test",) and mail.message["subject"] == "[QuantShift INFO] t"
    assert "the figures" in mail.message.get_body(("plain",)).get_content()


def failure(sender: AppriseSender, url: str) -> tuple[DeliveryFailed, float]:
    began = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        sender.send(url=url, title="t", body="b", level=AlertLevel.WARNING)
    return failed.value, time.monotonic() - began


def test_an_http_error_names_the_service_and_the_status_never_the_secret(sender, http):
    exc, _ = failure(sender, f"json://user:{SECRET}@127.0.0.1:{http.port}/broken/{SECRET}")
    assert exc.service == "JSON" and str(exc).startswith("JSON: ") and "error=500" in str(exc)
    assert SECRET not in str(exc)


def test_a_refused_port_fails_at_once(sender):
    exc, took = failure(sender, f"ntfy://127.0.0.1:{free_port()}/{SECRET}")
    assert "connection refused" in str(exc) and SECRET not in str(exc)
    assert took < 0.5


def test_a_server_that_never_answers_is_given_up_on_within_the_timeout(sender, http):
    exc, took = failure(sender, f"json://127.0.0.1:{http.port}/silent")
    assert "timed out" in str(exc)
    assert took < 1.5  # 0.5 s read timeout (Apprise's own default would be 4 s)


def test_apprise_logs_nothing_into_ours(sender, caplog):
    caplog.set_level(logging.DEBUG)
    failure(sender, f"json://user:{SECRET}@127.0.0.1:{free_port()}/{SECRET}")
    sender.check(f"ntfy://127.0.0.1:1/{SECRET}")
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []
    assert SECRET not in caplog.text


def test_a_dead_and_a_silent_channel_do_not_stop_or_delay_the_others(sender, http, smtp):
    channels = [Channel(name="dead", url=f"json://127.0.0.1:{free_port()}/x"),
                Channel(name="silent", url=f"json://127.0.0.1:{http.port}/silent"),
                Channel(name="hook", url=f"json://127.0.0.1:{http.port}/alerts"),
                Channel(name="ntfy", url=f"ntfy://127.0.0.1:{http.port}/qs"),
                Channel(name="mail", url=f"mailto://127.0.0.1:{smtp.port}?from=a@qs.test&to=b@qs.test")]
    alert = Alert(key="bot_stale:paper/eq", level=AlertLevel.CRITICAL, title="eq stale", body="no beat for 9 s",
                  figures={"last beat": "9.1 s ago"})
    began = time.monotonic()
    deliveries = deliver(alert, channels=channels, sender=sender, now=NOW, link="http://qs.test/dashboard")
    took = time.monotonic() - began
    assert {d.channel: d.delivered for d in deliveries} == {"dead": False, "silent": False, "hook": True, "ntfy": True,
                                                           "mail": True}
    assert took < 1.5, took  # side by side: bounded by the slowest timeout, not the sum
    arrived = [r for r in http.wait_for(3) if not r.path.startswith("/silent")]
    assert all(r.monotonic - began < 0.5 for r in arrived)  # the live channels did not wait for the dead ones
    hook = next(r for r in arrived if r.path.startswith("/alerts")).json()
    assert hook["title"] == "[QuantShift CRITICAL] eq stale"
    assert "last beat: 9.1 s ago" in hook["message"] and "Dashboard: http://qs.test/dashboard" in hook["message"]
    assert smtp.wait_for(1)[0].message["subject"] == "[QuantShift CRITICAL] eq stale"
