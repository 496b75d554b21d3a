"""Ports of the go-live gate: what it needs from outside the application.

The validation clock counts NYSE sessions for equity bots; the calendar is the exchange's
(entrypoints/golive_calendar.py wraps adapters/marketdata/calendar.py), and tests may give a
smaller one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

import attrs


@attrs.frozen(kw_only=True)
class TradingSession:
    """One regular session: its New York date and [open, close) in UTC."""

    day: date
    open: datetime
    close: datetime


class TradingCalendar(Protocol):
    def sessions(self, *, start: date, end: date) -> Sequence[TradingSession]:
        """The NYSE sessions whose day lies in [start, end] (New York dates), oldest first;
        holidays and weekends have none."""
        ...
