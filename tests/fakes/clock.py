"""A clock that moves only when the test says so."""

from __future__ import annotations

from datetime import datetime, timedelta


class FixedClock:
    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def __call__(self) -> datetime:
        """So the clock can serve where a `Callable[[], datetime]` is wanted (store wall clock)."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._now += delta
        return self._now

    def set(self, now: datetime) -> None:
        if now < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = now
