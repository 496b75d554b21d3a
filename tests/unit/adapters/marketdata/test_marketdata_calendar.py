"""The NYSE calendar adapter, against the real exchange_calendars data."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from adapters.marketdata import Session, is_nyse_open, next_nyse_open, nyse_sessions

UTC = timezone.utc
ET_SUMMER = timezone(timedelta(hours=-4))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_first_session_is_the_first_trading_day_on_or_after_start() -> None:
    sessions = nyse_sessions(start=date(2025, 1, 1), count=7)

    # New Year's Day, a weekend, and the 2025-01-09 national day of mourning are all closed.
    assert [s.day for s in sessions] == [
        date(2025, 1, 2), date(2025, 1, 3), date(2025, 1, 6), date(2025, 1, 7),
        date(2025, 1, 8), date(2025, 1, 10), date(2025, 1, 13),
    ]


def test_start_on_a_trading_day_is_included() -> None:
    assert nyse_sessions(start=date(2025, 1, 6), count=1)[0].day == date(2025, 1, 6)


def test_sessions_are_plain_utc_datetimes_and_follow_daylight_saving() -> None:
    winter = nyse_sessions(start=date(2025, 1, 2), count=1)[0]
    summer = nyse_sessions(start=date(2025, 7, 1), count=1)[0]

    assert winter == Session(day=date(2025, 1, 2), open=utc(2025, 1, 2, 14, 30), close=utc(2025, 1, 2, 21))
    assert summer.open == utc(2025, 7, 1, 13, 30) and summer.close == utc(2025, 7, 1, 20)
    assert type(winter.open) is datetime and winter.open.tzinfo is UTC


def test_holidays_are_skipped_and_early_closes_honoured() -> None:
    july = nyse_sessions(start=date(2025, 7, 2), count=3)
    thanksgiving = nyse_sessions(start=date(2025, 11, 26), count=3)

    assert [s.day for s in july] == [date(2025, 7, 2), date(2025, 7, 3), date(2025, 7, 7)]
    assert july[1].close == utc(2025, 7, 3, 17)  # 13:00 New York
    assert [s.day for s in thanksgiving] == [date(2025, 11, 26), date(2025, 11, 28), date(2025, 12, 1)]
    assert thanksgiving[1].close == utc(2025, 11, 28, 18)


@pytest.mark.parametrize("count", [0, -1, True, 1.5])
def test_count_must_be_a_positive_int(count: object) -> None:
    with pytest.raises(ValueError, match="count"):
        nyse_sessions(start=date(2025, 1, 1), count=count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "count"), [(date(1990, 1, 2), 1), (date(2100, 1, 4), 1), (date(2025, 1, 2), 100_000)]
)
def test_range_outside_the_calendar_is_a_clear_error(start: date, count: int) -> None:
    with pytest.raises(ValueError, match="outside the calendar's supported range"):
        nyse_sessions(start=start, count=count)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2025, 11, 28, 14, 30), True),  # the open instant is inside
        (utc(2025, 11, 28, 17, 59, 59), True),
        (utc(2025, 11, 28, 18, 0), False),  # half-day: closed at 13:00 New York
        (utc(2025, 12, 1, 20, 59), True),
        (utc(2025, 7, 4, 15, 0), False),  # Independence Day
        (utc(2025, 7, 5, 15, 0), False),  # Saturday
        (utc(2025, 7, 7, 13, 29, 59), False),
        (datetime(2025, 7, 7, 9, 30, tzinfo=ET_SUMMER), True),  # any offset works
    ],
)
def test_is_nyse_open(at: datetime, expected: bool) -> None:
    assert is_nyse_open(at) is expected


def test_next_open_skips_holidays_and_weekends_and_is_strictly_after() -> None:
    assert next_nyse_open(utc(2025, 7, 3, 17, 0)) == utc(2025, 7, 7, 13, 30)
    assert next_nyse_open(utc(2025, 7, 7, 13, 30)) == utc(2025, 7, 8, 13, 30)
    assert next_nyse_open(utc(2025, 7, 7, 13, 29)) == utc(2025, 7, 7, 13, 30)


def test_naive_or_out_of_range_instants_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_nyse_open(datetime(2025, 7, 7, 15, 0))
    with pytest.raises(ValueError, match="supported range"):
        next_nyse_open(utc(2200, 1, 1))


def test_importing_the_package_does_not_load_pandas_or_the_calendar() -> None:
    code = (
        "import sys, adapters.marketdata\n"
        "heavy = [m for m in ('pandas', 'exchange_calendars') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_schedule_is_kept_on_disk_and_read_back_the_same(tmp_path, monkeypatch):
    from adapters.marketdata import calendar

    monkeypatch.setenv(calendar.CACHE_DIR_ENV, str(tmp_path))
    calendar._xnys_schedule.cache_clear()
    try:
        built = calendar._xnys_schedule()
        [stored] = list(tmp_path.glob("xnys-*.json"))
        calendar._xnys_schedule.cache_clear()
        assert calendar._xnys_schedule() == built  # from the file: the same days, opens and closes
        stored.write_text("{not json")
        calendar._xnys_schedule.cache_clear()
        assert calendar._xnys_schedule() == built  # an unreadable file is built again, and rewritten
        assert calendar._read_cached(stored) == built
    finally:
        calendar._xnys_schedule.cache_clear()
