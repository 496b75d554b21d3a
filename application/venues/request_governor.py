"""Pacing of the requests made with one API key, shared by every client of that key.

Alpaca allows 200 requests a minute per key for trading and data together; Coinbase
limits private endpoints per second. One governor per key keeps the outgoing rate under
`limit * headroom` for ordinary calls, and lets cancels use the headroom: in a burst a
cancel (which reduces risk) is never queued behind new orders. A 429 with a reset time
pauses every caller of the key until then.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable

import attrs

from domain.errors import VenueUnavailable


class Priority(enum.Enum):
    NORMAL = "normal"  # orders, reads, data
    CANCEL = "cancel"  # may use the headroom the others leave


@attrs.frozen(kw_only=True)
class RateLimit:
    requests: int  # the venue's limit ...
    per_seconds: float  # ... per this window
    headroom: float = 0.8  # ordinary calls stay under this share of it

    def __attrs_post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError(f"a rate limit needs requests >= 1 and a positive window, got {self}")
        if not 0 < self.headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {self.headroom}")

    @property
    def ordinary_budget(self) -> int:
        return max(1, int(self.requests * self.headroom))


ALPACA_LIMIT = RateLimit(requests=200, per_seconds=60.0)  # keeps ~160/min for orders, reads and data
COINBASE_LIMIT = RateLimit(requests=30, per_seconds=1.0)  # private REST endpoints, per key


class RequestGovernor:
    """Thread-safe sliding-window pacing. `acquire` blocks until a request may go out."""

    def __init__(
        self,
        *,
        limit: RateLimit,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 120.0,
    ) -> None:
        self._limit = limit
        self._monotonic = monotonic
        self._sleep = sleep
        self._max_wait = max_wait
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0  # total time callers were held back (for the health report)

    @property
    def limit(self) -> RateLimit:
        return self._limit

    def acquire(self, *, priority: Priority = Priority.NORMAL) -> None:
        """Wait for a slot, then count the request. Raises VenueUnavailable when the wait would
        exceed `max_wait` (a caller never hangs for ever behind a long venue pause)."""
        budget = self._limit.requests if priority is Priority.CANCEL else self._limit.ordinary_budget
        waited = 0.0
        while True:
            with self._lock:
                now = self._monotonic()
                while self._sent and self._sent[0] <= now - self._limit.per_seconds:
                    self._sent.popleft()
                if now < self._paused_until:
                    delay = self._paused_until - now
                elif len(self._sent) < budget:
                    self._sent.append(now)
                    self.waited_seconds += waited
                    return
                else:
                    delay = self._sent[len(self._sent) - budget] + self._limit.per_seconds - now
            delay = max(delay, 0.001)
            if waited + delay > self._max_wait:
                raise VenueUnavailable(
                    f"request rate limit: no slot within {self._max_wait:g}s "
                    f"({self._limit.requests} per {self._limit.per_seconds:g}s)")
            self._sleep(delay)
            waited += delay

    def pause(self, seconds: float) -> None:
        """The venue said 429: hold every caller of this key for `seconds` (its reset time)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._monotonic() + max(0.0, seconds))

    def in_window(self) -> int:
        with self._lock:
            now = self._monotonic()
            return sum(1 for t in self._sent if t > now - self._limit.per_seconds)
