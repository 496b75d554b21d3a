"""A VenueAccount and FundingRates fake: figures the test sets, failures it scripts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from application.venues.ports import (
    AccountSnapshot,
    FundingRate,
    FundingUnsupported,
    MarketClock,
    TradingDay,
    VenueInstrument,
    VenuePermissions,
)
from domain.accounting.instrument import AssetClass
from domain.errors import ConfigurationError, VenueUnavailable


def snapshot(**changes) -> AccountSnapshot:
    base = AccountSnapshot(venue="fakevenue", account_id="PA123", status="ACTIVE", currency="USD",
                           cash=Decimal(50_000), equity=Decimal(100_000), buying_power=Decimal(200_000),
                           daytrading_buying_power=Decimal(400_000), maintenance_margin=Decimal(10_000))
    return attrs.evolve(base, **changes)


class FakeVenueAccount:
    name = "fakevenue"

    def __init__(self, *, clock_ts: datetime, listed: Sequence[str] = ("SPY", "AAPL")) -> None:
        self.snapshot = snapshot()
        self.clock_ts = clock_ts
        self.is_open = True
        self.listed = {s: True for s in listed}
        self.permissions_value = VenuePermissions(can_read=True, can_trade=True)
        self.down = False
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise VenueUnavailable("fakevenue: connection refused")

    def account(self) -> AccountSnapshot:
        self._call()
        return self.snapshot

    def clock(self) -> MarketClock:
        self._call()
        return MarketClock(ts=self.clock_ts, is_open=self.is_open,
                           next_open=None if self.is_open else self.clock_ts + timedelta(hours=15))

    def calendar(self, *, start: date, end: date) -> list[TradingDay]:
        self._call()
        return []

    def instruments(self, symbols: Sequence[str]) -> dict[str, VenueInstrument]:
        self._call()
        unknown = [s for s in symbols if s not in self.listed]
        if unknown:
            raise ConfigurationError(f"fakevenue does not list {', '.join(unknown)}")
        return {s: VenueInstrument(symbol=s, asset_class=AssetClass.EQUITY, tradable=self.listed[s],
                                   price_increment=Decimal("0.01"), size_increment=Decimal(1)) for s in symbols}

    def permissions(self) -> VenuePermissions:
        self._call()
        return self.permissions_value


class FakeFunding:
    def __init__(self, *, rates: Sequence[FundingRate] = (), supported: bool = True) -> None:
        self.rates = list(rates)
        self.supported = supported
        self.calls = 0

    def funding_rates(self, symbols: Sequence[str]) -> list[FundingRate]:
        self.calls += 1
        if not self.supported:
            raise FundingUnsupported("fakevenue lists no perpetual futures")
        return [r for r in self.rates if r.symbol in symbols]
