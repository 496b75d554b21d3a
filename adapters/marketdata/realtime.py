"""Synthetic bars in real time, for the continuous `quantshift paper` session.

A bar is emitted when its interval has closed on the wall clock; equities only
while the NYSE is open (the real calendar), crypto around the clock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from adapters.marketdata.calendar import is_nyse_open
from adapters.marketdata.synthetic import SyntheticPriceProcess
from application.ports import Clock
from domain.accounting.instrument import Instrument
from domain.accounting.market import Bar

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_CATCH_UP = 1000  # after a long pause, replay at most this many missed bars per symbol


class RealtimeSyntheticFeed:
    def __init__(self, *, instruments: Sequence[Instrument], interval: timedelta, seed: int, clock: Clock) -> None:
        if interval <= timedelta(0):
            raise ValueError("interval must be positive")
        self._instruments = list(instruments)
        self._interval = interval
        self._clock = clock
        self._processes = {i.symbol: SyntheticPriceProcess(instrument=i, seed=seed) for i in self._instruments}
        self._next_close = self._boundary_after(clock.now())
        if not all(i.trades_around_the_clock for i in self._instruments):
            # Load the calendar now, before the session beats: its first load takes about a
            # second, and a loop stalled that long between heartbeats would look stale.
            is_nyse_open(clock.now())

    def _boundary_after(self, at: datetime) -> datetime:
        step = self._interval.total_seconds()
        elapsed = (at - _EPOCH).total_seconds()
        return _EPOCH + timedelta(seconds=(int(elapsed // step) + 1) * step)

    def poll(self, *, timeout: float) -> list[Bar]:
        now = self._clock.now()
        wait = (self._next_close - now).total_seconds()
        if wait > 0:
            time.sleep(min(timeout, wait))
            now = self._clock.now()
        bars: list[Bar] = []
        emitted = 0
        while self._next_close <= now and emitted < _MAX_CATCH_UP:
            start = self._next_close - self._interval
            for instrument in self._instruments:
                if instrument.trades_around_the_clock or is_nyse_open(start):
                    bars.append(self._processes[instrument.symbol].next_bar(ts=start, interval=self._interval))
            self._next_close += self._interval
            emitted += 1
        if self._next_close <= now:  # still behind after the cap: skip ahead rather than flood
            self._next_close = self._boundary_after(now)
        return bars
