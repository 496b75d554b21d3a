"""Bollinger bounce: buy the close back inside the lower band, sell at the middle.

The idea: a close below the lower Bollinger band (SMA(period) - k standard deviations) is
a stretch; the close that comes back above the band is the sign the stretch is ending.
Buy that close; go flat when the close reaches the middle band (the mean it reverted to)
or, with `exit_at = "upper"`, the upper band.

Parameters: `period` and `k` of the bands (population standard deviation), `exit_at`
("middle" or "upper"), `k_exit`: a stop, flat when the close falls below the lower band by
k_exit more standard deviations (the stretch has become a breakdown); 0 switches it off.

Stateless: the entry is the crossing seen in the last two bars, the exits are levels of
the last bar; in between it returns None (keep what is held). A FLAT while nothing is held
changes nothing.

When it fails: in trends and breakdowns. In a falling market the close walks down the lower
band, crossing back in briefly again and again, and each bounce is bought into further
falls (the k_exit stop bounds each one). After a volatility squeeze the bands are narrow
and a "stretch" is only noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import attrs

from domain.indicators import bollinger
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import Param, check_params, choice_param, float_param, int_param


@attrs.frozen(kw_only=True)
class BollingerBounce:
    name: ClassVar[str] = "bollinger_bounce"
    params: ClassVar[tuple[Param, ...]] = (
        int_param("period", default=20, low=2, high=200, help="SMA and standard deviation length in bars"),
        float_param("k", default=2.0, low=0.5, high=4.0, step=0.25, help="band width in standard deviations"),
        choice_param("exit_at", default="middle", choices=("middle", "upper"), help="the band where it takes profit"),
        float_param("k_exit", default=1.0, low=0.0, high=5.0, step=0.25,
                    help="stop: flat when close < lower band - k_exit std; 0 switches it off"),
    )

    period: int = 20
    k: float = 2.0
    exit_at: str = "middle"
    k_exit: float = 1.0

    def __attrs_post_init__(self) -> None:
        check_params(self)

    @property
    def warmup(self) -> int:
        return self.period + 1  # the band one bar back, to see the crossing

    def indicators(self) -> Mapping[str, str]:
        return {
            "middle": f"SMA({self.period}) of close",
            "upper": f"middle + {self.k:g} std({self.period}) of close",
            "lower": f"middle - {self.k:g} std({self.period}) of close",
            "close": "last close",
            "previous_close": "close one bar back",
            "previous_lower": "lower band one bar back",
        }

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.warmup or window.last is None:
            return None
        closes = window.closes
        middle, upper, lower = bollinger(closes, period=self.period, k=self.k)
        close, previous_close = float(closes[-1]), float(closes[-2])
        m, u, lo, previous_lower = float(middle[-1]), float(upper[-1]), float(lower[-1]), float(lower[-2])
        if any(math.isnan(v) for v in (m, u, lo, previous_lower)):
            return None
        values = {"close": close, "middle": round(m, 6), "upper": round(u, 6), "lower": round(lo, 6),
                  "previous_close": previous_close, "previous_lower": round(previous_lower, 6)}

        def signal(target: Target, reason: str) -> Signal:
            assert window.last is not None
            return Signal(target=target, bar_ts=window.last.ts, values=values, reason=reason)

        exit_band = m if self.exit_at == "middle" else u
        if close >= exit_band:
            return signal(Target.FLAT, f"close {close:g} reached the {self.exit_at} band {exit_band:.2f}")
        if previous_close < previous_lower and close > lo:
            return signal(Target.LONG, f"close {close:g} back above the lower band {lo:.2f} "
                                       f"after {previous_close:g} below it")
        sigma = (u - m) / self.k
        stop = lo - self.k_exit * sigma
        if self.k_exit and close < stop:
            values["stop"] = round(stop, 6)
            return signal(Target.FLAT, f"stop: close {close:g} below lower band - {self.k_exit:g} std ({stop:.2f})")
        return None
