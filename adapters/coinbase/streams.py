"""Market data pushed by Coinbase's public websocket: quotes and bars.

Quotes come from the `ticker` channel (best bid, best ask, last price).

Bars: Coinbase's `candles` channel only gives 5-minute candles, re-sent while they form. A
candle is closed when a candle with a later start arrives for its product. For an interval
that is a multiple of 5 minutes, closed candles are emitted (5m) or aggregated into the
interval (15m, 1h, ...). Any other interval (1m, 2m, ...) is built from the `market_trades`
channel (every trade's price, size and time): a bar closes when a trade of a later bucket
arrives or when the clock passes the bucket's end plus `close_grace`. A bar that fails the
sanity gate, or is not after the last one of its symbol, is dropped with a warning.

Resync after a drop: from the moment the socket notices the drop, bars closed by the stream
are held back. Once the new subscription is confirmed (the venue's `subscriptions` message
naming the bar channel, or its first bar data), the bucket in progress at that moment is the
last one that overlapped the outage: every bar up to it (of every product, from the last one
emitted, exclusive) is read from the candles endpoint (backfill.py) as soon as it is complete,
and emitted in time order; the streamed versions of those bars (partial: the stream missed
part of them) are discarded; then the held newer bars follow. A bar is emitted at most once
per symbol and time, and never while it forms. A REST failure is retried on a later poll
(`resync_retry` seconds apart), the newer bars staying held meanwhile.

A lost message without a drop (a gap in the connection's sequence_num or heartbeat_counter,
gaps.py) is resynced the same way: the bars up to the bucket in progress when the gap shows
come from the candles endpoint, since one of them may lack the lost trade or candle update.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from adapters.coinbase.backfill import CandleBackfill, bucket_start
from adapters.coinbase.gaps import GapDetector
from adapters.coinbase.history import CoinbaseHistory
from adapters.coinbase.http import MalformedResponse
from adapters.coinbase.mapping import dec, items, product_id, text, ts
from adapters.coinbase.socket import SupervisedSocket
from application.ports import Clock
from domain.accounting.market import Bar, Quote
from domain.errors import ConfigurationError, TransientError
from domain.numbers import ZERO

log = logging.getLogger(__name__)
CANDLE = timedelta(minutes=5)


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
        history: CoinbaseHistory,
        timeout: float = 10.0,
        reconnect_backoff: float = 1.0,
        close_grace: timedelta = timedelta(seconds=2),
        resync_retry: float = 5.0,
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
        # Resync state (under _lock): see the module docstring.
        self._backfill = CandleBackfill(history=history, interval=interval)
        self._resync_retry = resync_retry
        self._opened = clock.now()  # no bar before this one's bucket was ever promised
        self._down = False  # from a drop until the new subscription is confirmed
        self._rest_until: datetime | None = None  # bars up to this bucket come from REST
        self._covered: dict[str, datetime] = {}  # per product: REST has been read through this bucket
        self._held: list[tuple[str, Bar]] = []  # streamed bars waiting for the backfill
        self._next_try = 0.0  # monotonic time of the next backfill attempt after a failure
        self._resyncing = threading.Lock()  # one backfill at a time, outside _lock (REST is slow)
        self._gaps = GapDetector()  # the socket's thread only
        products = sorted(self._symbols)
        self._bar_channel = "candles" if self.uses_candles else "market_trades"
        self._socket = SupervisedSocket(
            url=url, subscriptions=[(products, "ticker"), (products, self._bar_channel), ([], "heartbeats")],
            on_message=self._receive, on_disconnect=self._on_disconnect, timeout=timeout,
            reconnect_backoff=reconnect_backoff, name="coinbase-market")

    def start(self) -> None:
        self._socket.start()

    @property
    def connected(self) -> threading.Event:
        return self._socket.connected

    @property
    def resyncing(self) -> bool:
        """True from a drop until the missed bars are backfilled (for the health report and tests)."""
        with self._lock:
            return self._down or self._rest_until is not None

    def poll(self, *, timeout: float) -> list[Bar]:
        started = time.monotonic()
        self._close_due_buckets()
        self._resync()
        bars: list[Bar] = []
        try:
            bars.append(self._bars.get(timeout=max(0.0, timeout - (time.monotonic() - started))))
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

    def _on_disconnect(self) -> None:
        self._gaps.reset()  # the new connection numbers from 0 again
        with self._lock:
            self._down = True

    @property
    def gaps(self) -> int:
        """Lost messages detected so far (each one resynced its bars over REST)."""
        return self._gaps.gaps

    def _confirmed(self) -> None:
        """The new subscription works: bars up to the bucket in progress now come from REST."""
        if not self._down:
            return
        self._down = False
        until = bucket_start(self._clock.now(), self.interval)
        if self._rest_until is None or until > self._rest_until:
            self._rest_until = until

    def _subscribed(self, message: Mapping) -> bool:
        for event in items(message, "events", what="subscriptions"):
            subscriptions = event.get("subscriptions")
            if isinstance(subscriptions, Mapping):
                products = subscriptions.get(self._bar_channel)
                if isinstance(products, list) and set(self._symbols) <= set(products):
                    return True
        return False

    def _receive(self, message: Mapping) -> None:
        channel = message.get("channel")
        lost = self._gaps.check(message)
        if lost is not None:
            log.warning("coinbase market stream: %s; bars up to the current one come from the candles endpoint", lost)
            with self._lock:
                self._down = True
                self._confirmed()  # as after a reconnect that is already confirmed
        try:
            if channel == "subscriptions":
                if self._subscribed(message):
                    with self._lock:
                        self._confirmed()
                return
            at = ts(message, "timestamp", what=str(channel)) if message.get("timestamp") else self._clock.now()
            with self._lock:
                if channel == self._bar_channel:
                    self._confirmed()  # its data proves the subscription as well as its acknowledgement
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
        """A bar the stream closed (under _lock): out now, or held while a resync is pending."""
        try:
            bar = Bar(symbol=self._symbols.get(pid, pid), ts=built.start, open=built.open, high=built.high,
                      low=built.low, close=built.close, volume=max(built.volume, ZERO), interval=self.interval)
        except ValueError as error:
            log.warning("coinbase %s bar at %s rejected: %s", pid, built.start, error)
            return
        if self._down or self._rest_until is not None:
            self._held.append((pid, bar))
        else:
            self._publish(pid, bar)

    def _publish(self, pid: str, bar: Bar) -> None:
        last = self._last_bar.get(pid)
        if last is not None and bar.ts <= last:
            log.warning("coinbase %s bar at %s is not after the last one (%s): dropped", pid, bar.ts, last)
            return
        self._last_bar[pid] = bar.ts
        self._bars.put(bar)

    # Resync (in the polling thread).

    def _resync(self) -> None:
        if not self._resyncing.acquire(blocking=False):
            return
        try:
            with self._lock:
                until = self._rest_until
                if until is None or self._down or time.monotonic() < self._next_try:
                    return
                start = bucket_start(self._opened, self.interval) - self.interval
                after = {pid: max(self._covered.get(pid, start), self._last_bar.get(pid, start))
                         for pid in self._symbols}
            # Only completed buckets: the last one ended at least `close_grace` ago.
            through = min(until, bucket_start(self._clock.now() - self._grace, self.interval) - self.interval)
            if not self._backfill.possible:
                log.warning("coinbase market stream: bars missed while the websocket was down are lost: %s",
                            self._backfill.why_not())
                fetched: list[tuple[str, Bar]] = []
                through = until
            else:
                try:
                    fetched = self._fetch(after, through)
                except TransientError as error:
                    log.warning("coinbase market stream: backfill after reconnect failed, retrying in %gs: %s",
                                self._resync_retry, error)
                    self._next_try = time.monotonic() + self._resync_retry
                    return
            with self._lock:
                for pid in after:
                    self._covered[pid] = max(after[pid], through)
                for pid, bar in sorted(fetched, key=lambda item: (item[1].ts, item[1].symbol)):
                    self._publish(pid, bar)
                if through >= until and self._rest_until == until and not self._down:
                    self._release(until)
        finally:
            self._resyncing.release()

    def _fetch(self, after: Mapping[str, datetime], through: datetime) -> list[tuple[str, Bar]]:
        fetched: list[tuple[str, Bar]] = []
        for pid, since in after.items():
            if since >= through:
                continue
            try:
                bars = self._backfill.bars(symbol=self._symbols[pid], after=since, through=through)
            except ConfigurationError as error:  # the venue does not know the product (any more)
                log.error("coinbase market stream: cannot backfill %s: %s", pid, error)
                continue
            fetched.extend((pid, bar) for bar in bars)
        return fetched

    def _release(self, until: datetime) -> None:
        """The backfill reached `until`: the held bars after it go out, in time order."""
        held, self._held = self._held, []
        self._rest_until = None
        for pid, bar in sorted(held, key=lambda item: (item[1].ts, item[1].symbol)):
            if bar.ts <= until:
                log.debug("coinbase %s bar at %s overlapped the outage: REST's copy stands", pid, bar.ts)
                continue
            self._publish(pid, bar)
