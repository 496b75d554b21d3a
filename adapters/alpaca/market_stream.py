"""StreamingMarketData on Alpaca's stock data websocket (StockDataStream, msgpack).

Alpaca allows one data websocket per key: the venue keeps one MarketDataHub, and every
`market_data(...)` subscription is merged into its one stream (the hub subscribes the union
of the symbols; each subscription sees its own symbols only).

Stream bars are minute bars, pushed after the minute closes, stamped with the minute's open
time. A subscription with a longer interval aggregates them: a bucket is emitted when its
last minute arrives, or when a minute of a later bucket does (quiet minutes have no bar).

Bars missed while the stream was down are read back over REST after each reconnect, once the
venue has confirmed the subscription: for every subscribed symbol, the closed minute bars
after the last one seen (or since the symbol was subscribed), handed on in time order before
any bar streamed after them. Each symbol's bars go out in time order and once: a bar at or
before the last one handed on for its symbol is a replay and is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from adapters.alpaca.errors import VENUE
from adapters.alpaca.history import AlpacaHistory
from adapters.alpaca.stream_runner import ReconnectingDataStream, StreamThread
from application.ports import Clock
from domain.accounting.market import Bar, Quote
from domain.errors import ConfigurationError, QuantShiftError

log = logging.getLogger(__name__)

_MINUTE = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {value!r}")
    return Decimal(str(value))  # msgpack floats: their shortest repr


def _timestamp(value: object) -> datetime:
    to_datetime = getattr(value, "to_datetime", None)  # msgpack.Timestamp
    if to_datetime is not None:
        return to_datetime().astimezone(timezone.utc)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    raise ValueError(f"not a timestamp: {value!r}")


def _minute_of(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def minute_bar(message: dict) -> Bar:
    return Bar(symbol=str(message["S"]), ts=_timestamp(message["t"]), open=_number(message["o"]),
               high=_number(message["h"]), low=_number(message["l"]), close=_number(message["c"]),
               volume=_number(message["v"]), interval=_MINUTE)


def quote_of(message: dict) -> Quote:
    bid, ask = _number(message["bp"]), _number(message["ap"])
    # Alpaca's quote carries no last trade price; the mid stands in for it.
    return Quote(symbol=str(message["S"]), ts=_timestamp(message["t"]), bid=bid, ask=ask, last=(bid + ask) / 2)


class _Aggregator:
    """Minute bars -> bars of `interval` (a whole number of minutes, aligned on the epoch)."""

    def __init__(self, interval: timedelta) -> None:
        self._interval = interval
        self._open: dict[str, list[Bar]] = {}

    def _bucket(self, ts: datetime) -> datetime:
        step = self._interval.total_seconds()
        return _EPOCH + timedelta(seconds=((ts - _EPOCH).total_seconds() // step) * step)

    def add(self, bar: Bar) -> list[Bar]:
        if self._interval == _MINUTE:
            return [bar]
        done: list[Bar] = []
        pending = self._open.get(bar.symbol, [])
        if pending and self._bucket(pending[0].ts) != self._bucket(bar.ts):
            done.append(self._merge(pending))
            pending = []
        pending.append(bar)
        if bar.ts + _MINUTE >= self._bucket(bar.ts) + self._interval:
            done.append(self._merge(pending))
            pending = []
        self._open[bar.symbol] = pending
        return done

    def _merge(self, minutes: list[Bar]) -> Bar:
        first = minutes[0]
        return Bar(symbol=first.symbol, ts=self._bucket(first.ts), open=first.open,
                   high=max(b.high for b in minutes), low=min(b.low for b in minutes), close=minutes[-1].close,
                   volume=sum((b.volume for b in minutes), Decimal(0)), interval=self._interval)


class BarSubscription:
    """One caller's view of the shared stream (the StreamingMarketData port)."""

    def __init__(self, *, hub: MarketDataHub, symbols: Sequence[str], interval: timedelta) -> None:
        if interval < _MINUTE or interval.total_seconds() % 60:
            raise ConfigurationError(f"{VENUE}: streamed bars need a whole number of minutes, got {interval}")
        self.symbols = frozenset(symbols)
        self.interval = interval
        self._hub = hub
        self._queue: queue.Queue[Bar] = queue.Queue()
        self._aggregator = _Aggregator(interval)
        self._lock = threading.Lock()

    def offer(self, bar: Bar) -> None:
        if bar.symbol in self.symbols:
            with self._lock:
                for done in self._aggregator.add(bar):
                    self._queue.put(done)

    def poll(self, *, timeout: float) -> list[Bar]:
        bars: list[Bar] = []
        try:
            bars.append(self._queue.get(timeout=max(timeout, 0.0)) if timeout > 0 else self._queue.get_nowait())
        except queue.Empty:
            return bars
        while True:
            try:
                bars.append(self._queue.get_nowait())
            except queue.Empty:
                return sorted(bars, key=lambda b: (b.ts, b.symbol))

    def latest_quote(self, symbol: str) -> Quote | None:
        return self._hub.latest_quote(symbol)

    def close(self) -> None:
        self._hub.leave(self)


class MarketDataHub:
    """The one data stream of a key, shared by every subscription, with the REST backfill of
    what it missed while down."""

    def __init__(self, *, api_key: str, secret_key: str, feed: str, url: str | None,
                 reconnect_backoff: float, history: AlpacaHistory, clock: Clock) -> None:
        self._make_stream = lambda: ReconnectingDataStream(
            api_key=api_key, secret_key=secret_key, feed=feed, url=url, reconnect_backoff=reconnect_backoff,
            on_connected=self._on_subscribed)
        self._history = history
        self._clock = clock
        self._thread: StreamThread | None = None
        self._subscriptions: list[BarSubscription] = []
        self._quotes: dict[str, Quote] = {}
        self._symbols: set[str] = set()
        self._subscribed_at: dict[str, datetime] = {}  # symbol -> the minute it was first subscribed in
        self._last_bar: dict[str, datetime] = {}  # symbol -> open time of the last minute bar handed on
        self._gap = False  # a reconnect whose backfill has not succeeded yet
        self._lock = threading.Lock()  # the tables above; held briefly, by the stream thread too
        self._subscribing = threading.Lock()  # one subscribe (or close) at a time
        self.rejected_messages = 0  # bars/quotes that failed the value checks (logged, never traded on)
        self.replayed_bars = 0  # bars dropped as already handed on (the stream and the backfill overlap)
        self.backfills = 0  # completed REST backfills after a (re)connection

    def subscribe(self, symbols: Sequence[str], interval: timedelta) -> BarSubscription:
        subscription = BarSubscription(hub=self, symbols=symbols, interval=interval)
        # Not under self._lock: a running SDK stream sends the new subscription from its own
        # thread and waits for it, and that thread takes self._lock to hand bars on.
        with self._subscribing:
            with self._lock:
                self._subscriptions.append(subscription)
                new = sorted(set(symbols) - self._symbols)
                self._symbols.update(new)
                minute = _minute_of(self._clock.now())
                for symbol in new:
                    self._subscribed_at[symbol] = minute
            if self._thread is None:
                self._thread = StreamThread(stream=self._make_stream(), name="alpaca-market-data")
                self._listen(new)
                self._thread.start()
            elif new:
                self._listen(new)  # a running SDK stream sends the new subscription at once
        return subscription

    def _listen(self, symbols: list[str]) -> None:
        assert self._thread is not None
        if symbols:
            self._thread.stream.subscribe_bars(self._on_bar, *symbols)
            self._thread.stream.subscribe_quotes(self._on_quote, *symbols)

    @property
    def connections(self) -> int:
        return 0 if self._thread is None else self._thread.stream.connections

    def latest_quote(self, symbol: str) -> Quote | None:
        with self._lock:
            return self._quotes.get(symbol)

    def leave(self, subscription: BarSubscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def close(self) -> None:
        with self._subscribing, self._lock:
            thread, self._thread = self._thread, None
            self._subscriptions.clear()
        if thread is not None:
            thread.close()

    # --- the backfill (runs in a worker thread while the stream thread waits for it) ----

    def _on_subscribed(self) -> None:
        """The venue confirmed the subscription of a (new) connection: read back what the
        stream may have missed before it."""
        self._gap = True
        self._backfill()

    def _backfill(self) -> None:
        with self._lock:
            starts = {symbol: (self._last_bar[symbol] + _MINUTE if symbol in self._last_bar
                               else self._subscribed_at[symbol]) for symbol in self._symbols}
        try:
            bars = self._history.closed_minute_bars(starts=starts)
        except QuantShiftError as error:
            # Tried again before the next streamed bar is handed on, so the gap's bars still
            # come first.
            log.warning("alpaca market data backfill after reconnect failed, will retry: %s", error)
            return
        self._gap = False
        self.backfills += 1
        for bar in bars:
            self._hand_on(bar)

    def _hand_on(self, bar: Bar) -> None:
        with self._lock:
            last = self._last_bar.get(bar.symbol)
            if last is not None and bar.ts <= last:
                self.replayed_bars += 1
                return
            self._last_bar[bar.symbol] = bar.ts
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(bar)

    # --- stream handlers (the stream thread) -------------------------------------------

    async def _on_bar(self, message: dict) -> None:
        try:
            bar = minute_bar(message)
        except (KeyError, ValueError, TypeError) as error:
            self.rejected_messages += 1
            log.warning("alpaca stream bar rejected (%s): %r", error, message)
            return
        if self._gap:
            await asyncio.get_running_loop().run_in_executor(None, self._backfill)
        self._hand_on(bar)

    async def _on_quote(self, message: dict) -> None:
        try:
            quote = quote_of(message)
        except (KeyError, ValueError, TypeError) as error:
            self.rejected_messages += 1
            log.warning("alpaca stream quote rejected (%s): %r", error, message)
            return
        with self._lock:
            self._quotes[quote.symbol] = quote
