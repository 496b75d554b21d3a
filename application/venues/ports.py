"""Ports of the venues: the Broker and the market data every venue (simulated, Alpaca,
Coinbase) implements, what a real venue offers beyond them (its account, its clock, its
instruments, its history, its streams and its funding rates), and the venue-health records.

The simulated broker needs none of the extras; `quantshift doctor`, `data download`, the
buying-power monitor and the funding monitor do. Values are venue-neutral: adapters translate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from application.records import VenueCharge, VenueOrderState
from domain.accounting.instrument import AssetClass
from domain.accounting.market import Bar, Quote
from domain.errors import RejectedError
from domain.orders.events import BrokerEvent
from domain.orders.fill import Fill
from domain.orders.order import Order


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


class MarketData(Protocol):
    def bars(self) -> Iterator[Bar]:
        """Bars of every subscribed symbol, in (ts, symbol) order."""
        ...


class LiveMarketData(Protocol):
    def poll(self, *, timeout: float) -> list[Bar]:
        """Bars that closed since the last poll; waits at most `timeout` seconds for one."""
        ...


class Broker(Protocol):
    """A venue. Every call is idempotent on the order's client_order_id."""

    def submit(self, order: Order) -> list[BrokerEvent]:
        """Send an order; returns what the venue said at once (ack, reject, maybe fills).

        Submitting a client_order_id the venue already has never makes a second order.
        Raises TransientError when the outcome is unknown (ask with find_order later).
        """
        ...

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        """Cancel an open order; an unknown or finished order gives no event."""
        ...

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        """Look an order up by its client_order_id; None when the venue has no live record of it
        (never got it, or refused it outright)."""
        ...

    def open_orders(self) -> list[VenueOrderState]:
        ...

    def poll_events(self) -> list[BrokerEvent]:
        """Events since the last poll (fills, cancels, expiries), oldest first."""
        ...

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        """Every fill of this account the venue has at or after `since` (all when None),
        oldest first: reconciliation backfills what the store missed from these."""
        ...

    def positions(self) -> dict[str, Decimal]:
        """The venue's net quantity per symbol for this account (flat symbols may be absent)."""
        ...

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        """Whether the venue rests stop orders for this asset class (a protective stop can sit
        there); where it does not, stops are monitored bar by bar."""
        ...


class BarListener(Protocol):
    """A simulated venue hears each bar before the bots do, to match resting orders."""

    def on_bar(self, bar: Bar) -> None:
        """Match resting orders against the bar. Raises InvalidMarketData for a bar that is not
        after the previous one of its symbol (a venue never matches on a replayed bar)."""
        ...


@runtime_checkable
class ChargeSource(Protocol):
    """A venue that reports fees apart from fills (Alpaca's FEE activities); reconciliation
    records them when the broker is one."""

    def charges(self, *, since: datetime | None = None) -> list[VenueCharge]:
        """Every fee the venue charged at or after `since` (all when None), oldest first."""
        ...


# Upper bounds (milliseconds) of the latency histogram every venue-health bucket keeps; the
# last bucket counts everything slower. Fixed, so buckets from any process add up.
LATENCY_BOUNDS_MS: tuple[float, ...] = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


HISTOGRAM_SIZE = len(LATENCY_BOUNDS_MS) + 1


def _histogram(value: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    counts = tuple(int(v) for v in value)
    if len(counts) != HISTOGRAM_SIZE or any(c < 0 for c in counts):
        raise ValueError(f"a latency histogram has {HISTOGRAM_SIZE} non-negative counts, got {value!r}")
    return counts


@attrs.frozen(kw_only=True)
class VenueHealthBucket:
    """One minute of one venue operation's calls: counts, latency and the last outcome."""

    venue: str  # "simulated", "alpaca", "coinbase", ...
    operation: str  # "submit", "cancel", "bars", ...
    minute: datetime  # UTC, truncated to the minute
    calls: int
    errors: int
    latency_sum_ms: float
    latency_max_ms: float
    histogram: tuple[int, ...] = attrs.field(converter=_histogram)
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""

    def merged(self, other: VenueHealthBucket) -> VenueHealthBucket:
        """Both buckets' calls as one (same venue, operation and minute)."""
        if (self.venue, self.operation, self.minute) != (other.venue, other.operation, other.minute):
            raise ValueError("only buckets of the same venue, operation and minute merge")
        newer_error = _later(self.last_error_at, other.last_error_at)
        return VenueHealthBucket(
            venue=self.venue, operation=self.operation, minute=self.minute,
            calls=self.calls + other.calls, errors=self.errors + other.errors,
            latency_sum_ms=self.latency_sum_ms + other.latency_sum_ms,
            latency_max_ms=max(self.latency_max_ms, other.latency_max_ms),
            histogram=tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
            last_success_at=_later(self.last_success_at, other.last_success_at),
            last_error_at=newer_error,
            last_error=other.last_error if newer_error is not None and newer_error == other.last_error_at
            else self.last_error,
        )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class VenueHealthRepository(Protocol):
    def add(self, bucket: VenueHealthBucket) -> None:
        """Add the bucket's calls to what is stored for its venue, operation and minute."""
        ...

    def list(self, *, since: datetime, venue: str | None = None) -> list[VenueHealthBucket]:
        """Buckets from `since` on, by venue, operation and minute."""
        ...

    def prune(self, *, before: datetime) -> int:
        """Drop buckets older than `before` (the history is for dashboards, not an audit)."""
        ...
