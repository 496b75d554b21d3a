"""Moving-average crossover: long while the fast SMA is above the slow one, or only on the cross.

The idea: a short average above a long one means prices have recently been higher than over
the longer past, i.e. a trend is under way; stay with it until the averages cross back.

Parameters: `fast` and `slow`, the two SMA lengths in bars (fast < slow); `allow_short` to
hold SHORT instead of FLAT while the fast SMA is below the slow one; `entry`:
- "cross" (default): a target only on the bar where the averages cross: LONG when fast goes from <= slow
  to > slow, FLAT (SHORT) when it goes from >= slow to < slow; None (keep) on every other bar.
  This is the textbook rule the peer engines (backtesting.py, vectorbt, ...) trade, so
  benchmarks compare like with like. A stopped-out position waits for the next cross.
- "level": a target on every bar once warmed up: LONG while fast > slow, else FLAT
  (SHORT). A position closed by a stop is re-entered on the next bar if fast is still above.

`targets()` gives the same decisions for a whole series at once (numpy, for the fast
backtest kernel); `on_bar` computes the two averages with the same `sma` function on the
window's last slow + 1 closes, so the two agree bar for bar, to the last bit.

When it fails: sideways markets. The averages cross back and forth around a flat price and
every crossing costs a spread and fees (whipsaw); the signal also lags, giving back part of
each move at both ends. Longer averages whipsaw less and lag more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from domain.indicators import sma
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import Param, ParamError, bool_param, check_params, choice_param, int_param

# Per-bar target codes of `targets()`, the fast backtest kernel's input (int8). They belong
# next to `Target` in domain/strategy.py once other strategies have a targets() too.
LONG, FLAT, SHORT, KEEP = 1, 0, -1, 2


@attrs.frozen(kw_only=True)
class MovingAverageCrossover:
    params: ClassVar[tuple[Param, ...]] = (
        int_param("fast", default=10, low=1, high=200, help="fast SMA length in bars"),
        int_param("slow", default=30, low=2, high=500, help="slow SMA length in bars (greater than fast)"),
        bool_param("allow_short", default=False, help="SHORT instead of FLAT while fast <= slow"),
        choice_param("entry", default="cross", choices=("cross", "level"),
                     help="level: a target every bar (LONG while fast > slow); cross: only on the bar the SMAs cross"),
    )

    fast: int = 10
    slow: int = 30
    allow_short: bool = False
    entry: str = "cross"
    name: str = "ma_crossover"

    def __attrs_post_init__(self) -> None:
        check_params(self)
        if self.slow <= self.fast:
            raise ParamError(f"{self.name}: slow ({self.slow}) must be greater than fast ({self.fast})", param="slow")

    @property
    def warmup(self) -> int:
        # A cross compares this bar's averages with the previous bar's: one bar more.
        return self.slow + 1 if self.entry == "cross" else self.slow

    def indicators(self) -> Mapping[str, str]:
        return {"fast_sma": f"SMA({self.fast}) of close", "slow_sma": f"SMA({self.slow}) of close", "close": "last close"}

    def on_bar(self, window: BarWindow) -> Signal | None:
        if len(window) < self.warmup or window.last is None:
            return None
        closes = window.closes
        # The same function targets() uses, over just the closes it needs: SMA values depend
        # only on their own `period` inputs, so they equal the whole-series ones bit for bit.
        recent = closes[-(self.slow + 1) :]
        fast_line, slow_line = sma(recent, self.fast), sma(recent, self.slow)
        fast, slow = float(fast_line[-1]), float(slow_line[-1])
        if math.isnan(fast) or math.isnan(slow):
            return None
        values = {"fast_sma": round(fast, 6), "slow_sma": round(slow, 6), "close": float(closes[-1])}
        down = Target.SHORT if self.allow_short else Target.FLAT
        if self.entry == "level":
            target = Target.LONG if fast > slow else down
            reason = f"SMA{self.fast} {'>' if fast > slow else '<='} SMA{self.slow}"
            return Signal(target=target, bar_ts=window.last.ts, values=values, reason=reason)
        previous_fast, previous_slow = float(fast_line[-2]), float(slow_line[-2])
        if previous_fast <= previous_slow and fast > slow:
            target, word = Target.LONG, "above"
        elif previous_fast >= previous_slow and fast < slow:
            target, word = down, "below"
        else:
            return None
        reason = (f"SMA{self.fast} crossed {word} SMA{self.slow}: "
                  f"{previous_fast:.4f} vs {previous_slow:.4f} on the bar before, {fast:.4f} vs {slow:.4f} now")
        return Signal(target=target, bar_ts=window.last.ts, values=values, reason=reason)

    def targets(self, open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,  # noqa: A002
                volume: np.ndarray) -> np.ndarray:
        """What on_bar would return after each bar, for a whole series at once (int8 per bar:
        LONG 1, FLAT 0, SHORT -1, KEEP 2 where on_bar gives None). Only `close` is read."""
        return crossover_targets(sma(close, self.fast), sma(close, self.slow),
                                 entry=self.entry, allow_short=self.allow_short)


def crossover_targets(fast: np.ndarray, slow: np.ndarray, *, entry: str, allow_short: bool) -> np.ndarray:
    """Per-bar target codes from the two SMA lines (NaN while warming up). Shared by targets()
    and parameter sweeps that compute each SMA once for many (fast, slow) pairs."""
    out = np.full(len(fast), KEEP, dtype=np.int8)
    down = SHORT if allow_short else FLAT
    # Comparisons with NaN are False, so warm-up bars stay KEEP without a special case.
    above = fast > slow
    if entry == "level":
        warmed = ~np.isnan(slow)
        out[warmed] = np.where(above[warmed], LONG, down)
        return out
    if entry != "cross":
        raise ValueError(f"entry must be 'level' or 'cross', got {entry!r}")
    crossed_up = above[1:] & (fast[:-1] <= slow[:-1])
    crossed_down = (fast[1:] < slow[1:]) & (fast[:-1] >= slow[:-1])
    out[1:][crossed_up] = LONG
    out[1:][crossed_down] = down
    return out
