"""HistoricalBars on Alpaca's market data API (StockHistoricalDataClient.get_stock_bars;
the SDK follows next_page_token, each page through the governed transport), and the minute
bars a dropped market data stream missed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from adapters.alpaca.errors import VENUE, MalformedResponse
from adapters.alpaca.http import ReadPolicy
from adapters.alpaca.schemas import Payload
from application.ports import Clock
from domain.accounting.market import Bar
from domain.errors import ConfigurationError, InvalidMarketData
from domain.risk.sanity import BarSanityGate

log = logging.getLogger(__name__)

_MINUTE = timedelta(minutes=1)


def timeframe_for(interval: timedelta) -> TimeFrame:
    """1-59 minutes, 1-23 hours, 1 day, 1 week; anything else is refused."""
    seconds = interval.total_seconds()
    if seconds <= 0 or seconds % 60:
        raise ConfigurationError(f"{VENUE}: unsupported bar interval {interval} (whole minutes only)")
    minutes = int(seconds // 60)
    if minutes < 60:
        return TimeFrame(minutes, TimeFrameUnit.Minute)
    if minutes % 60 == 0 and minutes // 60 < 24:
        return TimeFrame(minutes // 60, TimeFrameUnit.Hour)
    if interval == timedelta(days=1):
        return TimeFrame(1, TimeFrameUnit.Day)
    if interval == timedelta(weeks=1):
        return TimeFrame(1, TimeFrameUnit.Week)
    raise ConfigurationError(f"{VENUE}: unsupported bar interval {interval} "
                             "(1-59 minutes, 1-23 hours, 1 day or 1 week)")


def bar_from_wire(raw: object, *, symbol: str, interval: timedelta, call: str) -> Bar:
    """Alpaca's {t, o, h, l, c, v} (t = the bar's open time) as a Bar; a bar that fails the
    Bar's own checks (<= 0, NaN, high below low...) raises InvalidMarketData naming it."""
    p = Payload(raw, call=call, what=f"{symbol} bar")
    ts = p.datetime("t")
    try:
        return Bar(symbol=symbol, ts=ts, open=p.decimal("o"), high=p.decimal("h"), low=p.decimal("l"),
                   close=p.decimal("c"), volume=p.decimal("v"), interval=interval)
    except ValueError as error:
        raise InvalidMarketData(f"{VENUE} {symbol} bar at {ts.isoformat()}: {error}") from error


class AlpacaHistory:
    def __init__(self, *, client: StockHistoricalDataClient, reads: ReadPolicy, clock: Clock,
                 feed: str = "iex", adjustment: str = "raw") -> None:
        self._client = client
        self._reads = reads
        self._clock = clock
        self._feed = DataFeed(feed)
        self._adjustment = Adjustment(adjustment)

    def history(self, *, symbol: str, start: datetime, end: datetime, interval: timedelta) -> list[Bar]:
        request = StockBarsRequest(symbol_or_symbols=symbol, timeframe=timeframe_for(interval), start=start,
                                   end=end, feed=self._feed, adjustment=self._adjustment)
        pages = self._reads.read("history", lambda: self._client.get_stock_bars(request))
        raw_bars = pages.get(symbol, []) if isinstance(pages, dict) else None
        if not isinstance(raw_bars, list):
            raise InvalidMarketData(f"{VENUE} history {symbol}: bars are not a list")
        gate = BarSanityGate()
        now = self._clock.now()
        bars: list[Bar] = []
        for raw in raw_bars:
            bar = bar_from_wire(raw, symbol=symbol, interval=interval, call="history")
            if not start <= bar.ts < end:
                continue  # [start, end): Alpaca's end is inclusive
            if bar.end > now:
                continue  # still forming (today's daily bar during the session): not history yet
            verdict = gate.check(bar, now=now)
            if not verdict.ok:
                raise InvalidMarketData(f"{VENUE} history: {verdict.reason}")
            bars.append(bar)
        return bars

    def closed_minute_bars(self, *, starts: Mapping[str, datetime]) -> list[Bar]:
        """The minute bars of each symbol from its start (inclusive, an open time) up to now,
        in one request for all the symbols, in (open time, symbol) order. A bar whose minute has
        not closed yet is left out (the stream sends it once it has); so is a bar that fails the
        Bar's checks (logged), as the stream drops such bars."""
        now = self._clock.now()
        starts = {symbol: start for symbol, start in starts.items() if start + _MINUTE <= now}
        if not starts:
            return []  # no minute could have closed since
        request = StockBarsRequest(symbol_or_symbols=sorted(starts), timeframe=TimeFrame.Minute,
                                   start=min(starts.values()), end=now, feed=self._feed, adjustment=self._adjustment)
        pages = self._reads.read("backfill", lambda: self._client.get_stock_bars(request))
        if not isinstance(pages, dict):
            raise MalformedResponse(f"{VENUE} backfill: expected bars by symbol, got {type(pages).__name__}")
        bars: list[Bar] = []
        for symbol, start in starts.items():
            raw_bars = pages.get(symbol, [])
            if not isinstance(raw_bars, list):
                raise MalformedResponse(f"{VENUE} backfill {symbol}: bars are not a list")
            for raw in raw_bars:
                try:
                    bar = bar_from_wire(raw, symbol=symbol, interval=_MINUTE, call="backfill")
                except (InvalidMarketData, MalformedResponse) as error:
                    log.warning("alpaca backfill bar rejected (%s): %r", error, raw)
                    continue
                if bar.ts >= start and bar.end <= now:
                    bars.append(bar)
        return sorted(bars, key=lambda b: (b.ts, b.symbol))
