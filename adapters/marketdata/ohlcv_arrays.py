"""OHLCV history as numpy arrays, from CSV or Parquet, validated as a whole.

A backtest over a million bars cannot afford a Decimal per cell; pyarrow parses the file
in C and the checks run vectorised. Every problem names the file and the row (the CSV
line number, header = line 1; for Parquet the 0-based row index) and what is wrong.
Timestamps may carry any offset; naive ones are taken as UTC (documented), and all come
back as UTC nanoseconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import attrs
import numpy as np

from domain.errors import InputFileError
from domain.risk.sanity import MAX_FUTURE, future_bar_reason

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


@attrs.frozen(kw_only=True)
class OhlcvArrays:
    timestamps: np.ndarray = attrs.field(eq=False)  # datetime64[ns], UTC, strictly increasing
    open: np.ndarray = attrs.field(eq=False)
    high: np.ndarray = attrs.field(eq=False)
    low: np.ndarray = attrs.field(eq=False)
    close: np.ndarray = attrs.field(eq=False)
    volume: np.ndarray = attrs.field(eq=False)
    source: str = ""

    def __len__(self) -> int:
        return len(self.close)

    def price_tick(self) -> float:
        """The data's own price precision: 0.01 when every price is a whole cent, else 1e-8
        (so a backtest does not move prices the data never had onto a coarser grid)."""
        prices = np.concatenate([self.open, self.high, self.low, self.close])
        cents = prices * 100.0
        return 0.01 if bool(np.all(np.abs(cents - np.round(cents)) < 1e-6)) else 1e-8

    def slice(self, start: int, stop: int) -> OhlcvArrays:
        return OhlcvArrays(timestamps=self.timestamps[start:stop], open=self.open[start:stop],
                           high=self.high[start:stop], low=self.low[start:stop], close=self.close[start:stop],
                           volume=self.volume[start:stop], source=self.source)


    def typical_step(self) -> np.timedelta64 | None:
        """The most common spacing of the bars (nights and weekends are longer); None for one bar."""
        if len(self) < 2:
            return None
        values, counts = np.unique(np.diff(self.timestamps), return_counts=True)
        return values[np.argmax(counts)]


def load_ohlcv(path: Path | str, *, now: datetime | None = None) -> OhlcvArrays:
    """`now`: the wall clock; a bar ending after it (beyond MAX_FUTURE) is refused, as live."""
    path = Path(path)
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, not a file (give the .csv or .parquet file in it)")
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table, first_row, where = _read_parquet(path), 0, "row"
    elif suffix in (".csv", ".txt"):
        table, first_row, where = _read_csv(path), 2, "line"
    else:
        raise InputFileError(f"{path}: unknown format {suffix!r} (use .csv or .parquet)")
    names = {name.strip().lower(): name for name in table.column_names}
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise InputFileError(f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
    extra = sorted(set(names) - set(COLUMNS))
    if extra:
        raise InputFileError(f"{path}: unexpected column(s) {', '.join(extra)}; expected {','.join(COLUMNS)}")
    timestamps = _timestamps(table.column(names["timestamp"]), path=path, first_row=first_row, where=where)
    values = {}
    for name in COLUMNS[1:]:
        values[name] = _numbers(table.column(names[name]), name=name, path=path, first_row=first_row, where=where)
    arrays = OhlcvArrays(timestamps=timestamps, source=str(path), **values)
    _validate(arrays, path=path, first_row=first_row, where=where)
    if now is not None:
        _refuse_future_bars(arrays, now=now, path=path, first_row=first_row, where=where)
    return arrays


def _refuse_future_bars(a: OhlcvArrays, *, now: datetime, path: Path, first_row: int, where: str) -> None:
    step = a.typical_step()
    length = timedelta(minutes=1) if step is None else timedelta(microseconds=int(step // np.timedelta64(1, "us")))
    latest = np.datetime64((now + MAX_FUTURE - length).astimezone(timezone.utc).replace(tzinfo=None), "ns")
    future = np.flatnonzero(a.timestamps > latest)  # the bar ends after now: it has not happened
    if len(future):
        i = int(future[0])
        ts = a.timestamps[i].astype("datetime64[us]").item().replace(tzinfo=timezone.utc)
        raise InputFileError(f"{path} {_row(i, first_row=first_row, where=where)}: {future_bar_reason(ts=ts, end=ts + length, now=now)}"
                             + (f" (and {len(future) - 1} more rows)" if len(future) > 1 else ""))


def _read_csv(path: Path):
    import pyarrow as pa
    from pyarrow import csv

    try:
        # Timestamps are read as text and parsed below: pyarrow would silently accept mixed offsets.
        # Only an empty cell is missing: pyarrow's default null spellings ("NaN", "N/A", "null")
        # would report a NaN as "empty"; read as written, they are named as not finite or not numbers.
        return csv.read_csv(path, convert_options=csv.ConvertOptions(column_types={"timestamp": pa.string()},
                                                                     null_values=[""]))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: unreadable CSV: {exc}") from exc


def _read_parquet(path: Path):
    import pyarrow as pa
    from pyarrow import parquet

    try:
        table = parquet.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"{path}: unreadable Parquet: {exc}") from exc
    # A pandas-written file may keep the timestamp as its index column.
    if "timestamp" not in [c.lower() for c in table.column_names] and "__index_level_0__" in table.column_names:
        table = table.rename_columns(["timestamp" if c == "__index_level_0__" else c for c in table.column_names])
    return table


def _row(index: int, *, first_row: int, where: str) -> str:
    return f"{where} {index + first_row}"


def _timestamps(column, *, path: Path, first_row: int, where: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        index = int(np.flatnonzero(np.asarray(pc.is_null(column)))[0])
        raise InputFileError(f"{path} {_row(index, first_row=first_row, where=where)}: timestamp is empty")
    kind = column.type
    if pa.types.is_timestamp(kind):
        values = column.cast(pa.timestamp("ns", tz=kind.tz)) if kind.tz else column.cast(pa.timestamp("ns"))
        return np.asarray(values.to_numpy(), dtype="datetime64[ns]")
    if pa.types.is_integer(kind):  # epoch seconds, as the CSV feed takes them
        return np.asarray(column.to_numpy(), dtype="int64").astype("datetime64[s]").astype("datetime64[ns]")
    texts = column.to_pylist()
    return _parse_texts(texts, path=path, first_row=first_row, where=where)


def _parse_texts(texts: list[str], *, path: Path, first_row: int, where: str) -> np.ndarray:
    out = np.empty(len(texts), dtype="datetime64[ns]")
    for i, text in enumerate(texts):
        cleaned = text.strip()
        try:
            if cleaned.lstrip("+-").isdigit():
                moment = datetime.fromtimestamp(int(cleaned), tz=timezone.utc)
            else:
                moment = datetime.fromisoformat(cleaned)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=timezone.utc)  # documented: naive means UTC
        except (ValueError, OverflowError, OSError):
            raise InputFileError(f"{path} {_row(i, first_row=first_row, where=where)}: timestamp is neither ISO 8601 "
                                 f"nor integer epoch seconds: {text!r}") from None
        out[i] = np.datetime64(moment.astimezone(timezone.utc).replace(tzinfo=None), "ns")
    return out


def _numbers(column, *, name: str, path: Path, first_row: int, where: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_decimal(column.type)):
        for i, value in enumerate(column.to_pylist()):
            try:
                float(value)
            except (TypeError, ValueError):
                raise InputFileError(f"{path} {_row(i, first_row=first_row, where=where)}: {name} is not a number: "
                                     f"{value!r}") from None
    if column.null_count:
        index = int(np.flatnonzero(np.asarray(pc.is_null(column)))[0])
        raise InputFileError(f"{path} {_row(index, first_row=first_row, where=where)}: {name} is empty")
    return np.asarray(column.cast(pa.float64()).to_numpy(), dtype=np.float64)


def _as_written(path: Path, index: int, column: str, *, where: str, value: float) -> str:
    """The cell as the file spells it ('NaN', 'inf'), for the message; read again only on failure."""
    if where != "line":
        return repr(float(value))
    import csv as text_csv

    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = (row for row in text_csv.reader(handle) if any(cell.strip() for cell in row))
        header = [cell.strip().lower() for cell in next(rows, [])]
        for number, row in enumerate(rows):
            if number == index and column in header and header.index(column) < len(row):
                return repr(row[header.index(column)])
    return repr(float(value))


def _validate(a: OhlcvArrays, *, path: Path, first_row: int, where: str) -> None:
    def fail(mask: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(mask)
        if len(bad):
            i = int(bad[0])
            more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
            raise InputFileError(f"{path} {_row(i, first_row=first_row, where=where)}: {what(i)}{more}")

    if len(a) == 0:
        raise InputFileError(f"{path}: no bars")
    for name in ("open", "high", "low", "close", "volume"):
        values = getattr(a, name)
        fail(~np.isfinite(values), lambda i, n=name, v=values: f"{n} is not a finite number: "
                                                                f"{_as_written(path, i, n, where=where, value=v[i])}")
    for name in ("open", "high", "low", "close"):
        values = getattr(a, name)
        fail(values <= 0, lambda i, n=name, v=values: f"{n} must be positive, got {v[i]}")
    fail(a.volume < 0, lambda i: f"volume must not be negative, got {a.volume[i]}")
    fail(a.high < np.maximum.reduce([a.open, a.close, a.low]), lambda i: f"high {a.high[i]} is below open/close/low")
    fail(a.low > np.minimum(a.open, a.close), lambda i: f"low {a.low[i]} is above open/close")
    steps = np.diff(a.timestamps.astype("int64"))
    fail(np.concatenate(([False], steps <= 0)),
         lambda i: f"timestamp {a.timestamps[i]} is not after the previous bar ({a.timestamps[i - 1]}): duplicate or out of order")
