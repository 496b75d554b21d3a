"""The alerts' lifecycle as the watchdog uses it (the AlertLifecycle port): the open alerts and
the repeats due, read from the ALERT audit trail (application/alerting/lifecycle.py), and the
dispatcher that sends a repeat.

A repeat is recorded by the dispatcher once delivered, a moment after it is asked for: until
then the trail still says it is due, so a repeat asked for here is not asked again for `every`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from application.alerting.lifecycle import OpenAlert, due_repeats, open_alerts
from application.ports import AlertLevel, UnitOfWork


class Repeater(Protocol):
    def repeat(self, alert: OpenAlert) -> None:
        """Send the open alert again (the dispatcher: in the background, recorded "repeated")."""
        ...


@attrs.define(kw_only=True)
class StoredLifecycle:
    repeater: Repeater
    every: timedelta
    _asked: dict[str, datetime] = attrs.field(factory=dict)  # key -> when a repeat was last asked for

    def open_levels(self, uow: UnitOfWork) -> Mapping[str, AlertLevel]:
        return {alert.key: alert.level for alert in open_alerts(uow)}

    def repeat_due(self, uow: UnitOfWork, *, now: datetime) -> Sequence[OpenAlert]:
        due = due_repeats(uow, now=now, every=self.every)
        # A key no longer due (its repeat recorded, acknowledged, resolved) is forgotten.
        self._asked = {key: at for key, at in self._asked.items() if key in {alert.key for alert in due}}
        return [alert for alert in due if alert.key not in self._asked or now - self._asked[alert.key] >= self.every]

    def repeat(self, due: Sequence[OpenAlert], *, now: datetime) -> int:
        for alert in due:
            self.repeater.repeat(alert)
            self._asked[alert.key] = now
        return len(due)
