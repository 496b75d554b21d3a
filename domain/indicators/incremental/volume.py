"""On-balance volume and VWAP, one bar at a time."""

from __future__ import annotations

import math

from domain.indicators._validation import check_period
from domain.indicators.incremental._state import NAN, RollingSum


def _volume(value: float) -> float:
    volume = float(value)
    if volume < 0:
        raise ValueError(f"volume must be >= 0, got {value!r}")
    return volume


class OBV:
    """On-balance volume: starts at the first bar's volume; +volume on a higher close, -volume on a lower one."""

    __slots__ = ("_previous_close", "_value")

    def __init__(self) -> None:
        self._previous_close = NAN
        self._value = NAN

    def update(self, *, close: float, volume: float) -> float:
        close, volume = float(close), _volume(volume)
        previous, self._previous_close = self._previous_close, close
        if math.isnan(previous):
            self._value = volume
        elif close > previous:
            self._value += volume
        elif close < previous:
            self._value -= volume
        return self._value

    @property
    def value(self) -> float:
        return self._value


class VWAP:
    """Volume-weighted typical price (h + l + c) / 3: cumulative when period is None, else over
    the last `period` bars. NaN while the volume counted is 0."""

    __slots__ = ("period", "_total_priced", "_total_traded", "_priced", "_traded", "_trading_bars", "_value")

    def __init__(self, period: int | None = None) -> None:
        self.period = None if period is None else check_period(period, name="period")
        self._total_priced = self._total_traded = 0.0  # cumulative form
        window = self.period or 1
        self._priced, self._traded, self._trading_bars = RollingSum(window), RollingSum(window), RollingSum(window)
        self._value = NAN

    def update(self, *, high: float, low: float, close: float, volume: float) -> float:
        volume = _volume(volume)
        typical_volume = (float(high) + float(low) + float(close)) / 3.0 * volume
        if self.period is None:
            # Plain running sums added in order: the same arithmetic as numpy's cumsum.
            self._total_priced += typical_volume
            self._total_traded += volume
            priced, traded = self._total_priced, self._total_traded
        else:
            priced = self._priced.push(typical_volume)
            traded = self._traded.push(volume)
            # "No volume in the window" from a count: a difference of sums can leave rounding dust.
            if self._trading_bars.push(1.0 if volume > 0 else 0.0) == 0.0:
                traded = 0.0
        self._value = priced / traded if traded > 0 else NAN
        return self._value

    @property
    def value(self) -> float:
        return self._value
