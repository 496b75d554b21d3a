"""The Coinbase venue: one key, one governor, its broker, account, history, streams and funding."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from adapters.coinbase.account import CoinbaseAccount
from adapters.coinbase.broker import CoinbaseBroker
from adapters.coinbase.funding import CoinbaseFunding
from adapters.coinbase.history import CoinbaseHistory
from adapters.coinbase.http import CoinbaseRest
from adapters.coinbase.products import ProductCatalog
from adapters.coinbase.socket import SupervisedSocket
from adapters.coinbase.streams import CoinbaseMarketStream
from application.ports import Clock
from application.venues.request_governor import COINBASE_LIMIT, RequestGovernor

REST_HOST = "api.coinbase.com"
SANDBOX_REST_HOST = "api-sandbox.coinbase.com"
WS_URL = "wss://advanced-trade-ws.coinbase.com"
WS_USER_URL = "wss://advanced-trade-ws-user.coinbase.com"


class CoinbaseVenue:
    """`.broker` (Broker), `.account` (VenueAccount), `.history` (HistoricalBars),
    `.funding` (FundingRates), `.market_data(...)` (StreamingMarketData); close() stops every
    stream it started."""

    def __init__(self, *, rest: CoinbaseRest, clock: Clock, ws_url: str, ws_user_url: str | None,
                 api_key: str, api_secret: str, timeout: float, reconnect_backoff: float,
                 limit_ioc: bool = False, submit_attempts: int = 3, lookup_pages: int = 20,
                 resync_retry: float = 5.0, stream_silence: float | None = 5.0) -> None:
        self.rest = rest
        self.governor = rest.governor
        self.products = ProductCatalog(rest=rest)
        self.broker = CoinbaseBroker(rest=rest, products=self.products, clock=clock, limit_ioc=limit_ioc,
                                     submit_attempts=submit_attempts, lookup_pages=lookup_pages,
                                     stream_silence=stream_silence)
        self.account = CoinbaseAccount(rest=rest, products=self.products, clock=clock)
        self.history = CoinbaseHistory(rest=rest)
        self.funding = CoinbaseFunding(products=self.products, clock=clock)
        self._clock = clock
        self._ws_url = ws_url
        self._timeout = timeout
        self._backoff = reconnect_backoff
        self._resync_retry = resync_retry
        self._streams: list[CoinbaseMarketStream] = []
        self.user_stream: SupervisedSocket | None = None
        self._started = False
        if ws_user_url is not None:
            # The user channel (all products) carries our order updates; heartbeats keep it alive
            # and, with sequence_num, show a lost message (the broker then resyncs over REST).
            self.user_stream = SupervisedSocket(
                url=ws_user_url, subscriptions=[([], "user"), ([], "heartbeats")],
                on_message=self.broker.on_user_message, on_reconnect=self.broker.on_reconnect,
                on_disconnect=self.broker.on_disconnect,
                api_key=api_key, api_secret=api_secret, timeout=timeout, reconnect_backoff=reconnect_backoff,
                name="coinbase-user")

    def start(self) -> None:
        """Start the user stream (order updates); idempotent."""
        if self.user_stream is not None and not self._started:
            self._started = True
            self.user_stream.start()

    def market_data(self, symbols: Sequence[str], interval: timedelta) -> CoinbaseMarketStream:
        stream = CoinbaseMarketStream(url=self._ws_url, symbols=symbols, interval=interval, clock=self._clock,
                                      history=self.history, timeout=self._timeout, reconnect_backoff=self._backoff,
                                      resync_retry=self._resync_retry)
        stream.start()
        self._streams.append(stream)
        return stream

    def close(self) -> None:
        for stream in self._streams:
            stream.close()
        self._streams.clear()
        if self.user_stream is not None and self._started:
            self.user_stream.close()
            self._started = False
        self.rest.close()


def build_coinbase_venue(
    *,
    api_key: str,
    api_secret: str,
    clock: Clock,
    sandbox: bool = False,
    rest_host: str | None = None,
    ws_url: str | None = None,
    ws_user_url: str | None = None,
    ca_bundle: str | None = None,
    timeout: float = 10.0,
    governor: RequestGovernor | None = None,
    retry_attempts: int = 3,
    retry_wait: float = 0.5,
    reconnect_backoff: float = 1.0,
    submit_attempts: int = 3,
    lookup_pages: int = 20,
    resync_retry: float = 5.0,
    stream_silence: float | None = 5.0,
    limit_ioc: bool = False,
    user_stream: bool = True,
    start: bool = True,
) -> CoinbaseVenue:
    """None hosts are Coinbase's own (the sandbox's REST host with `sandbox`); tests pass loopback
    "127.0.0.1:PORT" and ws://127.0.0.1:PORT urls. `ca_bundle` is an extra CA file the REST client
    trusts. With `user_stream`, order updates come from the user websocket (started at once
    unless `start` is False). `lookup_pages` bounds the pages of 250 orders read to find an order
    by client_order_id (the venue has no filter for it); `resync_retry` is the pause between
    attempts to backfill bars over REST after a market-data websocket reconnects; `stream_silence`
    the seconds without any message on the user stream (heartbeats come every second) after
    which orders and fills are resynced over REST (None: never)."""
    host = rest_host or (SANDBOX_REST_HOST if sandbox else REST_HOST)
    rest = CoinbaseRest(api_key=api_key, api_secret=api_secret, host=host,
                        governor=governor or RequestGovernor(limit=COINBASE_LIMIT), ca_bundle=ca_bundle,
                        timeout=timeout, retry_attempts=retry_attempts, retry_wait=retry_wait)
    venue = CoinbaseVenue(rest=rest, clock=clock, ws_url=ws_url or WS_URL,
                          ws_user_url=(ws_user_url or WS_USER_URL) if user_stream else None,
                          api_key=api_key, api_secret=api_secret, timeout=timeout,
                          reconnect_backoff=reconnect_backoff, limit_ioc=limit_ioc, submit_attempts=submit_attempts,
                          lookup_pages=lookup_pages, resync_retry=resync_retry, stream_silence=stream_silence)
    if start:
        venue.start()
    return venue
