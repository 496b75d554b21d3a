"""Donchian breakout: buy a new N-bar high, sell a new M-bar low (the Turtle rules).

The idea: a close above the highest high of the previous `entry_period` bars means the
market has left its range, and ranges tend to be left for a reason; ride it until the close
falls below the lowest low of the previous `exit_period` bars (a shorter channel, so the
exit trails the move). With `allow_short` the mirror image: SHORT on a close below the
previous entry_period bars' lowest low, FLAT on a close above the previous exit_period
bars' highest high.

A breakout may be required to be confirmed (`confirm`):
- "volume": the bar's volume above volume_factor x the average volume of the previous
  volume_period bars (participation: a breakout on thin volume is often a false one);
- "adx": ADX(adx_period) above adx_threshold (a trending market, not a range's noise);
- "both", or "none" (the plain channel rule). Exits are never held back by confirmation.

Stateless: entries and exits are events on the last bar; in between it returns None (keep
what is held). With allow_short the held side is read from the series: the latest
confirmed breakout in the window says which side's exit applies, so a new low while short
does not close the short.

When it fails: in ranges. Every poke above the range's top is bought and every fall back
below the exit channel sold a little lower: many small losses, paid for by rare long
trends. Confirmation filters some false breakouts at the cost of entering later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from domain.indicators import adx, donchian, sma
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import Param, bool_param, check_params, choice_param, float_param, int_param

_CONFIRMATIONS = ("none", "volume", "adx", "both")


def _previous(series: np.ndarray) -> np.ndarray:
    """The series one bar back, aligned with the current bar (NaN first): the channel a close
    breaks is the previous bars' one, since a bar is always inside its own channel."""
    return np.concatenate(([np.nan], series[:-1]))


@attrs.frozen(kw_only=True)
class DonchianBreakout:
    name: ClassVar[str] = "donchian_breakout"
    params: ClassVar[tuple[Param, ...]] = (
        int_param("entry_period", default=20, low=2, high=400, step=5, help="breakout channel length in bars"),
        int_param("exit_period", default=10, low=2, high=400, step=5, help="exit channel length in bars"),
        choice_param("confirm", default="none", choices=_CONFIRMATIONS, help="what must confirm a breakout"),
        float_param("volume_factor", default=1.5, low=0.5, high=10.0, step=0.1,
                    help="volume confirmation: volume > this x average volume"),
        int_param("volume_period", default=20, low=2, high=400, step=5, help="bars in the average volume"),
        int_param("adx_period", default=14, low=2, high=100, help="ADX length in bars"),
        float_param("adx_threshold", default=25.0, low=5.0, high=80.0, step=1.0,
                    help="ADX confirmation: ADX above this"),
        bool_param("allow_short", default=False, help="also sell short the mirror-image breakdown"),
    )

    entry_period: int = 20
    exit_period: int = 10
    confirm: str = "none"
    volume_factor: float = 1.5
    volume_period: int = 20
    adx_period: int = 14
    adx_threshold: float = 25.0
    allow_short: bool = False

    def __attrs_post_init__(self) -> None:
        check_params(self)

    @property
    def _uses_volume(self) -> bool:
        return self.confirm in ("volume", "both")

    @property
    def _uses_adx(self) -> bool:
        return self.confirm in ("adx", "both")

    @property
    def warmup(self) -> int:
        needed = [self.entry_period + 1, self.exit_period + 1]  # the previous bars' channels
        if self._uses_volume:
            needed.append(self.volume_period + 1)
        if self._uses_adx:
            needed.append(2 * self.adx_period)  # ADX's first value
        return max(needed)

    def indicators(self) -> Mapping[str, str]:
        labels = {
            "close": "last close",
            "entry_high": f"highest high of the previous {self.entry_period} bars",
            "exit_low": f"lowest low of the previous {self.exit_period} bars",
        }
        if self.allow_short:
            labels["entry_low"] = f"lowest low of the previous {self.entry_period} bars"
            labels["exit_high"] = f"highest high of the previous {self.exit_period} bars"
        if self._uses_volume:
            labels["volume"] = "last bar's volume"
            labels["average_volume"] = f"SMA({self.volume_period}) of volume over the previous bars"
        if self._uses_adx:
            labels["adx"] = f"ADX({self.adx_period})"
        return labels

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.warmup or window.last is None:
            return None
        highs, lows, closes = window.highs, window.lows, window.closes
        entry_high, _, entry_low = (_previous(s) for s in donchian(high=highs, low=lows, period=self.entry_period))
        exit_high, _, exit_low = (_previous(s) for s in donchian(high=highs, low=lows, period=self.exit_period))
        values = {"close": float(closes[-1]), "entry_high": float(entry_high[-1]), "exit_low": float(exit_low[-1])}
        if self.allow_short:
            values.update(entry_low=float(entry_low[-1]), exit_high=float(exit_high[-1]))

        # NaN compares False: bars before a channel exists are never breakouts.
        confirmed = np.ones(len(closes), dtype=bool)
        why = ""
        if self._uses_volume:
            average = _previous(sma(window.volumes, self.volume_period))
            confirmed &= window.volumes > self.volume_factor * average
            values.update(volume=float(window.volumes[-1]), average_volume=round(float(average[-1]), 6))
            why += f", volume {values['volume']:g} > {self.volume_factor:g} x {values['average_volume']:g}"
        if self._uses_adx:
            strength = adx(high=highs, low=lows, close=closes, period=self.adx_period)
            confirmed &= strength > self.adx_threshold
            values["adx"] = round(float(strength[-1]), 6)
            why += f", ADX {values['adx']:.1f} > {self.adx_threshold:g}"
        long_entry = (closes > entry_high) & confirmed
        short_entry = (closes < entry_low) & confirmed if self.allow_short else np.zeros(len(closes), dtype=bool)

        def signal(target: Target, reason: str) -> Signal:
            assert window.last is not None
            return Signal(target=target, bar_ts=window.last.ts, values=values, reason=reason)

        close = values["close"]
        if long_entry[-1]:
            return signal(Target.LONG, f"close {close:g} above the {self.entry_period}-bar high "
                                       f"{values['entry_high']:g}{why}")
        if short_entry[-1]:
            return signal(Target.SHORT, f"close {close:g} below the {self.entry_period}-bar low "
                                        f"{values['entry_low']:g}{why}")
        side = self._side_from_series(long_entry, short_entry)
        if close < exit_low[-1] and side != Target.SHORT:
            return signal(Target.FLAT, f"close {close:g} below the {self.exit_period}-bar low {values['exit_low']:g}")
        if self.allow_short and close > exit_high[-1] and side != Target.LONG:
            return signal(Target.FLAT, f"close {close:g} above the {self.exit_period}-bar high {values['exit_high']:g}")
        return None

    def _side_from_series(self, long_entry: np.ndarray, short_entry: np.ndarray) -> Target | None:
        """The side of the latest breakout in the window, None when there is none: which
        side's exit applies (long only: always the long one)."""
        if not self.allow_short:
            return None
        last_long = np.flatnonzero(long_entry)
        last_short = np.flatnonzero(short_entry)
        long_at = int(last_long[-1]) if len(last_long) else -1
        short_at = int(last_short[-1]) if len(last_short) else -1
        if long_at == short_at:  # both -1: no breakout in the window
            return None
        return Target.LONG if long_at > short_at else Target.SHORT
