"""An admin changes the notification settings (saved with an audit entry of who changed
what) and sends a test alert that reports the SMTP error instead of swallowing it."""

from __future__ import annotations

import pytest

from application.accounts.notification_admin import ChangeNotificationSettings, change_notification_settings, send_test_alert
from application.accounts.notification_settings import KEY, NotificationSettings, load
from application.records import AuditKind
from domain.errors import ConfigurationError, MailRejected, MailUnavailable
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.mailer import RecordingMailer
from tests.fakes.memory_store import InMemoryStore


class PickyMailer(RecordingMailer):
    """Refuses some recipients for good, or is down for everybody."""

    def __init__(self, *, refuse: set[str] = frozenset(), down: bool = False) -> None:
        super().__init__()
        self.refuse, self.down, self.tried = refuse, down, []

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        self.tried.append(to)
        if self.down:
            raise MailUnavailable("mail: cannot reach 127.0.0.1:2525 (Connection refused)")
        if to in self.refuse:
            raise MailRejected("mail: recipient refused (550 5.1.1 no such user)")
        super().send(to=to, subject=subject, text=text, html=html)


def test_a_change_is_saved_and_audited_with_who_and_what():
    clock = FixedClock(T0)
    store = InMemoryStore(wall_clock=clock)
    wanted = NotificationSettings(email_enabled=True, recipients=["Ops@Example.com"], min_level="critical")
    change_notification_settings(ChangeNotificationSettings(settings=wanted, actor="root@example.com"),
                                 uow_factory=store, clock=clock)
    with store.unit_of_work(read_only=True) as uow:
        assert load(uow.settings) == wanted
        [entry] = uow.audit.list(kind=AuditKind.SESSION.value)
    assert entry.message == "notification settings changed by root@example.com: email_enabled, min_level, recipients"
    assert entry.data == {"actor": "root@example.com", "changed": ["email_enabled", "min_level", "recipients"],
                          "before": {"email_enabled": False, "recipients": [], "min_level": "warning"},
                          "after": {"email_enabled": True, "recipients": ["ops@example.com"], "min_level": "critical"}}


def test_an_unreadable_stored_document_can_be_overwritten():
    clock = FixedClock(T0)
    store = InMemoryStore(wall_clock=clock)
    with store() as uow:
        uow.settings.put(KEY, {"surprise": 1}, at=T0)
        uow.commit()
    change_notification_settings(ChangeNotificationSettings(settings=NotificationSettings(), actor="root@example.com"),
                                 uow_factory=store, clock=clock)
    with store.unit_of_work(read_only=True) as uow:
        assert load(uow.settings) == NotificationSettings()
        [entry] = uow.audit.list()
    assert "unknown keys" in entry.data["before"]["unreadable"]


def test_the_test_alert_goes_to_every_saved_recipient_even_while_switched_off():
    mailer = PickyMailer()
    settings = NotificationSettings(email_enabled=False, recipients=["a@example.com", "b@example.com"])
    result = send_test_alert(settings=settings, mailer=mailer, actor="root@example.com", now=T0)
    assert result.sent_to == ("a@example.com", "b@example.com")
    assert [to for to, _, _ in mailer.sent] == ["a@example.com", "b@example.com"]
    to, subject, text = mailer.sent[0]
    assert subject == "[QuantShift INFO] test alert" and "root@example.com" in text and "off" in text


def test_the_test_alert_reports_a_refused_recipient_and_who_got_it_all_the_same():
    mailer = PickyMailer(refuse={"gone@example.com"})
    settings = NotificationSettings(email_enabled=True, recipients=["gone@example.com", "ops@example.com"])
    with pytest.raises(MailRejected, match="gone@example.com: mail: recipient refused .*550.*delivered to ops@"):
        send_test_alert(settings=settings, mailer=mailer, actor="root@example.com", now=T0)


def test_the_test_alert_stops_at_a_server_that_is_down():
    mailer = PickyMailer(down=True)
    settings = NotificationSettings(email_enabled=True, recipients=["a@example.com", "b@example.com"])
    with pytest.raises(MailUnavailable, match="Connection refused.*not tried: b@example.com"):
        send_test_alert(settings=settings, mailer=mailer, actor="root@example.com", now=T0)
    assert mailer.tried == ["a@example.com"]


def test_no_recipients_no_test():
    with pytest.raises(ConfigurationError, match="recipients: none are saved"):
        send_test_alert(settings=NotificationSettings(), mailer=PickyMailer(), actor="root@example.com", now=T0)
