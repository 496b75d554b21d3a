"""HistoricalBars from Coinbase's candles endpoint (at most 350 candles a request: paged)."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.coinbase.http import VENUE, CoinbaseRest, VenueHttpError
from adapters.coinbase.mapping import dec, items, product_id, ts
from domain.accounting.market import Bar
from domain.errors import ConfigurationError, InvalidMarketData

MAX_CANDLES = 350

GRANULARITY = {
    timedelta(minutes=1): "ONE_MINUTE",
    timedelta(minutes=5): "FIVE_MINUTE",
    timedelta(minutes=15): "FIFTEEN_MINUTE",
    timedelta(minutes=30): "THIRTY_MINUTE",
    timedelta(hours=1): "ONE_HOUR",
    timedelta(hours=2): "TWO_HOUR",
    timedelta(hours=6): "SIX_HOUR",
    timedelta(days=1): "ONE_DAY",
}


class CoinbaseHistory:
    def __init__(self, *, rest: CoinbaseRest, page_size: int = MAX_CANDLES) -> None:
        self._rest = rest
        self._page = max(1, min(page_size, MAX_CANDLES))

    def history(self, *, symbol: str, start: datetime, end: datetime, interval: timedelta) -> list[Bar]:
        granularity = GRANULARITY.get(interval)
        if granularity is None:
            names = ", ".join(str(k) for k in GRANULARITY)
            raise ConfigurationError(f"{VENUE}: no candles at interval {interval} (it has {names})")
        pid = product_id(symbol)
        bars: dict[datetime, Bar] = {}
        window = interval * self._page
        page_start = start
        while page_start < end:
            # The venue's `end` is inclusive: stop one second short of the next page's first candle.
            page_end = min(page_start + window, end)
            what = f"candles {pid} {granularity} {page_start.isoformat()}"
            try:
                body = self._rest.read(what, lambda c, a=page_start, b=page_end: c.get_candles(
                    product_id=pid, start=str(int(a.timestamp())), end=str(int(b.timestamp()) - 1),
                    granularity=granularity, limit=self._page))
            except VenueHttpError as error:
                if error.status in (400, 404):
                    raise ConfigurationError(f"{VENUE}: no candles for {pid!r}: {error}") from None
                raise
            for row in items(body, "candles", what=what):
                opened = ts(row, "start", what=what)
                if not start <= opened < end:
                    continue
                try:
                    bars[opened] = Bar(symbol=symbol, ts=opened, interval=interval,
                                       **{k: dec(row, k, what=what) for k in ("open", "high", "low", "close", "volume")})
                except ValueError as error:  # history for a backtest: a bad candle is an error, named
                    raise InvalidMarketData(f"{VENUE}: candle {pid} {granularity} at {opened.isoformat()}: "
                                            f"{error}") from None
            page_start = page_end
        return [bars[k] for k in sorted(bars)]
