"""Adding, listing, removing and testing channels: the URL checked and stored encrypted (or the
env: reference kept), every change audited (who, what) without the secret, a test recorded as
ALERT_TEST entries, and the go-live gate's "monitoring and alerting" item counting a channel."""

from __future__ import annotations

import json
from datetime import timedelta

import attrs
import pytest
from cryptography.fernet import Fernet

from adapters.security.secret_box import FernetSecretBox
from application.accounts.notification_admin import ChangeNotificationSettings, change_notification_settings
from application.accounts.notification_settings import NotificationSettings
from application.alerting.channel_admin import (
    AddChannel,
    ChannelExists,
    RemoveChannel,
    UnknownChannel,
    add_channel,
    list_channels,
    remove_channel,
    send_channel_test,
)
from application.alerting.channel_store import KEY, SecretResolvingSender
from application.golive.infrastructure import alerting_item
from application.records import AuditKind
from domain.errors import ConfigurationError
from tests.fakes.builders import T0
from tests.fakes.channel_sender import RecordingChannelSender
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore

SECRET = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG = f"tgram://123456789:{SECRET}/-100123"


@attrs.define
class World:
    store: InMemoryStore = attrs.field(factory=InMemoryStore)
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(T0))
    inner: RecordingChannelSender = attrs.field(factory=RecordingChannelSender)
    box: FernetSecretBox = attrs.field(factory=lambda: FernetSecretBox(keys=Fernet.generate_key().decode()))
    environ: dict[str, str] = attrs.field(factory=dict)

    def add(self, name: str, url: str, **fields):
        return add_channel(AddChannel(name=name, url=url, actor="admin@example.com", **fields),
                           uow_factory=self.store, clock=self.clock, sender=self.inner, box=self.box,
                           environ=self.environ)

    @property
    def sender(self) -> SecretResolvingSender:
        return SecretResolvingSender(sender=self.inner, box=self.box, environ=self.environ)

    def test(self, name: str | None = None):
        return send_channel_test(name=name, actor="admin@example.com", uow_factory=self.store, clock=self.clock,
                                 sender=self.sender, link="http://qs.test/dashboard")

    def audit(self, kind: AuditKind):
        with self.store() as uow:
            return uow.audit.list(kind=kind.value)

    def everything_stored(self) -> str:
        with self.store() as uow:
            return json.dumps([uow.settings.get(KEY), [attrs.asdict(e) for e in uow.audit.list()]], default=str)


@pytest.fixture
def world() -> World:
    return World()


def test_add_checks_encrypts_and_audits_without_the_secret(world):
    shown = world.add("tg", TG, min_level="critical", quiet_hours="22:00-07:00", timezone="Europe/Paris")
    assert (shown.name, shown.shown, shown.secret, shown.min_level, shown.quiet_hours, shown.timezone) == (
        "tg", "tgram://…", "encrypted", "critical", "22:00-07:00", "Europe/Paris")
    with world.store() as uow:
        assert [c.name for c in list_channels(uow)] == ["tg"]
    [entry] = world.audit(AuditKind.SESSION)
    assert entry.message == ("alert channel tg added by admin@example.com: tgram://…, critical and above, "
                             "quiet 22:00-07:00 Europe/Paris (critical alerts still go out)")
    assert entry.data["actor"] == "admin@example.com" and entry.data["after"]["shown"] == "tgram://…"
    assert SECRET not in world.everything_stored() and "123456789" not in world.everything_stored()


def test_an_env_reference_is_kept_and_checked_when_the_variable_is_set_here(world):
    assert world.add("hook", "env:QS_HOOK").note.startswith("QS_HOOK is not set here")
    world.environ["QS_OTHER"] = "badscheme://x"
    with pytest.raises(ConfigurationError, match="QS_OTHER holds a URL that cannot be used"):
        world.add("other", "env:QS_OTHER")
    world.environ["QS_OTHER"] = "json://127.0.0.1:9/x"
    added = world.add("other", "env:QS_OTHER")
    assert (added.shown, added.secret, added.note) == ("env:QS_OTHER", "env:QS_OTHER", "")


@pytest.mark.parametrize("name, url, fields, error, words", [
    ("a b", TG, {}, ConfigurationError, "name:"),
    ("x", "badscheme://x", {}, ConfigurationError, "url: fake sender does not know it"),
    ("x", "fernet:abc", {}, ConfigurationError, "give the channel's Apprise URL itself"),
    ("x", "env:1BAD", {}, ConfigurationError, "not an environment reference"),
    ("x", TG, {"quiet_hours": "late"}, ConfigurationError, "quiet_hours:"),
    ("x", TG, {"timezone": "Nowhere/City"}, ConfigurationError, "timezone:"),
    ("x", TG, {"min_level": "loud"}, ConfigurationError, "min_level:"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(world, name, url, fields, error, words):
    with pytest.raises(error, match=words):
        world.add(name, url, **fields)
    assert world.audit(AuditKind.SESSION) == []


def test_a_taken_name_is_refused(world):
    world.add("tg", TG)
    with pytest.raises(ChannelExists, match="exists already"):
        world.add("tg", "json://127.0.0.1/x")


def test_without_the_key_an_url_cannot_be_added_but_an_env_reference_can(world):
    world.box = FernetSecretBox(keys="")
    with pytest.raises(ConfigurationError, match="QUANTSHIFT_SECRETS_KEY is not set"):
        world.add("tg", TG)
    assert world.add("hook", "env:QS_HOOK").secret == "env:QS_HOOK"


def test_remove_is_audited_and_an_unknown_name_named(world):
    world.add("tg", TG)
    world.add("hook", "env:QS_HOOK")
    gone = remove_channel(RemoveChannel(name="tg", actor="root@example.com"), uow_factory=world.store,
                          clock=world.clock)
    assert gone.name == "tg"
    with world.store() as uow:
        assert [c.name for c in list_channels(uow)] == ["hook"]
    assert world.audit(AuditKind.SESSION)[-1].message.startswith("alert channel tg removed by root@example.com")
    with pytest.raises(UnknownChannel, match=r"no alert channel named 'tg' \(the channels: hook\)"):
        remove_channel(RemoveChannel(name="tg", actor="root@example.com"), uow_factory=world.store, clock=world.clock)


def test_a_test_goes_to_every_channel_whatever_its_level_and_is_recorded_per_channel(world):
    world.add("tg", TG, min_level="critical", quiet_hours="00:00-23:59")
    world.add("hook", "env:QS_HOOK")  # not set: fails, recorded
    deliveries = world.test()
    assert [(d.channel, d.delivered) for d in deliveries] == [("tg", True), ("hook", False)]
    assert "QS_HOOK is not set" in deliveries[1].detail
    assert world.inner.urls() == [TG]
    assert world.inner.sent[0].title == "[QuantShift INFO] test alert"
    assert "Dashboard: http://qs.test/dashboard" in world.inner.sent[0].body
    ok, failed = world.audit(AuditKind.ALERT_TEST)
    assert ok.data == {"channel": "tg", "shown": "tgram://…", "sent_to": ["tg"], "delivered": True,
                       "actor": "admin@example.com"}
    assert failed.data["delivered"] is False and failed.severity == "warning" and "QS_HOOK" in failed.data["detail"]
    assert SECRET not in world.everything_stored()


def test_a_test_of_one_channel_and_of_none(world):
    with pytest.raises(ConfigurationError, match="no alert channels are saved"):
        world.test()
    world.add("tg", TG)
    world.add("other", "json://127.0.0.1:9/x")
    assert [d.channel for d in world.test("other")] == ["other"]
    with pytest.raises(UnknownChannel, match="'nope'"):
        world.test("nope")


def gate(world: World, *, smtp: bool = False, days: float = 0):
    with world.store() as uow:
        return alerting_item(uow, smtp_configured=smtp, now=T0 + timedelta(days=days))


def test_the_gate_counts_a_channel_and_its_delivered_test(world):
    item = gate(world)
    assert not item.passed and "no alert channel saved" in item.detail
    world.add("ntfy", "ntfy://127.0.0.1:9/alerts")
    item = gate(world)
    assert not item.passed and "quantshift alerts channels test" in item.detail
    world.test()
    item = gate(world, days=1)
    assert item.passed, item.detail
    assert item.figure == "alert channels ntfy (ntfy://…); test alert delivered 24.0 h ago to ntfy"
    assert not gate(world, days=8).passed  # the test is older than a week


def test_the_gate_with_email_keeps_its_figure_and_a_failed_channel_test_does_not_count(world):
    change_notification_settings(ChangeNotificationSettings(
        settings=NotificationSettings(email_enabled=True, recipients=["ops@example.com"]), actor="a@example.com"),
        uow_factory=world.store, clock=world.clock)
    world.add("hook", "env:QS_HOOK")
    world.test()  # fails: QS_HOOK is not set
    item = gate(world, smtp=True)
    assert not item.passed
    assert item.figure == ("e-mail to ops@example.com (min level warning); alert channels hook (env:QS_HOOK); "
                           "no test alert delivered in the last 7 days")
