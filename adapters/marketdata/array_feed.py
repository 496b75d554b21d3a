"""Bars for the event engine from OHLCV arrays (CSV or Parquet loaded by ohlcv_arrays)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta, timezone
from decimal import Decimal

import numpy as np

from adapters.marketdata.ohlcv_arrays import OhlcvArrays
from domain.accounting.market import Bar


def bar_interval(arrays: OhlcvArrays) -> timedelta:
    """The data's bar length: the most common spacing (gaps such as nights and weekends are longer)."""
    step = arrays.typical_step()
    if step is None:
        return timedelta(minutes=1)
    return timedelta(microseconds=int(step.astype("int64")) // 1000)


def bars_from_arrays(arrays: OhlcvArrays, *, symbol: str, interval: timedelta | None = None) -> Iterator[Bar]:
    interval = interval or bar_interval(arrays)
    times = arrays.timestamps.astype("datetime64[us]").tolist()
    # repr() of a float is its shortest round-trip text: 101.37 stays 101.37 as a Decimal.
    for i, ts in enumerate(times):
        yield Bar(symbol=symbol, ts=ts.replace(tzinfo=timezone.utc), interval=interval,
                  open=Decimal(repr(float(arrays.open[i]))), high=Decimal(repr(float(arrays.high[i]))),
                  low=Decimal(repr(float(arrays.low[i]))), close=Decimal(repr(float(arrays.close[i]))),
                  volume=Decimal(repr(float(arrays.volume[i]))))
