"""An admin changes who gets alert e-mails, and checks that the mail gets through.

A change is saved with an audit entry naming who changed what (before and after), in one
transaction. The test alert goes straight through the Mailer, not the Notifier: the admin
wants to see the SMTP error, which a Notifier would swallow (and log) by design.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from application.accounts.notification_settings import NotificationSettings, load, save
from application.accounts.ports import Mailer
from application.ports import AlertLevel, Clock, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from domain.errors import ConfigurationError, MailRejected, MailUnavailable, TransientError


@attrs.frozen(kw_only=True)
class ChangeNotificationSettings:
    settings: NotificationSettings
    actor: str  # the admin's e-mail


def change_notification_settings(command: ChangeNotificationSettings, *, uow_factory: UnitOfWorkFactory,
                                 clock: Clock) -> NotificationSettings:
    now = clock.now()
    with uow_factory() as uow:
        try:
            before = _summary(load(uow.settings))
        except ConfigurationError as exc:  # an unreadable document is exactly what an admin overwrites
            before = {"unreadable": str(exc)}
        after = _summary(command.settings)
        save(uow.settings, command.settings, at=now)
        changed = sorted(key for key in after if before.get(key) != after[key])
        uow.audit.append(AuditEntry(
            ts=now, kind=AuditKind.SESSION, severity="info",
            message=f"notification settings changed by {command.actor}: {', '.join(changed) or 'nothing'}",
            data={"actor": command.actor, "changed": changed, "before": before, "after": after},
        ))
        uow.commit()
    return command.settings


@attrs.frozen(kw_only=True)
class AlertTestResult:
    sent_to: tuple[str, ...]


def send_test_alert(*, settings: NotificationSettings, mailer: Mailer, actor: str, now: datetime) -> AlertTestResult:
    """Mail a test alert to each saved recipient (whether or not e-mail alerts are on: an admin
    tests before switching them on). Raises MailUnavailable or MailRejected naming every
    failure, and who got it all the same."""
    if not settings.recipients:
        raise ConfigurationError("recipients: none are saved; save the notification settings first")
    state = "on" if settings.email_enabled else "off (this test is sent all the same)"
    subject = f"[QuantShift {AlertLevel.INFO.value.upper()}] test alert"
    text = (f"This is a test of QuantShift's alert e-mails, sent by {actor} at {now:%Y-%m-%d %H:%M:%S} UTC.\n\n"
            f"E-mail alerts are {state}; alerts at {settings.min_level.value} and above go to: "
            f"{', '.join(settings.recipients)}.\n")
    sent: list[str] = []
    failures: list[str] = []
    transient = False
    for position, recipient in enumerate(settings.recipients):
        try:
            mailer.send(to=recipient, subject=subject, text=text)
            sent.append(recipient)
        except TransientError as exc:
            transient = True
            failures.append(f"{recipient}: {exc}")
            untried = settings.recipients[position + 1:]
            if untried:  # the server is down for everybody; another timeout tells nothing new
                failures.append(f"not tried: {', '.join(untried)}")
            break
        except Exception as exc:  # noqa: BLE001 - a refused recipient or login, reported as it is
            failures.append(f"{recipient}: {exc}")
    if failures:
        error = MailUnavailable if transient else MailRejected
        delivered = f"; delivered to {', '.join(sent)}" if sent else ""
        raise error(f"the test alert failed: {'; '.join(failures)}{delivered}")
    return AlertTestResult(sent_to=tuple(sent))


def send_recorded_test_alert(*, uow_factory: UnitOfWorkFactory, mailer: Mailer, actor: str,
                             clock: Clock) -> AlertTestResult:
    """send_test_alert to the saved recipients, recorded in the audit trail (kind ALERT_TEST)
    whether it was delivered or not: the go-live gate wants a delivered test alert within a
    week as the proof that alerts reach a person. A failure is recorded, then raised."""
    now = clock.now()
    with uow_factory() as uow:
        current = load(uow.settings)
    try:
        result = send_test_alert(settings=current, mailer=mailer, actor=actor, now=now)
    except (MailUnavailable, MailRejected) as exc:
        _record_test_alert(uow_factory, now=now, actor=actor, sent_to=(), delivered=False, detail=str(exc))
        raise
    _record_test_alert(uow_factory, now=now, actor=actor, sent_to=result.sent_to, delivered=True, detail="")
    return result


def _record_test_alert(uow_factory: UnitOfWorkFactory, *, now: datetime, actor: str, sent_to: tuple[str, ...],
                       delivered: bool, detail: str) -> None:
    with uow_factory() as uow:
        uow.audit.append(AuditEntry(
            ts=now, kind=AuditKind.ALERT_TEST, severity="info" if delivered else "warning",
            message=(f"test alert sent by {actor} to {', '.join(sent_to)}" if delivered
                     else f"test alert by {actor} failed: {detail}"),
            data={"channel": "email", "sent_to": list(sent_to), "delivered": delivered, "actor": actor,
                  **({"detail": detail} if detail else {})},
        ))
        uow.commit()


def _summary(value: NotificationSettings) -> dict[str, object]:
    return {"email_enabled": value.email_enabled, "recipients": list(value.recipients),
            "min_level": value.min_level.value}
