"""Bars a market-data websocket missed while it was down, rebuilt from the candles endpoint.

The candles are read through CoinbaseHistory (the key's governed REST client, paged, with the
sanity gate) at the stream's interval when Coinbase has that granularity; otherwise at the
coarsest granularity that divides the interval, aggregated: 5-minute candles into 10-minute
bars, 1-minute candles into the 2- or 3-minute bars the stream builds from market_trades. An
interval that no granularity divides (under a minute, or 90 seconds: Coinbase's finest candle
is one minute) cannot be rebuilt from REST; `possible` is False and the stream reports the gap.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from adapters.coinbase.history import GRANULARITY, CoinbaseHistory
from domain.accounting.market import Bar
from domain.numbers import ZERO

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def bucket_start(moment: datetime, interval: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // interval) * interval


def base_granularity(interval: timedelta) -> timedelta | None:
    """The candle size to read for bars of `interval`: the interval itself when Coinbase has it,
    else the coarsest one that divides it (fewest candles to read); None when none does."""
    fitting = [size for size in GRANULARITY if interval % size == timedelta(0)]
    return max(fitting) if fitting else None


class CandleBackfill:
    def __init__(self, *, history: CoinbaseHistory, interval: timedelta) -> None:
        self.interval = interval
        self.base = base_granularity(interval)
        self._history = history

    @property
    def possible(self) -> bool:
        return self.base is not None

    def why_not(self) -> str:
        finest = min(GRANULARITY)
        return (f"Coinbase's candles endpoint has no granularity that divides {self.interval} (its finest is "
                f"{finest}), so bars of {self.interval} cannot be rebuilt from REST")

    def bars(self, *, symbol: str, after: datetime, through: datetime) -> list[Bar]:
        """The bars of `interval` opening in (after, through], oldest first. Both ends are bucket
        starts; the caller keeps `through` at a completed bucket (a forming one is never asked)."""
        if self.base is None:
            raise ValueError(self.why_not())
        start, end = after + self.interval, through + self.interval
        if start >= end:
            return []
        candles = self._history.history(symbol=symbol, start=start, end=end, interval=self.base)
        if self.base == self.interval:
            return candles
        return self._aggregate(symbol, candles)

    def _aggregate(self, symbol: str, candles: list[Bar]) -> list[Bar]:
        buckets: dict[datetime, list[Bar]] = {}
        for candle in candles:  # oldest first
            buckets.setdefault(bucket_start(candle.ts, self.interval), []).append(candle)
        bars: list[Bar] = []
        for opened in sorted(buckets):
            parts = buckets[opened]
            try:
                bars.append(Bar(symbol=symbol, ts=opened, interval=self.interval, open=parts[0].open,
                                high=max(p.high for p in parts), low=min(p.low for p in parts), close=parts[-1].close,
                                volume=max(sum((p.volume for p in parts), ZERO), ZERO)))
            except ValueError as error:
                log.warning("coinbase %s bar at %s (from candles) rejected: %s", symbol, opened, error)
        return bars
