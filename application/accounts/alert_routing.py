"""Alerts as the admin set them up: every alert to the log, and by e-mail to the saved
recipients when e-mail alerts are switched on (application/accounts/notification_settings.py).

The settings are read from the store, not from the configuration file, so an admin's
change reaches running bots without a restart: each process reads them at most once per
`ttl_seconds` (the process that saved them drops its copy at once, see `forget`).

A Notifier must never raise into the trading loop, so nothing here does: a store that
cannot be read leaves the last settings read in force (none yet: no e-mail), and the
e-mail notifier falls back to the log on its own when the mail server fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from application.accounts.notification_settings import NotificationSettings, load
from application.ports import AlertLevel, Notifier, UnitOfWorkFactory

log = logging.getLogger(__name__)


class EmailAlerts(Protocol):
    def __call__(self, *, recipients: tuple[str, ...], min_level: AlertLevel) -> Notifier:
        """A notifier that mails alerts at or above `min_level` to `recipients` (and never raises)."""
        ...


class SettingsSource(Protocol):
    def current(self) -> NotificationSettings:
        """The notification settings in force now. Never raises."""
        ...


class StoredNotificationSettings:
    """The saved notification settings, read through a unit of work at most once per `ttl_seconds`.

    `uow_factory` should give read-only units of work: an alert may be raised while the bot
    holds the store's write lock elsewhere, and reading must not queue behind it."""

    def __init__(self, *, uow_factory: UnitOfWorkFactory, ttl_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()  # the API's worker threads alert concurrently
        self._value: NotificationSettings | None = None
        self._read_at: float | None = None

    def current(self) -> NotificationSettings:
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._ttl:
                # A failed read also waits out the ttl: a dead store costs one attempt per ttl, not per alert.
                self._read_at = now
                self._refresh()
            return self._value if self._value is not None else NotificationSettings()

    def forget(self) -> None:
        """Read again at the next alert (the settings were just changed in this process)."""
        with self._lock:
            self._read_at = None

    def _refresh(self) -> None:
        try:
            with self._uow_factory() as uow:
                self._value = load(uow.settings)
        except Exception as exc:  # noqa: BLE001 - the store down, a bad document: keep what we had
            log.warning("notification settings could not be read (%s); %s", exc,
                        "keeping the last ones read" if self._value is not None else "no alert e-mails until they can")


class SettingsNotifier:
    """The Notifier port: the log always, e-mail when the saved settings say so."""

    def __init__(self, *, log_notifier: Notifier, settings: SettingsSource, email: EmailAlerts) -> None:
        self._log = log_notifier
        self._settings = settings
        self._email = email

    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        try:
            self._log.notify(level=level, title=title, body=body)
        except Exception:  # noqa: BLE001 - a broken log must not cost the e-mail
            log.exception("the log notifier failed")
        try:
            current = self._settings.current()
            if current.email_enabled and current.recipients:
                # The e-mail notifier applies min_level and falls back to the log when the mail fails.
                self._email(recipients=current.recipients, min_level=current.min_level).notify(
                    level=level, title=title, body=body)
        except Exception:  # noqa: BLE001 - never into the trading loop
            log.exception("the alert %r could not be e-mailed", title)
