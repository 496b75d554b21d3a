from datetime import datetime, timedelta, timezone

from adapters.marketdata.realtime import RealtimeSyntheticFeed
from domain.accounting.instrument import crypto, equity


class StepClock:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t


def test_emits_closed_bars_only_and_equities_only_in_session():
    # Saturday 2025-01-04: crypto trades, the NYSE does not.
    clock = StepClock(datetime(2025, 1, 4, 12, 0, 0, 500_000, tzinfo=timezone.utc))
    feed = RealtimeSyntheticFeed(instruments=[crypto("BTC-USD"), equity("SPY")], interval=timedelta(seconds=1),
                                 seed=1, clock=clock)
    assert feed.poll(timeout=0) == []  # the current bar has not closed yet
    clock.t += timedelta(seconds=3)
    bars = feed.poll(timeout=0)
    assert [b.symbol for b in bars] == ["BTC-USD"] * 3
    assert [b.ts.second for b in bars] == [0, 1, 2]
    assert all(b.end <= clock.t for b in bars)
    # Monday 15:00 UTC: the NYSE is open.
    clock.t = datetime(2025, 1, 6, 15, 0, 0, 100_000, tzinfo=timezone.utc)
    feed = RealtimeSyntheticFeed(instruments=[crypto("BTC-USD"), equity("SPY")], interval=timedelta(seconds=1),
                                 seed=1, clock=clock)
    clock.t += timedelta(seconds=1)
    assert sorted(b.symbol for b in feed.poll(timeout=0)) == ["BTC-USD", "SPY"]
