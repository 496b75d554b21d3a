"""The NYSE calendar as the validation clock reads it (application/golive/ports.TradingCalendar),
from adapters/marketdata/calendar.py (exchange_calendars' XNYS, loaded on the first call)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.marketdata.calendar import nyse_recent_session_keys, nyse_sessions
from application.golive.ports import TradingSession
from domain.errors import ConfigurationError

_NEW_YORK = ZoneInfo("America/New_York")


class NyseCalendar:
    def sessions(self, *, start: date, end: date) -> list[TradingSession]:
        if end < start:
            return []
        # The sessions that opened by the end of `end` (New York), at most one per calendar day back.
        until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=_NEW_YORK) - timedelta(microseconds=1)
        try:
            keys = [k for k in nyse_recent_session_keys(until, count=(end - start).days + 1)
                    if k >= start.isoformat()]
            if not keys:
                return []
            found = nyse_sessions(start=date.fromisoformat(keys[0]), count=len(keys))
        except ValueError as exc:
            raise ConfigurationError(f"NYSE calendar, {start} .. {end}: {exc}") from exc
        return [TradingSession(day=s.day, open=s.open, close=s.close) for s in found]
