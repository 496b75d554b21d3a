"""Moving-average crossover: long while the fast SMA is above the slow one."""

from __future__ import annotations

import math

import attrs

from domain.indicators import last_sma
from domain.strategy import BarWindow, Signal, Target


@attrs.frozen(kw_only=True)
class MovingAverageCrossover:
    fast: int = 10
    slow: int = 30
    allow_short: bool = False
    name: str = "ma_crossover"

    def __attrs_post_init__(self) -> None:
        if self.fast < 1:
            raise ValueError(f"fast must be >= 1, got {self.fast}")
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")

    @property
    def warmup(self) -> int:
        return self.slow

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.slow or window.last is None:
            return None
        closes = window.closes
        fast, slow = last_sma(closes, self.fast), last_sma(closes, self.slow)
        if math.isnan(fast) or math.isnan(slow):
            return None
        if fast > slow:
            target = Target.LONG
        else:
            target = Target.SHORT if self.allow_short else Target.FLAT
        return Signal(
            target=target,
            bar_ts=window.last.ts,
            values={"fast_sma": round(fast, 6), "slow_sma": round(slow, 6), "close": float(closes[-1])},
            reason=f"SMA{self.fast} {'>' if fast > slow else '<='} SMA{self.slow}",
        )
