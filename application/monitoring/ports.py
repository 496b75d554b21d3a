"""Ports of monitoring: what the watchdog asks of the machine it runs on, and of the alert
lifecycle besides the AlertSink (application/alerting)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from application.alerting.lifecycle import OpenAlert
from application.ports import AlertLevel, UnitOfWork


class ProcessProbe(Protocol):
    """The processes of this host: a pid is only meaningful on the host that issued it."""

    @property
    def host(self) -> str:
        """This host's name, as `quantshift paper` records it in its heartbeats."""
        ...

    def alive(self, pid: int, *, started_by: datetime) -> bool:
        """Whether process `pid` runs and is the one that was running at `started_by` (a pid
        reused by a process started later is not it). A zombie is not alive."""
        ...


class AlertLifecycle(Protocol):
    """What the watchdog needs of the alerts' lifecycle (application/alerting) besides firing
    and resolving: repeats.py implements it on the ALERT audit trail and the dispatcher."""

    def open_levels(self, uow: UnitOfWork) -> Mapping[str, AlertLevel]:
        """Every open alert's level by its key (acknowledged ones included: they are still open)."""
        ...

    def repeat_due(self, uow: UnitOfWork, *, now: datetime) -> Sequence[OpenAlert]:
        """The unacknowledged critical alerts due for a repeat (read inside the caller's unit of work)."""
        ...

    def repeat(self, due: Sequence[OpenAlert], *, now: datetime) -> int:
        """Send them again (after the unit of work is over); returns how many were asked for."""
        ...
