"""The dispatcher's ways out: the saved alert channels, and the e-mail recipients saved in the
notification settings (the alerts path before channels existed, kept: those people still get
every alert at or above their level while e-mail alerts are switched on)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from application.accounts.alert_routing import SettingsSource
from application.alerting.alert import Alert
from application.alerting.channels import ChannelSource, Delivery, deliver, message
from application.alerting.ports import ChannelSender
from application.ports import AlertLevel

EMAIL = "email"  # the e-mail recipients' name in an entry's deliveries
_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}


class AlertMail(Protocol):
    def __call__(self, *, recipients: tuple[str, ...], level: AlertLevel, title: str, body: str) -> list[str]:
        """Mail the alert to each recipient; what failed, one line each ([] when all took it). Never raises."""
        ...


class ChannelRoute:
    def __init__(self, *, source: ChannelSource, sender: ChannelSender) -> None:
        self._source = source
        self._sender = sender

    def deliver(self, alert: Alert, *, now: datetime, link: str) -> Sequence[Delivery]:
        return deliver(alert, channels=self._source.current(), sender=self._sender, now=now, link=link)


class RecipientsRoute:
    def __init__(self, *, settings: SettingsSource, mail: AlertMail) -> None:
        self._settings = settings
        self._mail = mail

    def deliver(self, alert: Alert, *, now: datetime, link: str) -> Sequence[Delivery]:
        current = self._settings.current()
        if not (current.email_enabled and current.recipients) or _RANK[alert.level] < _RANK[current.min_level]:
            return ()
        _, body = message(alert, link=link)  # the figures, where, and the link, as the channels get them
        failures = self._mail(recipients=current.recipients, level=alert.level, title=alert.title, body=body)
        return (Delivery(channel=EMAIL, delivered=not failures, detail="; ".join(failures)),)
