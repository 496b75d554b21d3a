"""Donchian channel, parabolic SAR and ADX (+DI, -DI), one bar at a time."""

from __future__ import annotations

import math

from domain.indicators._validation import check_period
from domain.indicators.incremental._state import NAN, RollingExtreme
from domain.indicators.parabolic_sar import MAX_CHAIN, TIE_BAND, check_steps, fused_chain


class Donchian:
    """(upper, middle, lower) over the last `period` bars, current bar included."""

    __slots__ = ("_highest", "_lowest", "_value")

    def __init__(self, period: int) -> None:
        period = check_period(period, name="period")
        self._highest = RollingExtreme(period, largest=True)
        self._lowest = RollingExtreme(period, largest=False)
        self._value = (NAN, NAN, NAN)

    def update(self, *, high: float, low: float) -> tuple[float, float, float]:
        upper = self._highest.push(float(high))
        lower = self._lowest.push(float(low))
        if not math.isnan(upper):
            self._value = (upper, (upper + lower) / 2.0, lower)
        return self._value

    @property
    def value(self) -> tuple[float, float, float]:
        return self._value


class ParabolicSAR:
    """TA-Lib's SAR bar by bar; the rules and the fused multiply-add handling are in
    domain/indicators/parabolic_sar.py, and this class follows that loop step for step."""

    __slots__ = (
        "step", "max_step", "_band", "_bars", "_is_long", "_sar", "_extreme", "_af",
        "_anchor", "_chain", "_prev_high", "_prev_low", "_value",
    )  # fmt: skip

    def __init__(self, *, step: float = 0.02, max_step: float = 0.2) -> None:
        self.step, self.max_step = check_steps(step, max_step)
        self._band = TIE_BAND / self.step
        self._bars = 0
        self._is_long = True
        self._sar = self._extreme = self._af = self._anchor = NAN
        self._chain: list[tuple[float, float]] = []  # steps since the last exactly known SAR
        self._prev_high = self._prev_low = NAN
        self._value = NAN

    @property
    def is_long(self) -> bool:
        return self._is_long

    def update(self, *, high: float, low: float) -> float:
        high, low = float(high), float(low)
        self._bars += 1
        if self._bars == 1:
            self._prev_high, self._prev_low = high, low
            return NAN
        if self._bars == 2:
            up, down = high - self._prev_high, self._prev_low - low
            self._is_long = not (down > 0 and up < down)
            self._extreme, self._sar = (high, self._prev_low) if self._is_long else (low, self._prev_high)
            self._anchor = self._sar
            self._af = self.step
            self._prev_high, self._prev_low = high, low  # bar 1 is its own "previous" bar, as in TA-Lib
        self._value = self._advance(high, low) if self._is_long else self._advance_short(high, low)
        self._prev_high, self._prev_low = high, low
        return self._value

    def _near(self, a: float, b: float) -> bool:
        return abs(a - b) <= self._band * abs(b)

    def _settle(self) -> None:
        # Replace the plain SAR by the exact fused chain before a close comparison.
        self._sar = self._anchor = fused_chain(self._anchor, self._chain)
        self._chain = []

    def _pin(self, value: float) -> None:
        self._sar = self._anchor = value
        self._chain = []

    def _move(self, bound: float, *, below: bool) -> None:
        # One SAR step towards the extreme, then kept below (long) or above (short) `bound`.
        self._chain.append((self._af, self._extreme))
        self._sar = self._sar + self._af * (self._extreme - self._sar)
        if self._near(self._sar, bound) or len(self._chain) >= MAX_CHAIN:
            self._settle()
        if (self._sar > bound) if below else (self._sar < bound):
            self._pin(bound)

    def _advance(self, high: float, low: float) -> float:
        if self._chain and self._near(low, self._sar):
            self._settle()
        if low <= self._sar:  # stopped: reverse to short
            self._is_long = False
            self._pin(max(self._extreme, self._prev_high, high))
            out = self._sar
            self._af, self._extreme = self.step, low
            self._move(max(self._prev_high, high), below=False)
            return out
        out = self._sar
        if high > self._extreme:
            self._extreme = high
            self._af = min(self._af + self.step, self.max_step)
        self._move(min(self._prev_low, low), below=True)
        return out

    def _advance_short(self, high: float, low: float) -> float:
        if self._chain and self._near(high, self._sar):
            self._settle()
        if high >= self._sar:  # stopped: reverse to long
            self._is_long = True
            self._pin(min(self._extreme, self._prev_low, low))
            out = self._sar
            self._af, self._extreme = self.step, high
            self._move(min(self._prev_low, low), below=True)
            return out
        out = self._sar
        if low < self._extreme:
            self._extreme = low
            self._af = min(self._af + self.step, self.max_step)
        self._move(max(self._prev_high, high), below=False)
        return out

    @property
    def value(self) -> float:
        return self._value


class ADX:
    """Wilder's ADX with +DI and -DI (TA-Lib's ADX, PLUS_DI, MINUS_DI).

    `update` returns the ADX (first value on bar 2*period - 1); `plus_di` and `minus_di`
    have values from bar `period`.
    """

    __slots__ = (
        "period", "_bars", "_prev_high", "_prev_low", "_prev_close",
        "_plus_dm", "_minus_dm", "_tr", "_dx_sum", "_value", "plus_di", "minus_di",
    )  # fmt: skip

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period, name="period")
        self._bars = 0
        self._prev_high = self._prev_low = self._prev_close = NAN
        self._plus_dm = self._minus_dm = self._tr = 0.0  # running sums, then Wilder-smoothed sums
        self._dx_sum = 0.0
        self._value = NAN
        self.plus_di = NAN
        self.minus_di = NAN

    def update(self, *, high: float, low: float, close: float) -> float:
        high, low, close = float(high), float(low), float(close)
        bar = self._bars
        self._bars += 1
        prev_high, prev_low, prev_close = self._prev_high, self._prev_low, self._prev_close
        self._prev_high, self._prev_low, self._prev_close = high, low, close
        if bar == 0:
            return NAN
        up, down = high - prev_high, prev_low - low
        plus_dm = up if up > 0 and up > down else 0.0
        minus_dm = down if down > 0 and down > up else 0.0
        tr = max(high - low, abs(high - prev_close), abs(low - prev_close))
        period = self.period
        if bar < period:
            self._plus_dm += plus_dm
            self._minus_dm += minus_dm
            self._tr += tr
            return NAN
        self._plus_dm = self._plus_dm - self._plus_dm / period + plus_dm
        self._minus_dm = self._minus_dm - self._minus_dm / period + minus_dm
        self._tr = self._tr - self._tr / period + tr
        if self._tr != 0.0:
            self.plus_di = 100.0 * (self._plus_dm / self._tr)
            self.minus_di = 100.0 * (self._minus_dm / self._tr)
        else:
            self.plus_di = self.minus_di = 0.0
        total = self.plus_di + self.minus_di
        dx = 100.0 * (abs(self.minus_di - self.plus_di) / total) if total != 0.0 else NAN
        if bar < 2 * period - 1:
            self._dx_sum += 0.0 if math.isnan(dx) else dx
        elif bar == 2 * period - 1:
            self._value = (self._dx_sum + (0.0 if math.isnan(dx) else dx)) / period
        elif not math.isnan(dx):
            self._value = (self._value * (period - 1) + dx) / period
        return self._value

    @property
    def value(self) -> float:
        return self._value
