"""Ports a real venue (Alpaca, Coinbase) offers beyond the Broker: its account, its clock,
its instruments, its history, its streams and its funding rates.

The simulated broker needs none of these; `quantshift doctor`, `data download`, the
buying-power monitor and the funding monitor do. Values are venue-neutral: adapters translate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import attrs

from domain.accounting.instrument import AssetClass
from domain.accounting.market import Bar, Quote
from domain.errors import RejectedError


@attrs.frozen(kw_only=True)
class AccountSnapshot:
    """The venue's account figures at `ts` (its own words in `status`)."""

    venue: str
    account_id: str
    status: str  # e.g. "ACTIVE"; anything else means trading is not possible
    currency: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    # Intraday figures where the venue has them (Alpaca margin accounts); None elsewhere.
    daytrading_buying_power: Decimal | None = None
    initial_margin: Decimal | None = None
    maintenance_margin: Decimal | None = None
    trading_blocked: bool = False
    # Available balance per asset (crypto venues hold several currencies).
    balances: Mapping[str, Decimal] = attrs.field(factory=dict)
    ts: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status.upper() == "ACTIVE" and not self.trading_blocked


@attrs.frozen(kw_only=True)
class MarketClock:
    """The venue's clock: trading hours come from here, never from the local clock."""

    ts: datetime  # the venue's current time
    is_open: bool
    next_open: datetime | None = None  # None for a market that never closes
    next_close: datetime | None = None


@attrs.frozen(kw_only=True)
class TradingDay:
    day: date
    open: datetime
    close: datetime


@attrs.frozen(kw_only=True)
class VenueInstrument:
    """What the venue says of a symbol: whether it trades, and at which increments."""

    symbol: str
    asset_class: AssetClass
    tradable: bool
    price_increment: Decimal
    size_increment: Decimal
    min_size: Decimal = Decimal(0)
    fractionable: bool = False
    shortable: bool = False


@attrs.frozen(kw_only=True)
class VenuePermissions:
    can_read: bool
    can_trade: bool
    detail: str = ""


@attrs.frozen(kw_only=True)
class FundingRate:
    """A perpetual future's funding rate (fraction per funding interval)."""

    symbol: str
    rate: Decimal
    ts: datetime
    interval: timedelta = timedelta(hours=1)


class FundingUnsupported(RejectedError):
    """The venue (or this account) has no perpetual futures: there is no funding rate to watch.

    Not an error of the caller: the monitor says so once and skips."""


class VenueAccount(Protocol):
    name: str  # "alpaca", "coinbase"

    def account(self) -> AccountSnapshot: ...

    def clock(self) -> MarketClock: ...

    def calendar(self, *, start: date, end: date) -> list[TradingDay]:
        """Trading days in [start, end]; every day for a market that never closes."""
        ...

    def instruments(self, symbols: Sequence[str]) -> dict[str, VenueInstrument]:
        """Raises ConfigurationError naming a symbol the venue does not list."""
        ...

    def permissions(self) -> VenuePermissions: ...


class HistoricalBars(Protocol):
    def history(self, *, symbol: str, start: datetime, end: datetime, interval: timedelta) -> list[Bar]:
        """Bars of [start, end), oldest first; every bar passed the data sanity gate."""
        ...


class StreamingMarketData(Protocol):
    """Bars and quotes pushed by the venue's websocket (LiveMarketData for the session)."""

    def poll(self, *, timeout: float) -> list[Bar]: ...

    def latest_quote(self, symbol: str) -> Quote | None: ...

    def close(self) -> None: ...


class FundingRates(Protocol):
    def funding_rates(self, symbols: Sequence[str]) -> list[FundingRate]:
        """Raises FundingUnsupported where the venue has no perpetuals."""
        ...
