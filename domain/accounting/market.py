"""Market data values: bars and quotes. Constructing one validates it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import attrs


def _check_price(name: str, value: object) -> None:
    if not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} is not finite ({value})")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@attrs.frozen(kw_only=True)
class Bar:
    """One OHLCV bar. `ts` is the bar's OPEN time (UTC); it covers [ts, ts + interval)."""

    symbol: str
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    interval: timedelta = timedelta(minutes=1)

    def __attrs_post_init__(self) -> None:
        _check_aware("ts", self.ts)
        for name in ("open", "high", "low", "close"):
            _check_price(name, getattr(self, name))
        if not isinstance(self.volume, Decimal) or not self.volume.is_finite() or self.volume < 0:
            raise ValueError(f"volume must be a finite non-negative Decimal, got {self.volume}")
        if self.high < max(self.open, self.close, self.low):
            raise ValueError(f"high {self.high} is below open/close/low")
        if self.low > min(self.open, self.close):
            raise ValueError(f"low {self.low} is above open/close")
        if self.interval <= timedelta(0):
            raise ValueError("interval must be positive")

    @property
    def end(self) -> datetime:
        """When the bar closes: the earliest instant a strategy may act on it."""
        return self.ts + self.interval


@attrs.frozen(kw_only=True)
class Quote:
    symbol: str
    ts: datetime
    bid: Decimal
    ask: Decimal
    last: Decimal

    def __attrs_post_init__(self) -> None:
        _check_aware("ts", self.ts)
        for name in ("bid", "ask", "last"):
            _check_price(name, getattr(self, name))
        if self.bid > self.ask:
            raise ValueError(f"crossed quote: bid {self.bid} > ask {self.ask}")

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2
