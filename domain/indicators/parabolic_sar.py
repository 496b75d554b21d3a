"""Wilder's parabolic stop-and-reverse, as TA-Lib 0.8 computes it.

Long: sar_{t+1} = sar_t + af * (extreme - sar_t), never above the last two lows; af
starts at `step` and grows by `step` (up to `max_step`) on each new extreme high. A low
at or below the SAR reverses to short: the new SAR is the old extreme, kept above the
last two highs. Short mirrors this. The value for bar t is the SAR in force during t.

TA-Lib 0.8 evaluates sar + af * (extreme - sar) with a fused multiply-add (one rounding).
Python 3.11 has no math.fma, and the plain expression rounds twice; the two differ by
a few units in the last place, which matters only when the SAR lands on a price it is
compared with (tick-grid prices make that happen). So the loop keeps the plain value
plus the steps since the last exactly known SAR (a clamp or a reversal), and when a
comparison is that close it replays those steps with an exact fused multiply-add.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from domain.indicators._validation import as_aligned, check_positive

# A comparison closer than this (relative, divided by `step`) is settled exactly. The
# plain value drifts from the fused one by at most ~1.5 ulp / af (each step contracts
# the difference by 1 - af and adds at most 1.5 ulp); this is three times that.
TIE_BAND = 1e-15
# Replay at least this often, so a long unclamped run cannot make a replay expensive.
MAX_CHAIN = 256


def fused_chain(anchor: float, chain: list[tuple[float, float]]) -> float:
    """The SAR after `chain` (af, extreme) steps from `anchor`, each step one exact fused multiply-add."""
    sar = anchor
    for af, extreme in chain:
        sar = float(Fraction(af) * Fraction(extreme - sar) + Fraction(sar))  # correctly rounded, as fma()
    return sar


def check_steps(step: float, max_step: float) -> tuple[float, float]:
    step = check_positive(step, name="step")
    max_step = check_positive(max_step, name="max_step")
    if step > max_step:
        raise ValueError(f"step must be <= max_step, got step={step}, max_step={max_step}")
    return step, max_step


def parabolic_sar(*, high: np.ndarray, low: np.ndarray, step: float = 0.02, max_step: float = 0.2) -> np.ndarray:
    """TA-Lib's SAR. NaN at index 0. The first direction is short when bar 1's low falls
    further than its high rises (a -DM of bar 1), long otherwise.

    A plain loop over the bars: each step depends on a branch of the previous one, which
    numpy cannot express (see docs/indicators.md for what that costs).
    """
    h, lo = as_aligned(high=high, low=low)
    step, max_step = check_steps(step, max_step)
    n = len(h)
    if n < 2:
        return np.full(n, np.nan)
    highs, lows = h.tolist(), lo.tolist()
    up, down = highs[1] - highs[0], lows[0] - lows[1]
    is_long = not (down > 0 and up < down)
    extreme, sar = (highs[1], lows[0]) if is_long else (lows[1], highs[0])
    af = step
    band = TIE_BAND / step
    anchor, chain = sar, []  # sar is the fused chain from anchor; [] means sar is exact
    prev_high, prev_low = highs[1], lows[1]  # bar 1 is its own "previous" bar, as in TA-Lib
    out = [float("nan")] * n
    # Local names and inline comparisons: this loop is the whole cost of the function.
    for i in range(1, n):
        new_high, new_low = highs[i], lows[i]
        if is_long:
            if chain:
                tie = band * (sar if sar > 0.0 else -sar)
                if -tie <= new_low - sar <= tie:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
            if new_low <= sar:  # stopped: reverse to short at the extreme, kept above both bars' highs
                is_long = False
                sar = extreme
                if sar < prev_high:
                    sar = prev_high
                if sar < new_high:
                    sar = new_high
                out[i] = sar
                af = step
                extreme = new_low
                anchor, chain = sar, [(af, extreme)]
                sar = sar + af * (extreme - sar)
                bound = prev_high if prev_high > new_high else new_high
                tie = band * (bound if bound > 0.0 else -bound)
                if -tie <= sar - bound <= tie:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
                if sar < bound:
                    sar = anchor = bound
                    chain = []
            else:
                out[i] = sar
                if new_high > extreme:
                    extreme = new_high
                    af += step
                    if af > max_step:
                        af = max_step
                chain.append((af, extreme))
                sar = sar + af * (extreme - sar)
                bound = prev_low if prev_low < new_low else new_low
                tie = band * (bound if bound > 0.0 else -bound)
                if -tie <= sar - bound <= tie or len(chain) >= MAX_CHAIN:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
                if sar > bound:
                    sar = anchor = bound
                    chain = []
        else:
            if chain:
                tie = band * (sar if sar > 0.0 else -sar)
                if -tie <= new_high - sar <= tie:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
            if new_high >= sar:  # stopped: reverse to long at the extreme, kept below both bars' lows
                is_long = True
                sar = extreme
                if sar > prev_low:
                    sar = prev_low
                if sar > new_low:
                    sar = new_low
                out[i] = sar
                af = step
                extreme = new_high
                anchor, chain = sar, [(af, extreme)]
                sar = sar + af * (extreme - sar)
                bound = prev_low if prev_low < new_low else new_low
                tie = band * (bound if bound > 0.0 else -bound)
                if -tie <= sar - bound <= tie:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
                if sar > bound:
                    sar = anchor = bound
                    chain = []
            else:
                out[i] = sar
                if new_low < extreme:
                    extreme = new_low
                    af += step
                    if af > max_step:
                        af = max_step
                chain.append((af, extreme))
                sar = sar + af * (extreme - sar)
                bound = prev_high if prev_high > new_high else new_high
                tie = band * (bound if bound > 0.0 else -bound)
                if -tie <= sar - bound <= tie or len(chain) >= MAX_CHAIN:
                    sar = anchor = fused_chain(anchor, chain)
                    chain = []
                if sar < bound:
                    sar = anchor = bound
                    chain = []
        prev_high, prev_low = new_high, new_low
    return np.array(out)
