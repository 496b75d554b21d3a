"""A Notifier that keeps what it was asked to say."""

from __future__ import annotations

import attrs

from application.ports import AlertLevel


@attrs.frozen
class Alert:
    level: AlertLevel
    title: str
    body: str


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        self.sent.append(Alert(level=level, title=title, body=body))

    def titles(self, level: AlertLevel | None = None) -> list[str]:
        return [a.title for a in self.sent if level is None or a.level is level]
