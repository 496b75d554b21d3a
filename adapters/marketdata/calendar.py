"""NYSE trading sessions, from the maintained exchange_calendars library (calendar "XNYS").

exchange_calendars pulls in pandas (about a second to import), so it is imported lazily, inside the
first call, and the built schedule is cached for the life of the process. Nothing heavy happens at
import time, which keeps the CLI quick to start.
"""

from __future__ import annotations

import bisect
import functools
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import attrs

# The library's default window starts 20 years before *today*, so a backtest that works now would
# stop working as time passes. A fixed start keeps the supported range reproducible. The end stays
# the library default (about a year ahead): later holidays are not decided yet.
_CALENDAR_START = "2000-01-01"


@attrs.frozen(kw_only=True)
class Session:
    """One NYSE trading session: regular hours [open, close), in UTC."""

    day: date
    open: datetime
    close: datetime


@attrs.frozen(kw_only=True)
class _Schedule:
    """The calendar flattened into sorted plain-Python lists, so look-ups are a bisect."""

    days: list[date]
    opens: list[datetime]
    closes: list[datetime]

    def session(self, index: int) -> Session:
        return Session(day=self.days[index], open=self.opens[index], close=self.closes[index])

    def range_text(self) -> str:
        return f"{self.days[0].isoformat()} .. {self.days[-1].isoformat()}"


def _to_utc(ts: object) -> datetime:
    # pandas gives Timestamps in zoneinfo "UTC"; callers compare with timezone.utc datetimes, and
    # plain datetimes keep pandas out of the rest of the code.
    return ts.to_pydatetime().astimezone(timezone.utc)  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=1)
def _xnys_schedule() -> _Schedule:
    import exchange_calendars  # lazy: pulls pandas

    calendar = exchange_calendars.get_calendar("XNYS", start=_CALENDAR_START)
    schedule = calendar.schedule
    return _Schedule(
        days=[ts.date() for ts in schedule.index],
        opens=[_to_utc(ts) for ts in schedule["open"]],
        closes=[_to_utc(ts) for ts in schedule["close"]],
    )


def nyse_sessions(*, start: date, count: int) -> list[Session]:
    """`count` consecutive sessions, the first on the first trading day on or after `start`.

    Holidays are skipped and early closes (e.g. the day after Thanksgiving, 18:00 UTC) are honoured.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an int >= 1, got {count!r}")
    if isinstance(start, datetime) or not isinstance(start, date):
        raise ValueError(f"start must be a date, got {start!r}")
    schedule = _xnys_schedule()
    first = bisect.bisect_left(schedule.days, start)
    if start < schedule.days[0] or first + count > len(schedule.days):
        raise ValueError(
            f"{count} NYSE session(s) from {start.isoformat()} fall outside the calendar's "
            f"supported range {schedule.range_text()}"
        )
    return [schedule.session(i) for i in range(first, first + count)]


def _require_in_range(at: datetime, schedule: _Schedule, *, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {at.isoformat()}")
    at = at.astimezone(timezone.utc)
    if at < schedule.opens[0] or at >= schedule.closes[-1]:
        raise ValueError(
            f"{what} {at.isoformat()} is outside the NYSE calendar's supported range {schedule.range_text()}"
        )
    return at


def is_nyse_open(at: datetime) -> bool:
    """True while a regular session is open: open <= at < close."""
    schedule = _xnys_schedule()
    at = _require_in_range(at, schedule, what="at")
    latest = bisect.bisect_right(schedule.opens, at) - 1  # the last session that opened at or before `at`
    return latest >= 0 and at < schedule.closes[latest]


def next_nyse_open(after: datetime) -> datetime:
    """The first session open strictly after `after` (an open exactly at `after` is not "next")."""
    schedule = _xnys_schedule()
    after = _require_in_range(after, schedule, what="after")
    index = bisect.bisect_right(schedule.opens, after)
    if index >= len(schedule.opens):
        raise ValueError(
            f"no NYSE session opens after {after.isoformat()} within the supported range {schedule.range_text()}"
        )
    return schedule.opens[index]


_NEW_YORK = ZoneInfo("America/New_York")


def nyse_session_key(at: datetime) -> str:
    """The NYSE trading day a time belongs to: its date in New York (sessions never cross
    midnight there), for limits that reset at the session boundary."""
    if at.tzinfo is None:
        raise ValueError("nyse_session_key needs a timezone-aware time")
    return at.astimezone(_NEW_YORK).date().isoformat()


def nyse_recent_session_keys(at: datetime, *, count: int) -> list[str]:
    """The keys (New York dates, as `nyse_session_key` gives) of the last `count` NYSE sessions
    that opened at or before `at`, oldest first: the business days of a rolling window."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    schedule = _xnys_schedule()
    at = _require_in_range(at, schedule, what="at")
    latest = bisect.bisect_right(schedule.opens, at)
    return [schedule.days[i].isoformat() for i in range(max(0, latest - count), latest)]
