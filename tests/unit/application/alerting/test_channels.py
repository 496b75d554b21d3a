"""Channels: validation, quiet hours (local time, across midnight, critical ignores them),
min level, the message, and `deliver` (every channel that wants it, side by side, one failing
or stalling costs the others nothing, never raises)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from datetime import time as clock_time

import pytest

from application.alerting.alert import Alert
from application.alerting.channels import (
    BELOW_MIN_LEVEL,
    DISABLED,
    QUIET,
    Channel,
    Delivery,
    deliver,
    message,
    parse_quiet_hours,
)
from application.ports import AlertLevel
from domain.errors import ConfigurationError
from tests.fakes.channel_sender import RecordingChannelSender


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=timezone.utc)


def alert(level: AlertLevel = AlertLevel.WARNING, **fields) -> Alert:
    return Alert(key="drawdown_warning:paper/eq", level=level, title="drawdown 6.1%", body="eq fell", **fields)


@pytest.mark.parametrize("text, window", [("22:00-07:00", (clock_time(22), clock_time(7))),
                                          (" 9:30 - 17:05 ", (clock_time(9, 30), clock_time(17, 5))),
                                          ("00:00-23:59", (clock_time(0), clock_time(23, 59)))])
def test_quiet_hours_parse(text, window):
    assert parse_quiet_hours(text) == window


@pytest.mark.parametrize("text, words", [("22-07", "not like 22:00-07:00"), ("25:00-07:00", "not a time of day"),
                                         ("22:00-22:00", "is empty"), ("22:61-07:00", "not a time of day"),
                                         ("", "not like")])
def test_bad_quiet_hours_are_refused_naming_the_field(text, words):
    with pytest.raises(ConfigurationError, match="quiet_hours") as refused:
        parse_quiet_hours(text)
    assert words in str(refused.value)


@pytest.mark.parametrize("fields, words", [
    ({"name": "ops team"}, "name: 'ops team'"), ({"name": "x" * 41}, "name:"), ({"name": ""}, "name:"),
    ({"url": "  "}, "url: an Apprise URL is wanted"), ({"min_level": "loud"}, "min_level: 'loud' is not one of"),
    ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA time zone"),
    ({"enabled": "yes"}, "enabled: true or false"), ({"quiet_hours": "late"}, "quiet_hours:")])
def test_a_bad_channel_is_refused_naming_the_field(fields, words):
    with pytest.raises(ConfigurationError) as refused:
        Channel(**{"name": "ops", "url": "json://127.0.0.1/x", **fields})
    assert words in str(refused.value)


def test_the_url_is_not_in_the_repr():
    assert "s3cret" not in repr(Channel(name="ops", url="tgram://s3cret/1"))


def test_quiet_hours_crossing_midnight_are_read_on_the_channels_local_clock():
    paris = Channel(name="ops", url="json://x", quiet_hours="22:00-07:00", timezone="Europe/Paris")  # UTC+1 in March
    assert paris.quiet_at(at(21, 0))  # 22:00 in Paris: the window starts (inclusive)
    assert not paris.quiet_at(at(20, 59))
    assert paris.quiet_at(at(2))  # 03:00 local, after midnight
    assert paris.quiet_at(at(5, 59))  # 06:59 local
    assert not paris.quiet_at(at(6, 0))  # 07:00 local: the window ends (exclusive)
    day = Channel(name="day", url="json://x", quiet_hours="12:00-13:00")
    assert day.quiet_at(at(12, 30)) and not day.quiet_at(at(13)) and not day.quiet_at(at(11, 59))


def test_critical_ignores_quiet_hours_and_min_level_filters():
    channel = Channel(name="ops", url="json://x", min_level="warning", quiet_hours="22:00-07:00")
    night = at(23)
    assert channel.skip_reason(AlertLevel.CRITICAL, now=night) == ""
    assert channel.skip_reason(AlertLevel.WARNING, now=night) == QUIET
    assert channel.skip_reason(AlertLevel.WARNING, now=at(12)) == ""
    assert channel.skip_reason(AlertLevel.INFO, now=at(12)) == BELOW_MIN_LEVEL
    critical_only = Channel(name="pager", url="json://y", min_level="critical")
    assert critical_only.skip_reason(AlertLevel.WARNING, now=at(12)) == BELOW_MIN_LEVEL
    assert Channel(name="off", url="json://z", enabled=False).skip_reason(AlertLevel.CRITICAL, now=at(12)) == DISABLED


def test_the_message_has_the_level_in_the_title_and_figures_and_link_in_the_body():
    title, body = message(alert(AlertLevel.CRITICAL, account="paper", bot="eq",
                                figures={"drawdown": "6.1%", "limit": "10%"}),
                          link="https://qs.example.com/dashboard/bots/eq")
    assert title == "[QuantShift CRITICAL] drawdown 6.1%"
    assert body == ("eq fell\n\ndrawdown: 6.1%\nlimit: 10%\n\naccount paper, bot eq\n\n"
                    "Dashboard: https://qs.example.com/dashboard/bots/eq")


def test_deliver_sends_to_each_channel_that_wants_it_and_says_why_not_to_the_others():
    sender = RecordingChannelSender(failing={"json://dead"})
    channels = [Channel(name="a", url="json://a"), Channel(name="dead", url="json://dead"),
                Channel(name="quiet", url="json://q", quiet_hours="22:00-07:00"),
                Channel(name="pager", url="json://p", min_level="critical"),
                Channel(name="off", url="json://o", enabled=False)]
    deliveries = deliver(alert(), channels=channels, sender=sender, now=at(23), link="http://x/d")
    assert deliveries == (Delivery(channel="a", delivered=True, detail=""),
                          Delivery(channel="dead", delivered=False, detail="fake: refused"),
                          Delivery(channel="quiet", delivered=False, detail=QUIET),
                          Delivery(channel="pager", delivered=False, detail=BELOW_MIN_LEVEL),
                          Delivery(channel="off", delivered=False, detail=DISABLED))
    assert sender.urls() == ["json://a"]
    assert sender.sent[0].title == "[QuantShift WARNING] drawdown 6.1%" and sender.sent[0].level is AlertLevel.WARNING


def test_a_slow_channel_does_not_hold_the_others_back():
    sender = RecordingChannelSender(slow={"json://slow": 0.5})
    channels = [Channel(name=f"c{i}", url=f"json://c{i}") for i in range(3)] + [Channel(name="slow", url="json://slow")]
    began = time.monotonic()
    deliveries = deliver(alert(), channels=channels, sender=sender, now=at(12))
    assert all(d.delivered for d in deliveries)
    fast = [s.at - began for s in sender.sent if s.url != "json://slow"]
    assert len(fast) == 3 and max(fast) < 0.3  # all began at once, not after the slow one
    assert time.monotonic() - began < 1.0


class Exploding:
    def send(self, **_):
        raise RuntimeError("json://user:SECRET@host/ refused")

    def check(self, url):
        raise AssertionError


def test_deliver_never_raises_and_never_repeats_a_strangers_message():
    deliveries = deliver(alert(), channels=[Channel(name="a", url="json://a")], sender=Exploding(), now=at(12))
    assert deliveries == (Delivery(channel="a", delivered=False, detail="unexpected RuntimeError"),)


def test_no_channels_no_deliveries():
    assert deliver(alert(), channels=[], sender=RecordingChannelSender(), now=at(12)) == ()
