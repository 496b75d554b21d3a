"""ATR, Bollinger bands, realized volatility and chandelier stops, one bar at a time."""

from __future__ import annotations

import math

from domain.indicators._validation import check_non_negative, check_period, check_positive
from domain.indicators.incremental._state import NAN, RollingExtreme, RollingMoments


class ATR:
    """Wilder's ATR (TA-Lib's): first value on bar `period`, the mean of the true ranges of bars 1..period."""

    __slots__ = ("period", "_previous_close", "_seen", "_seed_sum", "_value", "true_range")

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period, name="period")
        self._previous_close = NAN
        self._seen = 0  # true ranges seen
        self._seed_sum = 0.0
        self._value = NAN
        self.true_range = NAN  # the latest bar's; NaN on the first bar, which has no previous close

    def update(self, *, high: float, low: float, close: float) -> float:
        high, low, close = float(high), float(low), float(close)
        previous, self._previous_close = self._previous_close, close
        if math.isnan(previous):
            return NAN
        tr = max(high - low, abs(high - previous), abs(low - previous))
        self.true_range = tr
        self._seen += 1
        period = self.period
        if self._seen <= period:
            self._seed_sum += tr
            if self._seen == period:
                self._value = self._seed_sum / period
        else:
            self._value = (self._value * (period - 1) + tr) / period
        return self._value

    @property
    def value(self) -> float:
        return self._value


class Bollinger:
    """(middle, upper, lower): SMA +/- k population standard deviations of the same window."""

    __slots__ = ("period", "k", "_moments", "_value")

    def __init__(self, *, period: int = 20, k: float = 2.0) -> None:
        self.period = check_period(period, name="period")
        self.k = check_non_negative(k, name="k")
        self._moments = RollingMoments(self.period)
        self._value = (NAN, NAN, NAN)

    def update(self, value: float) -> tuple[float, float, float]:
        moments = self._moments
        moments.push(float(value))
        if moments.full:
            mean = moments.mean()
            width = self.k * math.sqrt(moments.m2() / self.period)
            self._value = (mean, mean + width, mean - width)
        return self._value

    @property
    def value(self) -> tuple[float, float, float]:
        return self._value


class RealizedVolatility:
    """Annualised sample std (ddof=1) of the last `period` log returns; first value on bar `period`."""

    __slots__ = ("period", "_scale", "_previous", "_moments", "_value")

    def __init__(self, *, period: int, periods_per_year: float = 252) -> None:
        self.period = check_period(period, name="period", minimum=2)
        self._scale = math.sqrt(check_positive(periods_per_year, name="periods_per_year"))
        self._previous = NAN
        self._moments = RollingMoments(self.period)
        self._value = NAN

    def update(self, value: float) -> float:
        value = float(value)
        if not value > 0:
            raise ValueError(f"value must be > 0 for log returns, got {value!r}")
        previous, self._previous = self._previous, value
        if math.isnan(previous):
            return NAN
        self._moments.push(math.log(value / previous))
        if self._moments.full:
            self._value = math.sqrt(self._moments.m2() / (self.period - 1)) * self._scale
        return self._value

    @property
    def value(self) -> float:
        return self._value


class Chandelier:
    """(long_stop, short_stop): highest high - multiple * ATR, lowest low + multiple * ATR,
    over `period` bars; first value on bar `period` (when the ATR has one)."""

    __slots__ = ("multiple", "_highest", "_lowest", "_atr", "_value")

    def __init__(self, *, period: int = 22, multiple: float = 3.0) -> None:
        period = check_period(period, name="period")
        self.multiple = check_non_negative(multiple, name="multiple")
        self._highest = RollingExtreme(period, largest=True)
        self._lowest = RollingExtreme(period, largest=False)
        self._atr = ATR(period)
        self._value = (NAN, NAN)

    def update(self, *, high: float, low: float, close: float) -> tuple[float, float]:
        highest = self._highest.push(float(high))
        lowest = self._lowest.push(float(low))
        atr = self._atr.update(high=high, low=low, close=close)
        if not math.isnan(atr):
            reach = self.multiple * atr
            self._value = (highest - reach, lowest + reach)
        return self._value

    @property
    def value(self) -> tuple[float, float]:
        return self._value
