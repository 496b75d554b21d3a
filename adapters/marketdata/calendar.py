"""NYSE trading sessions, from the maintained exchange_calendars library (calendar "XNYS").

exchange_calendars pulls in pandas (about a second to import), so it is imported lazily, inside the
first call, and the built schedule is cached for the life of the process. Nothing heavy happens at
import time, which keeps the CLI quick to start.

Building the schedule costs one to two seconds of CPU, paid by every process that needs it (each
`quantshift paper` with equity bots). It is also kept on disk, one file per library version and
day (the library's end date moves with the day), so later processes read plain lists instead.
The file is only an optimisation: unreadable or missing, the schedule is built again.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import os
from datetime import date, datetime, timezone
from pathlib import Path
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


log = logging.getLogger(__name__)
CACHE_DIR_ENV = "QUANTSHIFT_CACHE_DIR"


def _cache_file() -> Path | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        library = version("exchange-calendars")
    except PackageNotFoundError:
        return None
    if os.environ.get(CACHE_DIR_ENV):
        directory = Path(os.environ[CACHE_DIR_ENV])
    else:
        import platformdirs

        directory = platformdirs.user_cache_path("quantshift")
    return directory / f"xnys-{library}-{_CALENDAR_START}-{date.today().isoformat()}.json"


def _read_cached(path: Path) -> _Schedule | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return _Schedule(days=[date.fromisoformat(d) for d in raw["days"]],
                         opens=[datetime.fromtimestamp(t, timezone.utc) for t in raw["opens"]],
                         closes=[datetime.fromtimestamp(t, timezone.utc) for t in raw["closes"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cached(path: Path, schedule: _Schedule) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps({"days": [d.isoformat() for d in schedule.days],
                                       "opens": [int(t.timestamp()) for t in schedule.opens],
                                       "closes": [int(t.timestamp()) for t in schedule.closes]}), encoding="utf-8")
        partial.replace(path)  # atomic: a concurrent reader sees the old file or the whole new one
    except OSError as exc:
        log.debug("NYSE calendar cache not written (%s)", exc)


def _build_schedule() -> _Schedule:
    import exchange_calendars  # lazy: pulls pandas

    calendar = exchange_calendars.get_calendar("XNYS", start=_CALENDAR_START)
    schedule = calendar.schedule
    return _Schedule(
        days=[ts.date() for ts in schedule.index],
        opens=[_to_utc(ts) for ts in schedule["open"]],
        closes=[_to_utc(ts) for ts in schedule["close"]],
    )


@functools.lru_cache(maxsize=1)
def _xnys_schedule() -> _Schedule:
    path = _cache_file()
    cached = _read_cached(path) if path is not None else None
    if cached is not None:
        return cached
    schedule = _build_schedule()
    if path is not None:
        _write_cached(path, schedule)
    return schedule


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
