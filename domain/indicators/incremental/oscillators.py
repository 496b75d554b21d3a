"""RSI, stochastic oscillator and z-score, one bar at a time (same values as the array functions)."""

from __future__ import annotations

import math

from domain.indicators._validation import check_period
from domain.indicators.incremental._state import NAN, RollingExtreme, RollingMoments, RollingSum


class RSI:
    """Wilder's RSI: plain mean of the first `period` gains and losses, then Wilder smoothing."""

    __slots__ = ("period", "_previous", "_seen", "_gain", "_loss", "_value")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period, name="period")
        self._previous = NAN
        self._seen = 0  # changes seen
        self._gain = 0.0
        self._loss = 0.0
        self._value = NAN

    def update(self, value: float) -> float:
        value = float(value)
        previous, self._previous = self._previous, value
        if math.isnan(previous):
            return NAN
        change = value - previous
        gain, loss = (change, 0.0) if change > 0 else (0.0, -change)
        self._seen += 1
        period = self.period
        if self._seen < period:
            self._gain += gain
            self._loss += loss
            return NAN
        if self._seen == period:
            self._gain = (self._gain + gain) / period
            self._loss = (self._loss + loss) / period
        else:
            self._gain = (self._gain * (period - 1) + gain) / period
            self._loss = (self._loss * (period - 1) + loss) / period
        total = self._gain + self._loss
        self._value = 100.0 * (self._gain / total) if total > 0 else 0.0
        return self._value

    @property
    def value(self) -> float:
        return self._value


class Stochastic:
    """(slow %K, slow %D) with SMA smoothing, TA-Lib's STOCH; NaN until %D has a value."""

    __slots__ = ("_highest", "_lowest", "_k_sum", "_d_sum", "_value")

    def __init__(self, *, k_period: int = 14, k_smooth: int = 3, d_period: int = 3) -> None:
        k_period = check_period(k_period, name="k_period")
        self._highest = RollingExtreme(k_period, largest=True)
        self._lowest = RollingExtreme(k_period, largest=False)
        self._k_sum = RollingSum(check_period(k_smooth, name="k_smooth"))
        self._d_sum = RollingSum(check_period(d_period, name="d_period"))
        self._value = (NAN, NAN)

    def update(self, *, high: float, low: float, close: float) -> tuple[float, float]:
        highest = self._highest.push(float(high))
        lowest = self._lowest.push(float(low))
        if math.isnan(highest):
            return self._value
        scaled_range = (highest - lowest) / 100.0
        fast_k = (float(close) - lowest) / scaled_range if scaled_range != 0.0 else 0.0
        slow_k = self._k_sum.push(fast_k) / self._k_sum.period
        if math.isnan(slow_k):
            return self._value
        slow_d = self._d_sum.push(slow_k) / self._d_sum.period
        if not math.isnan(slow_d):
            self._value = (slow_k, slow_d)
        return self._value

    @property
    def value(self) -> tuple[float, float]:
        return self._value


class ZScore:
    """(x - mean) / population std of the last `period` values; 0 for a window of identical values."""

    __slots__ = ("period", "_moments", "_value")

    def __init__(self, period: int) -> None:
        self.period = check_period(period, name="period")
        self._moments = RollingMoments(self.period)
        self._value = NAN

    def update(self, value: float) -> float:
        value = float(value)
        moments = self._moments
        moments.push(value)
        if not moments.full:
            return NAN
        m2 = moments.m2()
        self._value = moments.deviation(value) / math.sqrt(m2 / self.period) if m2 > 0 else 0.0
        return self._value

    @property
    def value(self) -> float:
        return self._value
