"""Market data pushed by Coinbase's public websocket: quotes and bars.

Quotes come from the `ticker` channel (best bid, best ask, last price).

Bars: Coinbase's `candles` channel only gives 5-minute candles, re-sent while they form. A
candle is closed when a candle with a later start arrives for its product. For an interval
that is a multiple of 5 minutes, closed candles are emitted (5m) or aggregated into the
interval (15m, 1h, ...). Any other interval (1m, 2m, ...) is built from the `market_trades`
channel (every trade's price, size and time): a bar closes when a trade of a later bucket
arrives or when the clock passes the bucket's end plus `close_grace`. A bar that fails the
sanity gate, or is not after the last one of its symbol, is dropped with a warning.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from adapters.coinbase.http import MalformedResponse
from adapters.coinbase.mapping import dec, items, product_id, text, ts
from adapters.coinbase.socket import SupervisedSocket
from application.ports import Clock
from domain.market import Bar, Quote
from domain.numbers import ZERO

log = logging.getLogger(__name__)
CANDLE = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def bucket_start(moment: datetime, interval: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // interval) * interval


@attrs.define
class _Building:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, *, high: Decimal, low: Decimal, close: Decimal, volume: Decimal) -> None:
        self.high = max(self.high, high)
        self.low = min(self.low, low)
        self.close = close
        self.volume += volume


class CoinbaseMarketStream:
    """StreamingMarketData (and LiveMarketData) for some products at one interval."""

    def __init__(
        self,
        *,
        url: str,
        symbols: Sequence[str],
        interval: timedelta,
        clock: Clock,
        timeout: float = 10.0,
        reconnect_backoff: float = 1.0,
        close_grace: timedelta = timedelta(seconds=2),
    ) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self.interval = interval
        self.uses_candles = interval % CANDLE == timedelta(0)
        self._clock = clock
        self._grace = close_grace
        self._symbols = {product_id(s): s for s in symbols}
        self._bars: queue.SimpleQueue[Bar] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._quotes: dict[str, Quote] = {}
        self._candles: dict[str, _Building] = {}  # forming 5-minute candle per product
        self._buckets: dict[str, _Building] = {}  # forming bar of `interval` per product
        self._last_bar: dict[str, datetime] = {}
        self._trade_ids: dict[str, set[str]] = {}
        products = sorted(self._symbols)
        bar_channel = "candles" if self.uses_candles else "market_trades"
        self._socket = SupervisedSocket(
            url=url, subscriptions=[(products, "ticker"), (products, bar_channel), ([], "heartbeats")],
            on_message=self._receive, timeout=timeout, reconnect_backoff=reconnect_backoff, name="coinbase-market")

    def start(self) -> None:
        self._socket.start()

    @property
    def connected(self) -> threading.Event:
        return self._socket.connected

    def poll(self, *, timeout: float) -> list[Bar]:
        self._close_due_buckets()
        bars: list[Bar] = []
        try:
            bars.append(self._bars.get(timeout=timeout))
        except queue.Empty:
            return bars
        while True:
            try:
                bars.append(self._bars.get_nowait())
            except queue.Empty:
                return sorted(bars, key=lambda b: (b.ts, b.symbol))

    def latest_quote(self, symbol: str) -> Quote | None:
        with self._lock:
            return self._quotes.get(product_id(symbol))

    def close(self) -> None:
        self._socket.close()

    # Messages (in the socket's thread).

    def _receive(self, message: Mapping) -> None:
        channel = message.get("channel")
        try:
            at = ts(message, "timestamp", what=str(channel)) if message.get("timestamp") else self._clock.now()
            with self._lock:
                for event in items(message, "events", what=str(channel)):
                    if channel == "ticker":
                        for row in items(event, "tickers", what="ticker"):
                            self._on_ticker(row, at)
                    elif channel == "candles":
                        for row in items(event, "candles", what="candles"):
                            self._on_candle(row)
                    elif channel == "market_trades":
                        for row in sorted(items(event, "trades", what="market_trades"), key=lambda r: str(r.get("time"))):
                            self._on_trade(row)
        except MalformedResponse as error:
            log.warning("%s (message skipped)", error)

    def _on_ticker(self, row: Mapping, at: datetime) -> None:
        pid = text(row, "product_id", what="ticker")
        try:
            self._quotes[pid] = Quote(symbol=self._symbols.get(pid, pid), ts=at, bid=dec(row, "best_bid", what="ticker"),
                                      ask=dec(row, "best_ask", what="ticker"), last=dec(row, "price", what="ticker"))
        except ValueError as error:
            log.warning("coinbase ticker %s rejected: %s", pid, error)

    def _on_candle(self, row: Mapping) -> None:
        pid = text(row, "product_id", what="candles")
        start = ts(row, "start", what="candles")
        figures = {k: dec(row, k, what="candles") for k in ("open", "high", "low", "close", "volume")}
        current = self._candles.get(pid)
        if current is not None and start < current.start:
            return  # a late update of a closed candle
        if current is not None and start > current.start:
            self._closed_candle(pid, current)
        self._candles[pid] = _Building(start=start, **figures)  # the venue re-sends the whole candle

    def _closed_candle(self, pid: str, candle: _Building) -> None:
        if self.interval == CANDLE:
            self._emit(pid, candle)
            return
        start = bucket_start(candle.start, self.interval)
        bucket = self._buckets.get(pid)
        if bucket is not None and bucket.start != start:
            self._emit(pid, self._buckets.pop(pid))
            bucket = None
        if bucket is None:
            self._buckets[pid] = _Building(start=start, open=candle.open, high=candle.high, low=candle.low,
                                           close=candle.close, volume=candle.volume)
        else:
            bucket.add(high=candle.high, low=candle.low, close=candle.close, volume=candle.volume)
        if candle.start + CANDLE >= start + self.interval:
            self._emit(pid, self._buckets.pop(pid))  # the bucket's last candle closed

    def _on_trade(self, row: Mapping) -> None:
        pid = text(row, "product_id", what="market_trades")
        trade_id = str(row.get("trade_id", ""))
        seen = self._trade_ids.setdefault(pid, set())
        if trade_id and trade_id in seen:
            return
        seen.add(trade_id)
        if len(seen) > 10_000:
            seen.clear()
        at = ts(row, "time", what="market_trades")
        price = dec(row, "price", what="market_trades")
        size = dec(row, "size", what="market_trades")
        start = bucket_start(at, self.interval)
        last = self._last_bar.get(pid)
        if last is not None and start <= last:
            return  # a trade of a bar already emitted
        bucket = self._buckets.get(pid)
        if bucket is not None and start > bucket.start:
            self._emit(pid, self._buckets.pop(pid))
            bucket = None
        if bucket is None:
            self._buckets[pid] = _Building(start=start, open=price, high=price, low=price, close=price, volume=size)
        elif start == bucket.start:
            bucket.add(high=price, low=price, close=price, volume=size)

    def _close_due_buckets(self) -> None:
        if self.uses_candles:
            return
        now = self._clock.now()
        with self._lock:
            for pid, bucket in list(self._buckets.items()):
                if now >= bucket.start + self.interval + self._grace:
                    self._emit(pid, self._buckets.pop(pid))

    def _emit(self, pid: str, built: _Building) -> None:
        last = self._last_bar.get(pid)
        if last is not None and built.start <= last:
            log.warning("coinbase %s bar at %s is not after the last one (%s): dropped", pid, built.start, last)
            return
        try:
            bar = Bar(symbol=self._symbols.get(pid, pid), ts=built.start, open=built.open, high=built.high,
                      low=built.low, close=built.close, volume=max(built.volume, ZERO), interval=self.interval)
        except ValueError as error:
            log.warning("coinbase %s bar at %s rejected: %s", pid, built.start, error)
            return
        self._last_bar[pid] = built.start
        self._bars.put(bar)
