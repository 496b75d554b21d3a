"""CsvBarFeed against real files on disk: the happy path and every kind of bad row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.marketdata import CsvBarFeed
from domain.accounting.instrument import crypto, equity
from domain.errors import ConfigurationError, InputFileError

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
HEADER = "timestamp,open,high,low,close,volume"


def write(tmp_path: Path, text: str, name: str = "bars.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def feed(path: Path, interval: timedelta = MINUTE) -> CsvBarFeed:
    return CsvBarFeed(path=path, instrument=equity("SPY"), interval=interval)


def test_happy_path_reads_every_timestamp_form_as_exact_decimals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "volume,close,timestamp,low,high,open\n"  # any column order
        "1000,100.10,2024-01-02T14:30:00Z,99.90,100.20,100.00\n"
        "0,100.30,2024-01-02T09:31:00-05:00,100.05,100.40,100.10\n"  # offset, normalised to UTC
        "12.5,100.25,2024-01-02 14:32:00,100.20,100.35,100.30\n"  # naive: taken as UTC
        "7,100.0000001,1704206040,100.00,100.30,100.25\n"  # epoch seconds = 14:34
        "\n",  # a trailing blank line is fine
    )

    bars = list(feed(path).bars())

    assert [b.ts for b in bars] == [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC), datetime(2024, 1, 2, 14, 31, tzinfo=UTC),
        datetime(2024, 1, 2, 14, 32, tzinfo=UTC), datetime(2024, 1, 2, 14, 34, tzinfo=UTC),
    ]
    assert all(b.ts.utcoffset() == timedelta(0) for b in bars)
    first = bars[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal("100.00"), Decimal("100.20"), Decimal("99.90"), Decimal("100.10"), Decimal(1000)
    )
    assert str(bars[3].close) == "100.0000001"  # parsed from the text, never through a float
    assert bars[2].volume == Decimal("12.5")
    assert {b.symbol for b in bars} == {"SPY"} and {b.interval for b in bars} == {MINUTE}


def test_header_whitespace_case_and_a_spreadsheet_bom_are_accepted(tmp_path: Path) -> None:
    text = " Timestamp , OPEN,high,low,close,volume\n2024-01-02T14:30:00Z,1,1,1,1,1\n"
    path = write(tmp_path, text, encoding="utf-8-sig")
    assert len(list(feed(path).bars())) == 1


def test_reading_streams_and_stops_at_the_bad_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "2024-01-02T14:30:00Z,1,1,1,1,1\n"
        "2024-01-02T14:31:00Z,1,1,1,1,1\n"
        "2024-01-02T14:32:00Z,1,1,1,oops,1\n"
        "2024-01-02T14:33:00Z,1,1,1,1,1\n",
    )
    seen = []
    with pytest.raises(InputFileError, match="line 4: close is not a number: 'oops'"):
        for bar in feed(path).bars():
            seen.append(bar.ts.minute)
    assert seen == [30, 31]


GOOD = "2024-01-02T14:30:00Z,100,101,99,100.5,10"


@pytest.mark.parametrize(
    ("rows", "line", "fragment"),
    [
        ([GOOD, "2024-01-02T14:31:00Z,100,101,99,abc,10"], 3, "close is not a number: 'abc'"),
        ([GOOD, "2024-01-02T14:31:00Z,100,101,99,,10"], 3, "close is not a number: ''"),
        (["2024-01-02T14:30:00Z,NaN,101,99,100,10"], 2, "open is not a number: 'NaN'"),
        (["2024-01-02T14:30:00Z,100,inf,99,100,10"], 2, "high is infinite"),
        (["2024-01-02T14:30:00Z,100,101,99,100,-Infinity"], 2, "volume is infinite"),
        (["2024-01-02T14:30:00Z,0,101,99,100,10"], 2, "open must be positive, got 0"),
        (["2024-01-02T14:30:00Z,100,101,-99,100,10"], 2, "low must be positive, got -99"),
        (["2024-01-02T14:30:00Z,100,101,99,100,-5"], 2, "volume must not be negative, got -5"),
        (["2024-01-02T14:30:00Z,100,100.4,99,100.5,10"], 2, "high 100.4 is below open/close/low"),
        (["2024-01-02T14:30:00Z,100,101,100.2,100.5,10"], 2, "low 100.2 is above open/close"),
        (
            [GOOD, "2024-01-02T14:31:00Z,100,101,99,100,1", "2024-01-02T14:31:00+00:00,100,101,99,100,1"],
            4,
            "timestamp 2024-01-02T14:31:00+00:00 is not after the previous bar (2024-01-02T14:31:00+00:00): "
            "duplicate or out of order",
        ),
        ([GOOD, "2024-01-02T14:29:00Z,100,101,99,100,1"], 3, "duplicate or out of order"),
        ([GOOD, "2024-01-02T14:30:30Z,100,101,99,100,1"], 3, "bars overlap"),
        ([GOOD, "2024-01-02T14:31:00Z,100,101,99,100,1,7"], 3, "expected 6 columns, got 7"),
        ([GOOD, "2024-01-02T14:31:00Z,100,101,99,100"], 3, "expected 6 columns, got 5"),
        (["yesterday,100,101,99,100,10"], 2, "timestamp is neither ISO 8601 nor integer epoch seconds: 'yesterday'"),
        (["1704206040.5,100,101,99,100,10"], 2, "neither ISO 8601 nor integer epoch seconds"),
        (["99999999999999999999,100,101,99,100,10"], 2, "out of range as epoch seconds"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, rows: list[str], line: int, fragment: str) -> None:
    path = write(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    with pytest.raises(InputFileError) as caught:
        list(feed(path).bars())
    message = str(caught.value)
    assert f"bars.csv line {line}: " in message
    assert fragment in message
    assert str(path) in message


def test_blank_lines_do_not_shift_the_line_number(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n\n{GOOD}\n\n2024-01-02T14:31:00Z,1,1,1,x,1\n")
    with pytest.raises(InputFileError, match=r"bars\.csv line 5: close is not a number"):
        list(feed(path).bars())


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"{GOOD}\n", "line 1: missing header"),
        ("timestamp,open,high,low,close,volume,symbol\n", "line 1: bad header: unexpected column(s) 'symbol'"),
        ("timestamp,open,high,low,close\n", "line 1: bad header: missing column(s) volume"),
        ("timestamp,open,high,low,close,close\n", "missing column(s) volume; duplicate column(s) close"),
        ("", "file is empty"),
        ("\n\n", "file is empty"),
    ],
)
def test_bad_or_missing_header_and_empty_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputFileError) as caught:
        list(feed(path).bars())
    assert "bars.csv" in str(caught.value)
    assert fragment in str(caught.value)


def test_a_missing_file_is_an_input_file_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputFileError, match="nope.csv: cannot open") as caught:
        list(feed(path).bars())
    assert isinstance(caught.value, ConfigurationError)  # refuse to start: a person must fix the input


def test_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="interval"):
        CsvBarFeed(path=tmp_path / "bars.csv", instrument=crypto("BTC-USD"), interval=timedelta(0))
