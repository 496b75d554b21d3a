"""Alerts to the log (stderr). Email and chat notifiers come with the monitoring work."""

from __future__ import annotations

import logging

from application.ports import AlertLevel

_LEVELS = {AlertLevel.INFO: logging.INFO, AlertLevel.WARNING: logging.WARNING, AlertLevel.CRITICAL: logging.CRITICAL}


class LoggingNotifier:
    def __init__(self, *, logger_name: str = "quantshift.alerts") -> None:
        self._log = logging.getLogger(logger_name)
        self.sent: list[tuple[AlertLevel, str, str]] = []

    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        # Never raises: an alert that cannot be delivered must not stop a halt or a trade decision.
        try:
            self.sent.append((level, title, body))
            self._log.log(_LEVELS[level], "%s: %s", title, body)
        except Exception:  # noqa: BLE001
            pass
