"""Bars from a CSV file: `timestamp,open,high,low,close,volume` (columns in any order).

Every bad row raises InputFileError naming the file, the 1-based line and what is wrong, because
the person fixing the file needs exactly that. Numbers are parsed as Decimal from the text (a float
would turn 0.1 into 0.1000000000000000055...). Reading streams row by row; a row is fully
validated before its bar is yielded, so nothing after a bad line is ever yielded.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

from domain.accounting.instrument import Instrument
from domain.accounting.market import Bar
from domain.errors import InputFileError
from domain.risk.sanity import future_bar_reason

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")
_EPOCH_SECONDS = re.compile(r"[+-]?\d+")


class _BadRow(Exception):
    """A problem with one row; the reader adds the file and line before raising InputFileError."""


def _parse_timestamp(text: str) -> datetime:
    text = text.strip()
    if _EPOCH_SECONDS.fullmatch(text):
        try:
            return datetime.fromtimestamp(int(text), tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise _BadRow(f"timestamp {text!r} is out of range as epoch seconds") from exc
    try:
        parsed = datetime.fromisoformat(text)  # 3.11: accepts "Z" and the common ISO 8601 forms
    except ValueError as exc:
        raise _BadRow(f"timestamp is neither ISO 8601 nor integer epoch seconds: {text!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return parsed.replace(tzinfo=timezone.utc)  # documented: a naive timestamp is UTC
    return parsed.astimezone(timezone.utc)


def _parse_number(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise _BadRow(f"{name} is not a number: {text!r}") from exc
    if value.is_nan():
        raise _BadRow(f"{name} is not a number: {text!r}")
    if value.is_infinite():
        raise _BadRow(f"{name} is infinite: {text!r}")
    return value


def _header_columns(row: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in row]
    missing = [name for name in COLUMNS if name not in names]
    extra = [name for name in names if name not in COLUMNS]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if missing and not set(names) & set(COLUMNS):
        raise _BadRow(f"missing header: expected {','.join(COLUMNS)}, got {','.join(row)!r}")
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(repr(name) for name in extra)}")
    if duplicated:
        problems.append(f"duplicate column(s) {', '.join(duplicated)}")
    if problems:
        raise _BadRow(f"bad header: {'; '.join(problems)} (expected exactly {','.join(COLUMNS)})")
    return {name: names.index(name) for name in COLUMNS}


@attrs.frozen(kw_only=True)
class CsvBarFeed:
    """Validated bars for one instrument, in file order (which must be strictly increasing in time)."""

    path: Path = attrs.field(converter=Path)
    instrument: Instrument
    interval: timedelta
    now: datetime | None = None  # the wall clock: a bar ending after it is refused (None: not checked)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.interval, timedelta) or self.interval <= timedelta(0):
            raise ValueError(f"interval must be a positive timedelta, got {self.interval!r}")

    def bars(self) -> Iterator[Bar]:
        if self.path.is_dir():
            raise InputFileError(f"{self.path}: is a directory, not a file (give the CSV file in it)")
        try:
            handle = self.path.open(newline="", encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
        except OSError as exc:
            raise InputFileError(f"{self.path}: cannot open: {exc.strerror or exc}") from exc
        with handle:
            reader = csv.reader(handle)
            columns: dict[str, int] | None = None
            previous: Bar | None = None
            line = 0
            try:
                for row in reader:
                    line = reader.line_num
                    if not any(cell.strip() for cell in row):
                        continue  # blank lines (a trailing newline, spacing) carry no data
                    if columns is None:
                        columns = _header_columns(row)
                        continue
                    bar = self._bar(row, columns, previous)
                    previous = bar
                    yield bar
            except _BadRow as exc:
                raise InputFileError(f"{self.path} line {line}: {exc}") from None
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputFileError(f"{self.path} line {reader.line_num or 1}: unreadable CSV: {exc}") from exc
            if columns is None:
                raise InputFileError(f"{self.path}: file is empty (expected a header {','.join(COLUMNS)})")

    def _bar(self, row: list[str], columns: dict[str, int], previous: Bar | None) -> Bar:
        if len(row) != len(COLUMNS):
            raise _BadRow(f"expected {len(COLUMNS)} columns, got {len(row)}")
        ts = _parse_timestamp(row[columns["timestamp"]])
        values = {name: _parse_number(name, row[columns[name]]) for name in (*_PRICES, "volume")}
        for name in _PRICES:
            if values[name] <= 0:
                raise _BadRow(f"{name} must be positive, got {values[name]}")
        if values["volume"] < 0:
            raise _BadRow(f"volume must not be negative, got {values['volume']}")
        high, low = values["high"], values["low"]
        if high < max(values["open"], values["close"], low):
            raise _BadRow(f"high {high} is below open/close/low")
        if low > min(values["open"], values["close"]):
            raise _BadRow(f"low {low} is above open/close")
        if previous is not None:
            if ts <= previous.ts:
                raise _BadRow(
                    f"timestamp {ts.isoformat()} is not after the previous bar ({previous.ts.isoformat()}): "
                    "duplicate or out of order"
                )
            if ts < previous.end:
                # Overlapping bars would let a backtest act on a bar before the previous one closed.
                raise _BadRow(
                    f"timestamp {ts.isoformat()} is only {ts - previous.ts} after the previous bar, "
                    f"less than the interval {self.interval}: bars overlap (wrong interval?)"
                )
        if self.now is not None:
            future = future_bar_reason(ts=ts, end=ts + self.interval, now=self.now)
            if future:
                raise _BadRow(future)
        try:
            return Bar(symbol=self.instrument.symbol, ts=ts, interval=self.interval, **values)
        except ValueError as exc:  # a backstop: the checks above should already have caught it
            raise _BadRow(str(exc)) from exc
