"""Moving averages and MACD, one value at a time. Each `update` returns what the array
function of the same name gives for that bar (NaN during warm-up)."""

from __future__ import annotations

import math

from domain.indicators._validation import check_period
from domain.indicators.incremental._state import NAN, RollingSum


class SMA:
    __slots__ = ("period", "_sum", "_value")

    def __init__(self, period: int) -> None:
        self.period = check_period(period, name="period")
        self._sum = RollingSum(self.period)
        self._value = NAN

    def update(self, value: float) -> float:
        self._value = self._sum.push(float(value)) / self.period
        return self._value

    @property
    def value(self) -> float:
        return self._value


class EMA:
    """TA-Lib's EMA: the SMA of the first `period` values, then ema += alpha * (x - ema)."""

    __slots__ = ("period", "_alpha", "_seed", "_seen", "_value")

    def __init__(self, period: int) -> None:
        self.period = check_period(period, name="period")
        self._alpha = 2.0 / (self.period + 1)
        self._seed: list[float] = []
        self._seen = 0
        self._value = NAN

    def update(self, value: float) -> float:
        value = float(value)
        self._seen += 1
        if self._seen < self.period:
            self._seed.append(value)
        elif self._seen == self.period:
            self._seed.append(value)
            self._value = math.fsum(self._seed) / self.period
            self._seed = []
        else:
            self._value = (1.0 - self._alpha) * self._value + self._alpha * value
        return self._value

    @property
    def value(self) -> float:
        return self._value


class WMA:
    """Weights 1 (oldest) .. period (newest). The weighted sum moves by period * new - previous
    window sum; both sums are recomputed exactly once per `period` updates to stop drift."""

    __slots__ = ("period", "_sum", "_weighted", "_previous_sum", "_divisor", "_since_resync", "_value")

    def __init__(self, period: int) -> None:
        self.period = check_period(period, name="period")
        self._sum = RollingSum(self.period)
        self._weighted = 0.0
        self._previous_sum = 0.0
        self._divisor = self.period * (self.period + 1) / 2.0
        self._since_resync = 0
        self._value = NAN

    def update(self, value: float) -> float:
        value = float(value)
        window_sum = self._sum.push(value)
        if math.isnan(window_sum):
            return NAN
        self._since_resync += 1
        if self._since_resync == 1 or self._since_resync > self.period:
            window = self._sum.window()
            self._weighted = math.fsum(weight * v for weight, v in enumerate(window, start=1))
            self._since_resync = 1
        else:
            self._weighted += self.period * value - self._previous_sum
        self._previous_sum = window_sum
        self._value = self._weighted / self._divisor
        return self._value

    @property
    def value(self) -> float:
        return self._value


class MACD:
    """(macd, signal, histogram) per bar, aligned as macd() (TA-Lib's MACD).

    The fast EMA is seeded on bar slow-1 with the mean of the `fast` values ending there;
    all three outputs are NaN until bar slow + signal - 2.
    """

    __slots__ = ("fast", "slow", "signal", "_fast_seed", "_fast", "_slow", "_signal", "_seen", "_value")

    def __init__(self, *, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = check_period(fast, name="fast")
        self.slow = check_period(slow, name="slow")
        self.signal = check_period(signal, name="signal")
        if self.fast >= self.slow:
            raise ValueError(f"fast must be smaller than slow, got fast={self.fast}, slow={self.slow}")
        self._fast_seed = RollingSum(self.fast)
        self._fast = NAN
        self._slow = EMA(self.slow)
        self._signal = EMA(self.signal)
        self._seen = 0
        self._value = (NAN, NAN, NAN)

    def update(self, value: float) -> tuple[float, float, float]:
        value = float(value)
        self._seen += 1
        slow = self._slow.update(value)
        if self._seen <= self.slow:  # the fast seed needs only the `fast` values ending at bar slow-1
            fast_window = self._fast_seed.push(value)
            if self._seen < self.slow:
                return self._value
            self._fast = fast_window / self.fast
        else:
            alpha = 2.0 / (self.fast + 1)
            self._fast = (1.0 - alpha) * self._fast + alpha * value
        line = self._fast - slow
        signal = self._signal.update(line)
        if not math.isnan(signal):
            self._value = (line, signal, line - signal)
        return self._value

    @property
    def value(self) -> tuple[float, float, float]:
        return self._value
