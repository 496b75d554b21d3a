"""Ports of alerting: where alerts are raised (AlertSink) and where they go out (the channels)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from application.alerting.alert import Alert


@runtime_checkable  # a Notifier that is also a sink gets keyed alerts (bot_alerts.as_sink)
class AlertSink(Protocol):
    def fire(self, alert: Alert) -> None:
        """Raise `alert` (or count one more occurrence of it). Never raises, and never blocks
        the caller for more than a few milliseconds: a trading loop calls it."""
        ...

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        """The condition under `key` cleared. Nothing happens when no alert of it is open.
        Never raises, never blocks."""
        ...


# channels
