"""Window state shared by the incremental indicators, each O(1) (amortised) per value."""

from __future__ import annotations

import math
from collections import deque

NAN = float("nan")

# Running sums drift: every add/remove rounds. Re-summing the window exactly once per
# `period` updates costs O(1) amortised and keeps the drift to one window's worth.
# Variance also re-syncs early when it has fallen this far below its recent peak,
# because the rounding left by the large values is then large relative to what remains.
_VARIANCE_DROP = 1e-4


class RollingSum:
    """Sum of the last `period` values pushed; NaN until `period` values have arrived."""

    __slots__ = ("period", "_buffer", "_next", "_count", "_sum", "_since_resync")

    def __init__(self, period: int) -> None:
        self.period = period
        self._buffer = [0.0] * period
        self._next = 0
        self._count = 0
        self._sum = 0.0
        self._since_resync = 0

    def push(self, value: float) -> float:
        oldest = self._buffer[self._next]
        self._buffer[self._next] = value
        self._next = (self._next + 1) % self.period
        if self._count < self.period:
            self._count += 1
            self._sum += value
        else:
            self._sum += value - oldest
        self._since_resync += 1
        if self._since_resync >= self.period:
            self._sum = math.fsum(self._buffer)
            self._since_resync = 0
        return self._sum if self._count == self.period else NAN

    def window(self) -> list[float]:
        """The values in the window, oldest first."""
        return self._buffer[self._next :] + self._buffer[: self._next]


class RollingExtreme:
    """Largest (or smallest) of the last `period` values: a monotonic deque, O(1) amortised."""

    __slots__ = ("period", "_largest", "_deque", "_seen")

    def __init__(self, period: int, *, largest: bool) -> None:
        self.period = period
        self._largest = largest
        self._deque: deque[tuple[int, float]] = deque()  # (index, value), values monotonic
        self._seen = 0

    def push(self, value: float) -> float:
        queue = self._deque
        # Drop values that can never be the extreme again: a newer value at least as extreme.
        if self._largest:
            while queue and queue[-1][1] <= value:
                queue.pop()
        else:
            while queue and queue[-1][1] >= value:
                queue.pop()
        queue.append((self._seen, value))
        self._seen += 1
        if queue[0][0] <= self._seen - 1 - self.period:
            queue.popleft()
        return queue[0][1] if self._seen >= self.period else NAN


class RollingMoments:
    """Mean and squared deviations (m2) of the last `period` values.

    Welford's update for a sliding window, on values shifted by a reference close to the
    window (set at each re-sync), so the mean's rounding scales with the spread of the
    data, not its level. A window of identical values reports exactly that value and 0.
    """

    __slots__ = ("period", "_buffer", "_next", "_count", "_shift", "_mean", "_m2", "_peak", "_since_resync", "_last", "_run")

    def __init__(self, period: int) -> None:
        self.period = period
        self._buffer = [0.0] * period
        self._next = 0
        self._count = 0
        self._shift = 0.0
        self._mean = 0.0  # of the shifted values
        self._m2 = 0.0
        self._peak = 0.0
        self._since_resync = 0
        self._last = NAN
        self._run = 0  # how many of the latest values equal the last one

    @property
    def full(self) -> bool:
        return self._count == self.period

    def push(self, value: float) -> None:
        self._run = self._run + 1 if value == self._last else 1
        self._last = value
        oldest = self._buffer[self._next]
        self._buffer[self._next] = value
        self._next = (self._next + 1) % self.period
        if self._count == 0:
            self._shift = value
        y = value - self._shift
        if self._count < self.period:
            self._count += 1
            delta = y - self._mean
            self._mean += delta / self._count
            self._m2 += delta * (y - self._mean)
        else:
            y_old = oldest - self._shift
            delta = y - y_old
            mean = self._mean + delta / self.period
            self._m2 += delta * (y - mean + y_old - self._mean)
            self._mean = mean
        if self._m2 < 0.0:
            self._m2 = 0.0
        self._peak = max(self._peak, self._m2)
        self._since_resync += 1
        if self._since_resync >= self.period or self._m2 < _VARIANCE_DROP * self._peak:
            self._resync()

    def _resync(self) -> None:
        values = self._buffer[: self._count] if self._count < self.period else self._buffer
        count = len(values)
        self._shift = math.fsum(values) / count
        shifted = [v - self._shift for v in values]
        self._mean = math.fsum(shifted) / count
        self._m2 = math.fsum((y - self._mean) ** 2 for y in shifted)
        self._peak = self._m2
        self._since_resync = 0

    @property
    def flat(self) -> bool:
        return self._run >= self.period

    def mean(self) -> float:
        return self._last if self.flat else self._shift + self._mean

    def deviation(self, value: float) -> float:
        """value - mean, computed in shifted coordinates (value is normally the latest push)."""
        return 0.0 if self.flat else (value - self._shift) - self._mean

    def m2(self) -> float:
        return 0.0 if self.flat else self._m2
