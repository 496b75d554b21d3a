"""Trading hours from the venue's clock: computed between reads from its next open and close,
read again at a boundary, closed when it was never readable; and the cycle sends nothing
while the venue's market is closed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from application.trading.market_hours import VenueMarketHours
from application.trading.trading_cycle import CycleResult
from application.venues.ports import MarketClock
from domain.accounting.instrument import AssetClass
from domain.strategy import Target
from tests.fakes.builders import always, bar, load, spec
from tests.fakes.harness import Harness
from tests.fakes.venue_account import FakeVenueAccount

OPEN = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)
CLOSE = datetime(2026, 3, 2, 21, 0, tzinfo=timezone.utc)
EQ, CR = AssetClass.EQUITY, AssetClass.CRYPTO


class VenueClock(FakeVenueAccount):
    """The fake account's clock with the session's open and close."""

    def __init__(self) -> None:
        super().__init__(clock_ts=OPEN - timedelta(hours=1))
        self.open_now = False

    def clock(self) -> MarketClock:
        self._call()
        if self.open_now:
            return MarketClock(ts=OPEN, is_open=True, next_open=OPEN + timedelta(days=1), next_close=CLOSE)
        return MarketClock(ts=OPEN - timedelta(hours=1), is_open=False, next_open=OPEN, next_close=CLOSE)


def test_hours_are_computed_from_the_venue_times_and_read_again_at_each_boundary():
    venue = VenueClock()
    hours = VenueMarketHours(account=venue, refresh_seconds=10_000, monotonic=lambda: 0.0)
    assert not hours.is_open(EQ, now=OPEN - timedelta(minutes=5))
    assert hours.is_open(CR, now=OPEN - timedelta(minutes=5))  # crypto never closes
    assert venue.calls == 1
    assert not hours.is_open(EQ, now=OPEN - timedelta(minutes=1))
    assert venue.calls == 1  # nothing passed: no new read
    venue.open_now = True
    assert hours.is_open(EQ, now=OPEN + timedelta(seconds=1))  # the open passed: read again
    assert venue.calls == 2
    assert not hours.is_open(EQ, now=CLOSE)  # the close, from the venue's next_close
    assert venue.calls == 3


def test_a_clock_never_read_means_closed_and_a_later_failure_keeps_the_last_answer():
    venue = VenueClock()
    venue.down = True
    hours = VenueMarketHours(account=venue, refresh_seconds=0, monotonic=lambda: 0.0)
    assert not hours.is_open(EQ, now=OPEN + timedelta(hours=1))
    venue.down, venue.open_now = False, True
    assert hours.is_open(EQ, now=OPEN + timedelta(hours=1))
    venue.down = True
    assert hours.is_open(EQ, now=OPEN + timedelta(hours=2))  # computed from the last answer


class Switch:
    def __init__(self) -> None:
        self.open = False

    def is_open(self, asset_class, *, now) -> bool:
        return self.open


def test_the_cycle_sends_nothing_while_the_market_is_closed_and_trades_when_it_opens():
    h = Harness()
    switch = Switch()
    h.cycle.market_hours = switch
    bot = load(h.store, spec(strategy=always(Target.LONG)))
    b0 = bar("SPY", OPEN, 100)
    assert h.cycle.on_bar(bot, b0, now=b0.end) == [CycleResult.MARKET_CLOSED]
    assert h.orders() == [] and h.broker.submits == []
    switch.open = True
    b1 = bar("SPY", OPEN + timedelta(minutes=1), 100)
    assert h.cycle.on_bar(bot, b1, now=b1.end) == [CycleResult.SUBMITTED]
    assert len(h.broker.submits) == 1
