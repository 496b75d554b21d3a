"""Protective stops kept per position, moved only in the position's favour.

A policy gives the first stop for a new position (`initial`) and a candidate after
each closed bar (`update`). The update never loosens: a long's stop only rises, a
short's only falls. Prices land on the instrument's tick, rounded against the
position's side of caution (a long's stop down, a short's up), never below one tick.

Wider stops for crypto are a matter of parameters; nothing here knows asset classes.
Floats appear only inside the ATR arithmetic; figures leave it as Decimal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

import attrs
import numpy as np

from domain.accounting.instrument import Instrument
from domain.accounting.market import Bar
from domain.accounting.position import Direction
from domain.numbers import ONE
from domain.strategy import BarWindow

# Float ATR figures are cut to this many places before Decimal work: it strips
# binary noise (2.0000000000001) that would otherwise cost a tick when flooring.
_FLOAT_PLACES = Decimal("1e-9")


@attrs.frozen(kw_only=True)
class SarState:
    """What the parabolic SAR carries from bar to bar."""

    sar: Decimal  # unrounded SAR, so tick rounding never compounds
    extreme: Decimal  # highest high (long) / lowest low (short) since entry
    af: Decimal  # acceleration factor
    bar_ts: datetime  # the last bar folded in: a second update on it changes nothing


@attrs.frozen(kw_only=True)
class StopLevel:
    price: Decimal
    kind: str
    reason: str
    sar: SarState | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"stop price must be a finite positive Decimal, got {self.price!r}")


class StopPolicy(Protocol):
    """Where a position's protective stop sits, as a pure function of the bars."""

    def initial(
        self, *, direction: Direction, entry_price: Decimal, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        """The stop for a position just opened at `entry_price`, after the window's last bar."""
        ...

    def update(
        self, *, current: StopLevel, direction: Direction, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        """The stop after the window's last bar; never looser than `current`."""
        ...


def stop_hit(*, level: StopLevel, direction: Direction, bar: Bar) -> bool:
    """Did `bar` trade through the stop? For venues without stop orders."""
    if direction is Direction.LONG:
        return bar.low <= level.price
    return bar.high >= level.price


# --- helpers -------------------------------------------------------------------------


def _to_tick(price: Decimal, direction: Direction, instrument: Instrument) -> Decimal:
    """Round conservatively: a long's stop down, a short's up; at least one tick."""
    tick = instrument.tick_size
    rounding = ROUND_FLOOR if direction is Direction.LONG else ROUND_CEILING
    steps = (price / tick).quantize(ONE, rounding=rounding)
    return max(steps * tick, tick).quantize(tick)


def _tighten(
    *, current: StopLevel, candidate: StopLevel, direction: Direction
) -> StopLevel:
    """Take the candidate only if it moves the stop in the position's favour."""
    better = candidate.price > current.price if direction is Direction.LONG else candidate.price < current.price
    if better:
        return candidate
    side = "long" if direction is Direction.LONG else "short"
    return attrs.evolve(
        current,
        reason=f"held at {current.price}: candidate {candidate.price} would loosen the {side} ({candidate.reason})",
        sar=candidate.sar,
    )


def _dec(value: float) -> Decimal:
    """A window figure back to Decimal (its shortest repr: 10.37 stays 10.37)."""
    return Decimal(repr(float(value)))


def _require_bars(window: BarWindow, needed: int, what: str) -> Bar:
    if len(window) < needed or window.last is None:
        raise ValueError(f"{what} needs {needed} bars, the window has {len(window)}")
    return window.last


def _wilder_atr(*, highs: np.ndarray, lows: np.ndarray, closes: np.ndarray, period: int) -> Decimal:
    """Average true range, Wilder smoothing: seed with the mean of the first `period`
    true ranges, then atr = (atr * (period - 1) + tr) / period. The window's first
    bar has no previous close in view, so its true range is high - low."""
    previous = np.concatenate(([np.nan], closes[:-1]))
    true_range = np.fmax(highs - lows, np.fmax(np.abs(highs - previous), np.abs(lows - previous)))
    atr = float(np.mean(true_range[:period]))
    for tr in true_range[period:]:
        atr = (atr * (period - 1) + float(tr)) / period
    return Decimal(atr).quantize(_FLOAT_PLACES)


def _positive_int(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int >= 1, got {value!r}")


def _positive_decimal(_instance: object, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite positive Decimal, got {value!r}")


# --- policies ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FixedPercentStop:
    """A fixed distance from entry, `percent` per cent (2 means 2%); it never moves."""

    percent: Decimal = attrs.field(validator=_positive_decimal)
    kind: str = attrs.field(default="fixed_percent", init=False)

    def __attrs_post_init__(self) -> None:
        if self.percent >= 100:
            raise ValueError(f"percent must be below 100, got {self.percent}")

    def initial(
        self, *, direction: Direction, entry_price: Decimal, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        sign = -1 if direction is Direction.LONG else 1
        raw = entry_price * (1 + sign * self.percent / 100)
        price = _to_tick(raw, direction, instrument)
        op = "-" if sign < 0 else "+"
        return StopLevel(price=price, kind=self.kind, reason=f"entry {entry_price} {op} {self.percent}% = {raw} -> {price}")

    def update(
        self, *, current: StopLevel, direction: Direction, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        return current


@attrs.frozen(kw_only=True)
class TrailingAtrStop:
    """`multiple` ATRs from the last close (from entry, for the first stop)."""

    period: int = attrs.field(validator=_positive_int)
    multiple: Decimal = attrs.field(validator=_positive_decimal)
    kind: str = attrs.field(default="trailing_atr", init=False)

    def _level(self, *, anchor: Decimal, label: str, direction: Direction, window: BarWindow, instrument: Instrument) -> StopLevel:
        atr = _wilder_atr(highs=window.highs, lows=window.lows, closes=window.closes, period=self.period)
        sign = -1 if direction is Direction.LONG else 1
        raw = anchor + sign * self.multiple * atr
        price = _to_tick(raw, direction, instrument)
        op = "-" if sign < 0 else "+"
        reason = f"{label} {anchor} {op} {self.multiple} x ATR({self.period}) {atr} = {raw} -> {price}"
        return StopLevel(price=price, kind=self.kind, reason=reason)

    def initial(
        self, *, direction: Direction, entry_price: Decimal, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        _require_bars(window, self.period, "trailing ATR stop")
        return self._level(anchor=entry_price, label="entry", direction=direction, window=window, instrument=instrument)

    def update(
        self, *, current: StopLevel, direction: Direction, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        last = _require_bars(window, self.period, "trailing ATR stop")
        candidate = self._level(anchor=last.close, label="close", direction=direction, window=window, instrument=instrument)
        return _tighten(current=current, candidate=candidate, direction=direction)


@attrs.frozen(kw_only=True)
class ChandelierExit:
    """Long: highest high of `period` bars - multiple x ATR; short: lowest low + multiple x ATR."""

    period: int = attrs.field(validator=_positive_int)
    multiple: Decimal = attrs.field(validator=_positive_decimal)
    kind: str = attrs.field(default="chandelier", init=False)

    def _level(self, *, direction: Direction, window: BarWindow, instrument: Instrument) -> StopLevel:
        _require_bars(window, self.period, "chandelier exit")
        atr = _wilder_atr(highs=window.highs, lows=window.lows, closes=window.closes, period=self.period)
        if direction is Direction.LONG:
            extreme, label = _dec(np.max(window.highs[-self.period :])), "highest high"
            raw = extreme - self.multiple * atr
        else:
            extreme, label = _dec(np.min(window.lows[-self.period :])), "lowest low"
            raw = extreme + self.multiple * atr
        price = _to_tick(raw, direction, instrument)
        op = "-" if direction is Direction.LONG else "+"
        reason = f"{label}({self.period}) {extreme} {op} {self.multiple} x ATR({self.period}) {atr} = {raw} -> {price}"
        return StopLevel(price=price, kind=self.kind, reason=reason)

    def initial(
        self, *, direction: Direction, entry_price: Decimal, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        return self._level(direction=direction, window=window, instrument=instrument)

    def update(
        self, *, current: StopLevel, direction: Direction, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        candidate = self._level(direction=direction, window=window, instrument=instrument)
        return _tighten(current=current, candidate=candidate, direction=direction)


@attrs.frozen(kw_only=True)
class ParabolicSar:
    """Wilder's parabolic SAR as a trailing stop.

    Starts at the window's lowest low (long) / highest high (short), with the last bar's
    high / low as the extreme point and af = step. After each new bar: a new extreme
    raises af by `step` (capped at `maximum`); sar += af x (extreme - sar); the result
    may not pass the last two bars' lows (long) / highs (short).
    """

    step: Decimal = attrs.field(default=Decimal("0.02"), validator=_positive_decimal)
    maximum: Decimal = attrs.field(default=Decimal("0.2"), validator=_positive_decimal)
    kind: str = attrs.field(default="parabolic_sar", init=False)

    def __attrs_post_init__(self) -> None:
        if not self.step <= self.maximum <= 1:
            raise ValueError(f"need step <= maximum <= 1, got step {self.step}, maximum {self.maximum}")

    def initial(
        self, *, direction: Direction, entry_price: Decimal, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        last = _require_bars(window, 1, "parabolic SAR")
        if direction is Direction.LONG:
            sar, extreme, label = _dec(np.min(window.lows)), last.high, "lowest low"
        else:
            sar, extreme, label = _dec(np.max(window.highs)), last.low, "highest high"
        state = SarState(sar=sar, extreme=extreme, af=self.step, bar_ts=last.ts)
        price = _to_tick(sar, direction, instrument)
        reason = f"SAR starts at the window's {label} {sar} -> {price}; extreme {extreme}, af {self.step}"
        return StopLevel(price=price, kind=self.kind, reason=reason, sar=state)

    def update(
        self, *, current: StopLevel, direction: Direction, window: BarWindow, instrument: Instrument
    ) -> StopLevel:
        last = _require_bars(window, 1, "parabolic SAR")
        state = current.sar
        if state is None:
            raise ValueError(f"a parabolic SAR update needs SAR state; the current stop is {current.kind!r}")
        if last.ts == state.bar_ts:
            return current
        long = direction is Direction.LONG
        extreme, af = state.extreme, state.af
        if (last.high > extreme) if long else (last.low < extreme):
            extreme = last.high if long else last.low
            af = min(af + self.step, self.maximum)
        moved = state.sar + af * (extreme - state.sar)
        if long:
            limit = min(last.low, _dec(window.lows[-2])) if len(window) > 1 else last.low
            sar = min(moved, limit)
            sar = max(sar, state.sar)  # the state never loosens either
        else:
            limit = max(last.high, _dec(window.highs[-2])) if len(window) > 1 else last.high
            sar = max(moved, limit)
            sar = min(sar, state.sar)
        new_state = SarState(sar=sar, extreme=extreme, af=af, bar_ts=last.ts)
        price = _to_tick(sar, direction, instrument)
        reason = (
            f"SAR {state.sar} + af {af} x (extreme {extreme} - {state.sar}) = {moved}, "
            f"bounded by the last two bars at {limit} -> {sar} -> {price}"
        )
        candidate = StopLevel(price=price, kind=self.kind, reason=reason, sar=new_state)
        return _tighten(current=current, candidate=candidate, direction=direction)
