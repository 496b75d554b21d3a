"""Ports of reports: the dashboard's daily snapshots.

Implemented by both stores and reached through the unit of work (uow.snapshots), so the bot
process writes and `quantshift serve` reads the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

import attrs


@attrs.frozen(kw_only=True)
class DailySnapshot:
    """The dashboard's figures for one UTC day and one scope ("all", or "bot:<account>/<bot>").
    `figures` is JSON-able (money as decimal strings, so nothing is rounded on the way)."""

    day: date
    scope: str
    taken_at: datetime
    figures: Mapping[str, Any]


class SnapshotRepository(Protocol):
    def put(self, snapshot: DailySnapshot) -> None:
        """Store the day's snapshot for its scope; a later one for the same day replaces it."""
        ...

    def list(self, *, scope: str, since: date) -> list[DailySnapshot]:
        """The scope's snapshots from `since` on, oldest first."""
        ...
