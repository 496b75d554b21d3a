"""Everything of one Alpaca key, built once: the broker, the account, history and the one
shared market data stream. The CLI/container calls `build_alpaca_venue`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.trading.client import TradingClient

from adapters.alpaca.account import AlpacaAccount
from adapters.alpaca.broker import AlpacaBroker
from adapters.alpaca.history import AlpacaHistory
from adapters.alpaca.http import ReadPolicy, govern
from adapters.alpaca.market_stream import BarSubscription, MarketDataHub
from adapters.alpaca.stream_runner import ResyncingTradingStream
from application.ports import Clock
from application.venues.request_governor import ALPACA_LIMIT, RequestGovernor
from domain.errors import ConfigurationError

FEEDS = ("iex", "sip")


@attrs.define(kw_only=True)
class AlpacaVenue:
    broker: AlpacaBroker
    account: AlpacaAccount
    history: AlpacaHistory
    governor: RequestGovernor
    _hub: MarketDataHub

    def market_data(self, symbols: Sequence[str], interval: timedelta = timedelta(minutes=1)) -> BarSubscription:
        """Bars (and quotes) of `symbols` from the key's one data websocket; a second call
        merges its symbols into the same stream."""
        if not symbols:
            raise ConfigurationError("alpaca market data: no symbols to subscribe")
        return self._hub.subscribe(symbols, interval)

    @property
    def market_data_connections(self) -> int:
        return self._hub.connections

    def close(self) -> None:
        """Stop both streams (their threads end); the REST clients need no closing."""
        self.broker.close()
        self._hub.close()


def build_alpaca_venue(
    *,
    api_key: str,
    secret_key: str,
    clock: Clock,
    paper: bool = True,
    trading_url: str | None = None,
    data_url: str | None = None,
    trading_stream_url: str | None = None,
    data_stream_url: str | None = None,
    feed: str = "iex",
    timeout: float = 10.0,
    governor: RequestGovernor | None = None,
    retry_wait: float = 0.5,
    read_attempts: int = 3,
    submit_attempts: int = 3,
    reconnect_backoff: float = 1.0,
) -> AlpacaVenue:
    """None URLs mean Alpaca's real endpoints (paper or live by `paper`, the SDK's defaults);
    tests pass loopback URLs. One governor (ALPACA_LIMIT: 200 a minute for trading and data
    together) paces every REST call of the key."""
    if not api_key or not secret_key:
        raise ConfigurationError("alpaca: an API key id and secret are required")
    if feed not in FEEDS:
        raise ConfigurationError(f"alpaca: feed must be one of {', '.join(FEEDS)}, got {feed!r}")
    if read_attempts < 1 or submit_attempts < 1:
        raise ConfigurationError("alpaca: read_attempts and submit_attempts must be at least 1")
    if timeout <= 0 or retry_wait < 0 or reconnect_backoff <= 0:
        raise ConfigurationError("alpaca: timeout and reconnect_backoff must be positive, retry_wait >= 0")
    governor = governor or RequestGovernor(limit=ALPACA_LIMIT)
    wall = lambda: clock.now().timestamp()  # noqa: E731 - the 429 reset is a unix time
    trading = govern(TradingClient(api_key, secret_key, paper=paper, raw_data=True, url_override=trading_url),
                     governor=governor, timeout=timeout, wall_clock=wall)
    data = govern(StockHistoricalDataClient(api_key, secret_key, raw_data=True, url_override=data_url),
                  governor=governor, timeout=timeout, wall_clock=wall)
    reads = ReadPolicy(attempts=read_attempts, wait=retry_wait, max_total=max(30.0, timeout * read_attempts))

    def trade_updates(*, on_connected) -> ResyncingTradingStream:
        return ResyncingTradingStream(api_key=api_key, secret_key=secret_key, paper=paper, url=trading_stream_url,
                                      reconnect_backoff=reconnect_backoff, on_connected=on_connected)

    history = AlpacaHistory(client=data, reads=reads, clock=clock, feed=feed)
    return AlpacaVenue(
        broker=AlpacaBroker(client=trading, clock=clock, reads=reads, stream_factory=trade_updates,
                            submit_attempts=submit_attempts),
        account=AlpacaAccount(client=trading, reads=reads),
        history=history,
        governor=governor,
        # The stream's backfill reads bars through the same governed client as history.
        hub=MarketDataHub(api_key=api_key, secret_key=secret_key, feed=feed, url=data_stream_url,
                          reconnect_backoff=reconnect_backoff, history=history, clock=clock),
    )
