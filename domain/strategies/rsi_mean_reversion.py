"""RSI mean reversion: buy a sharp fall, sell the rebound.

The idea: after an unusually one-sided run of losses (a low RSI) prices tend to snap back
part of the way. Buy while RSI(period) is below `oversold`; go flat once RSI has risen above
`exit_level` (50 takes the bounce back to neutral, 70 waits for overbought). In between it
returns None: keep whatever is held. Long only.

Parameters: `period` (RSI length, Wilder's smoothing), `oversold`, `exit_level` (greater
than oversold), `trend_period`: when not 0, entries only while the close is above
SMA(trend_period), i.e. buy dips in an uptrend only (exits are never filtered).

It decides from the latest values alone (no memory of its own: one instance serves every
symbol). RSI is smoothed over the bars the window holds, so its first values after the
warm-up rest on a short history; the window keeps a few dozen bars beyond the warm-up.

When it fails: in a trend. A falling market stays oversold and keeps falling, so it buys
early and holds a loser (pair it with a stop, or with the trend filter); in a strong rise
RSI rarely gets oversold and it sits out. A flat history (no price change at all) gives
no signal rather than RSI's conventional 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from domain.indicators import rsi, sma
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import Param, ParamError, check_params, float_param, int_param


@attrs.frozen(kw_only=True)
class RsiMeanReversion:
    name: ClassVar[str] = "rsi_mean_reversion"
    params: ClassVar[tuple[Param, ...]] = (
        int_param("period", default=14, low=2, high=100, help="RSI length in bars"),
        float_param("oversold", default=30.0, low=1.0, high=50.0, step=1.0, help="buy while RSI is below this"),
        float_param("exit_level", default=70.0, low=10.0, high=99.0, step=1.0,
                    help="go flat once RSI is above this (50: back to neutral, 70: overbought)"),
        int_param("trend_period", default=0, low=0, high=400, step=10,
                  help="enter only while close > SMA(trend_period); 0 switches the filter off"),
    )

    period: int = 14
    oversold: float = 30.0
    exit_level: float = 70.0
    trend_period: int = 0

    def __attrs_post_init__(self) -> None:
        check_params(self)
        if self.exit_level <= self.oversold:
            raise ParamError(
                f"{self.name}: exit_level ({self.exit_level:g}) must be greater than oversold ({self.oversold:g})",
                param="exit_level",
            )
        if self.trend_period == 1:
            # SMA(1) is the close itself: "close above it" is never true, so it would never buy.
            raise ParamError(f"{self.name}: trend_period must be 0 (off) or at least 2, got 1", param="trend_period")

    @property
    def warmup(self) -> int:
        return max(self.period + 1, self.trend_period)  # RSI's first value needs period changes

    def indicators(self) -> Mapping[str, str]:
        labels = {"rsi": f"RSI({self.period}) of close, Wilder's smoothing", "close": "last close"}
        if self.trend_period:
            labels["trend_sma"] = f"SMA({self.trend_period}) of close (entry filter)"
        return labels

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.warmup or window.last is None:
            return None
        closes = window.closes
        if np.ptp(closes) == 0:
            return None  # no movement at all: nothing to revert (RSI would read 0 by convention)
        value = float(rsi(closes, self.period)[-1])
        close = float(closes[-1])
        if math.isnan(value):
            return None
        values = {"rsi": round(value, 6), "close": close}
        if value > self.exit_level:
            return Signal(target=Target.FLAT, bar_ts=window.last.ts, values=values,
                          reason=f"RSI{self.period} {value:.1f} > exit level {self.exit_level:g}")
        if value >= self.oversold:
            return None
        reason = f"RSI{self.period} {value:.1f} < oversold {self.oversold:g}"
        if self.trend_period:
            trend = float(sma(closes, self.trend_period)[-1])
            values["trend_sma"] = round(trend, 6)
            if not close > trend:
                return None  # a dip below the trend line is a falling market, not a dip to buy
            reason += f", close {close:g} > SMA{self.trend_period} {trend:.2f}"
        return Signal(target=Target.LONG, bar_ts=window.last.ts, values=values, reason=reason)
