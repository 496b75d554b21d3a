"""Alerts by the saved notification settings: always the log, e-mail (through the real
EmailNotifier) only when switched on, to the saved recipients, at or above the saved level;
settings re-read after their ttl or at once after a local change; and never an exception
into the caller, whatever the store, the mailer or the log do."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from adapters.mail import EmailNotifier
from application.accounts.alert_routing import SettingsNotifier, StoredNotificationSettings
from application.accounts.notification_settings import KEY, NotificationSettings, save
from application.accounts.ports import Mailer
from application.ports import AlertLevel, Notifier
from domain.errors import MailRejected, MailUnavailable, StoreUnavailable
from tests.fakes.builders import T0
from tests.fakes.mailer import RecordingMailer
from tests.fakes.notifier import RecordingNotifier


class InMemorySettings:
    """The SettingsRepository port over a dict."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.reads = 0

    def get(self, key: str) -> dict[str, Any] | None:
        self.reads += 1
        stored = self.documents.get(key)
        return copy.deepcopy(stored) if stored is not None else None

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        self.documents[key] = copy.deepcopy(value)


class SettingsOnlyUnitOfWork:
    """A unit of work with only the settings repository (all the notifier reads)."""

    def __init__(self, settings: InMemorySettings, *, available: bool) -> None:
        self.settings = settings
        self._available = available

    def __enter__(self) -> SettingsOnlyUnitOfWork:
        if not self._available:
            raise StoreUnavailable("store down (test)")
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class RaisingNotifier:
    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        raise RuntimeError("the log is broken (test)")


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, *, log_notifier: Notifier | None = None) -> None:
        self.repository = InMemorySettings()
        self.store_up = True
        self.ticks = Ticks()
        self.mailer = RecordingMailer()
        self.log = RecordingNotifier()
        self.settings = StoredNotificationSettings(uow_factory=self._unit_of_work, ttl_seconds=5.0,  # type: ignore[arg-type]
                                                   monotonic=self.ticks)
        self.notifier = SettingsNotifier(log_notifier=log_notifier or self.log, settings=self.settings,
                                         email=self._email)

    def _unit_of_work(self) -> SettingsOnlyUnitOfWork:
        return SettingsOnlyUnitOfWork(self.repository, available=self.store_up)

    def _email(self, *, recipients: tuple[str, ...], min_level: AlertLevel) -> Notifier:
        mailer: Mailer = self.mailer
        return EmailNotifier(mailer=mailer, recipients=recipients, min_level=min_level, fallback=self.log)

    def save(self, **fields: Any) -> None:
        save(self.repository, NotificationSettings(**fields), at=T0)

    def mailed(self) -> list[tuple[str, str]]:
        return [(to, subject) for to, subject, _ in self.mailer.sent]


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_nothing_saved_means_the_log_only(rig):
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="bot halted", body="drawdown")
    assert rig.log.titles() == ["bot halted"] and rig.mailer.sent == []


def test_enabled_settings_mail_each_recipient_at_or_above_the_level_and_the_log_gets_everything(rig):
    rig.save(email_enabled=True, recipients=["ops@example.com", "cto@example.com"], min_level="warning")
    for level, title in ((AlertLevel.INFO, "heartbeat"), (AlertLevel.WARNING, "feed stale"),
                         (AlertLevel.CRITICAL, "bot halted")):
        rig.notifier.notify(level=level, title=title, body="why")
    assert rig.mailed() == [("ops@example.com", "[QuantShift WARNING] feed stale"),
                            ("cto@example.com", "[QuantShift WARNING] feed stale"),
                            ("ops@example.com", "[QuantShift CRITICAL] bot halted"),
                            ("cto@example.com", "[QuantShift CRITICAL] bot halted")]
    assert rig.log.titles() == ["heartbeat", "feed stale", "bot halted"]


def test_saved_but_switched_off_mails_nobody(rig):
    rig.save(email_enabled=False, recipients=["ops@example.com"], min_level="info")
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="bot halted", body="drawdown")
    assert rig.mailer.sent == [] and rig.log.titles() == ["bot halted"]


def test_settings_are_read_once_per_ttl_and_at_once_after_forget(rig):
    rig.save(email_enabled=True, recipients=["ops@example.com"], min_level="critical")
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="one", body="")
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="two", body="")
    assert rig.repository.reads == 1
    rig.save(email_enabled=True, recipients=["new@example.com"], min_level="critical")
    rig.ticks.now += 4.9
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="three", body="")  # still the cached settings
    rig.ticks.now += 0.1
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="four", body="")  # the ttl is over: read again
    rig.save(email_enabled=False, recipients=["new@example.com"], min_level="critical")
    rig.settings.forget()
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="five", body="")  # switched off, seen at once
    assert [(to, subject.split("] ")[1]) for to, subject in rig.mailed()] == [
        ("ops@example.com", "one"), ("ops@example.com", "two"), ("ops@example.com", "three"),
        ("new@example.com", "four")]
    assert rig.repository.reads == 3


def test_a_store_that_goes_down_leaves_the_last_settings_in_force(rig):
    rig.save(email_enabled=True, recipients=["ops@example.com"], min_level="warning")
    rig.notifier.notify(level=AlertLevel.WARNING, title="before", body="")
    rig.store_up = False
    rig.ticks.now += 60
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="store unavailable: trading paused", body="")
    assert [to for to, _ in rig.mailed()] == ["ops@example.com", "ops@example.com"]
    assert rig.log.titles() == ["before", "store unavailable: trading paused"]


def test_a_store_down_from_the_start_means_no_mail_and_no_exception(rig):
    rig.save(email_enabled=True, recipients=["ops@example.com"], min_level="info")
    rig.store_up = False
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="store unavailable: trading paused", body="")
    assert rig.mailer.sent == [] and rig.log.titles() == ["store unavailable: trading paused"]
    rig.store_up = True
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="within the ttl", body="")
    rig.ticks.now += 5
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="store back", body="")
    assert rig.mailed() == [("ops@example.com", "[QuantShift CRITICAL] store back")]


def test_a_stored_document_that_no_longer_validates_is_skipped_like_an_outage(rig):
    rig.repository.documents[KEY] = {"email_enabled": True, "recipients": ["ops@example.com"], "min_level": "loud"}
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="bot halted", body="")
    assert rig.mailer.sent == [] and rig.log.titles() == ["bot halted"]


@pytest.mark.parametrize("error", [MailUnavailable("mail: cannot reach smtp (test)"),
                                   MailRejected("mail: 550 no such user (test)"), RuntimeError("bug (test)")])
def test_a_failing_mailer_never_raises_and_the_log_says_why(rig, error):
    rig.save(email_enabled=True, recipients=["ops@example.com"], min_level="warning")
    rig.mailer.error = error
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="bot halted", body="drawdown")
    assert rig.log.titles() == ["bot halted", "bot halted"]  # the alert, then the fallback with the reason
    assert "the alert email failed" in rig.log.sent[1].body and str(error) in rig.log.sent[1].body


def test_a_failing_log_does_not_cost_the_mail():
    rig = Rig(log_notifier=RaisingNotifier())
    rig.save(email_enabled=True, recipients=["ops@example.com"], min_level="warning")
    rig.notifier.notify(level=AlertLevel.CRITICAL, title="bot halted", body="drawdown")
    assert rig.mailed() == [("ops@example.com", "[QuantShift CRITICAL] bot halted")]


def test_a_failing_settings_source_or_email_factory_never_raises():
    class Broken:
        def current(self) -> NotificationSettings:
            raise RuntimeError("broken source (test)")

    log = RecordingNotifier()
    SettingsNotifier(log_notifier=log, settings=Broken(), email=lambda **_: log).notify(
        level=AlertLevel.CRITICAL, title="t", body="b")

    def no_factory(**_: object) -> Notifier:
        raise RuntimeError("broken factory (test)")

    source = type("Fixed", (), {"current": lambda self: NotificationSettings(
        email_enabled=True, recipients=["a@example.com"])})()
    SettingsNotifier(log_notifier=log, settings=source, email=no_factory).notify(
        level=AlertLevel.CRITICAL, title="t2", body="b")
    assert log.titles() == ["t", "t2"]
