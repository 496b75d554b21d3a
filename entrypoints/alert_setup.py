"""Alerts in the composition root: the process's one notifier, the AlertDispatcher, with its ways
out (the saved alert channels through Apprise, and the e-mail recipients saved in the
notification settings when [mail] is configured), the dashboard link, and its flush at exit.

Every command that alerts (paper, live, serve, watch, halt, resume, ...) gets it as
`container.notifier()`; it is closed at interpreter exit (atexit), so what a short command
raised is delivered before it ends, each exit bounded by CLOSE_SECONDS.
"""

from __future__ import annotations

import atexit
import os
from datetime import timedelta
from functools import partial
from typing import Protocol
from urllib.parse import quote

from adapters.apprise import AppriseSender
from adapters.mail import EmailNotifier
from adapters.security.secret_box import SECRETS_KEY, FernetSecretBox
from application.accounts.alert_routing import SettingsSource
from application.accounts.ports import Mailer
from application.alerting.alert import Alert
from application.alerting.channel_store import SecretResolvingSender, StoredChannels
from application.alerting.channels import ChannelSource
from application.alerting.dispatcher import AlertDispatcher
from application.alerting.ports import AlertRoute, ChannelSender
from application.alerting.routes import ChannelRoute, RecipientsRoute
from application.ports import AlertLevel, Clock, Notifier, UnitOfWork
from entrypoints.settings import AlertsSettings, WebSettings

CLOSE_SECONDS = 10.0  # what is still queued at exit gets this long to go out


class _Store(Protocol):
    def __call__(self) -> UnitOfWork: ...

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...


def build_channel_source(store: _Store) -> StoredChannels:
    return StoredChannels(uow_factory=partial(store.unit_of_work, read_only=True))


def build_channel_sender() -> SecretResolvingSender:
    """Apprise, with the channels' secrets resolved from this process's environment at send time
    (QUANTSHIFT_SECRETS_KEY for the encrypted URLs, the variables "env:" URLs name)."""
    return SecretResolvingSender(sender=AppriseSender(), box=FernetSecretBox(keys=os.environ.get(SECRETS_KEY, "")),
                                 environ=os.environ)


def build_dispatcher(*, store: _Store, clock: Clock, log_notifier: Notifier, mailer: Mailer | None,
                     alert_settings: SettingsSource, channels: ChannelSource, sender: ChannelSender,
                     alerts: AlertsSettings, web: WebSettings) -> AlertDispatcher:
    routes: list[AlertRoute] = [ChannelRoute(source=channels, sender=sender)]
    if mailer is not None:
        routes.append(RecipientsRoute(settings=alert_settings,
                                      mail=partial(_mail_alert, mailer=mailer, fallback=log_notifier)))
    dispatcher = AlertDispatcher(uow_factory=store, reads=partial(store.unit_of_work, read_only=True), clock=clock,
                                 log_notifier=log_notifier, routes=routes,
                                 group=timedelta(seconds=alerts.group_seconds),
                                 link=partial(dashboard_link, public_url=web.public_url), close_seconds=CLOSE_SECONDS)
    atexit.register(dispatcher.close)
    return dispatcher


def dashboard_link(alert: Alert, *, public_url: str) -> str:
    """The bot's page when the alert names one, else the overview; "" without [web] public_url."""
    if not public_url:
        return ""
    base = public_url.rstrip("/") + "/dashboard/"
    if alert.account and alert.bot:
        return f"{base}bots/{quote(alert.account, safe='')}/{quote(alert.bot, safe='')}"
    return base


def _mail_alert(*, mailer: Mailer, fallback: Notifier, recipients: tuple[str, ...], level: AlertLevel, title: str,
                body: str) -> list[str]:
    return EmailNotifier(mailer=mailer, recipients=recipients, min_level=AlertLevel.INFO, fallback=fallback).send(
        level=level, title=title, body=body)
