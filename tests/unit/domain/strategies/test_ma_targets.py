"""MovingAverageCrossover.targets() over whole arrays says, bar for bar, what on_bar says over a
BarWindow fed one bar at a time (the window bounded as the bot bounds it: warmup + 50)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounting.market import Bar
from domain.strategies.ma_crossover import FLAT, KEEP, LONG, SHORT, MovingAverageCrossover
from domain.strategy import BarWindow, Target
from tests.fakes.builders import T0

CODE = {None: KEEP, Target.LONG: LONG, Target.FLAT: FLAT, Target.SHORT: SHORT}


def bar_by_bar(strategy: MovingAverageCrossover, closes: list[float]) -> np.ndarray:
    window = BarWindow(capacity=strategy.warmup + 50)
    out = []
    for i, close in enumerate(closes):
        price = Decimal(repr(close))
        window.append(Bar(symbol="SPY", ts=T0 + timedelta(minutes=i), open=price, high=price, low=price,
                          close=price, volume=Decimal(1000)))
        signal = strategy.on_bar(window)
        out.append(CODE[None if signal is None else signal.target])
    return np.array(out, dtype=np.int8)


def whole_series(strategy: MovingAverageCrossover, closes: list[float]) -> np.ndarray:
    # The window stores float(Decimal(repr(x))) == x, so both sides see the same floats.
    c = np.array(closes, dtype=float)
    return strategy.targets(c, c, c, c, np.full(len(c), 1000.0))


# Prices on a coarse grid (cents, few distinct levels) make exact SMA ties common, where
# `<=` against `<` and the SMA's rounding would show.
TICKED = st.lists(st.integers(9_990, 10_010).map(lambda k: k / 100), min_size=1, max_size=160)
WALK = st.lists(st.floats(-0.02, 0.02, allow_nan=False), min_size=1, max_size=160).map(
    lambda rs: [float(x) for x in np.round(100 * np.cumprod(1 + np.array(rs)), 6)])


@pytest.mark.parametrize("entry", ["level", "cross"])
@pytest.mark.parametrize("allow_short", [False, True])
@settings(max_examples=40, deadline=None)
@given(closes=st.one_of(TICKED, WALK), periods=st.tuples(st.integers(1, 8), st.integers(1, 30)))
def test_targets_equal_on_bar_bar_for_bar(entry, allow_short, closes, periods):
    fast, extra = periods
    strategy = MovingAverageCrossover(fast=fast, slow=fast + extra, allow_short=allow_short, entry=entry)
    np.testing.assert_array_equal(whole_series(strategy, closes), bar_by_bar(strategy, closes))


def test_cross_signals_only_on_the_crossing_bar():
    strategy = MovingAverageCrossover(fast=2, slow=3, entry="cross")
    # closes   10   10   10   13   14   7    7
    # SMA2      -   10   10  11.5 13.5 10.5   7
    # SMA3      -    -   10   11 12.33 11.33 9.33
    # bar 3: 10 <= 10 before, 11.5 > 11 now: LONG. bar 4: still above: keep.
    # bar 5: 13.5 >= 12.33 before, 10.5 < 11.33 now: FLAT. bar 6: still below: keep.
    closes = [10.0, 10, 10, 13, 14, 7, 7]
    assert list(whole_series(strategy, closes)) == [KEEP, KEEP, KEEP, LONG, KEEP, FLAT, KEEP]
    assert list(bar_by_bar(strategy, closes)) == [KEEP, KEEP, KEEP, LONG, KEEP, FLAT, KEEP]
    level = MovingAverageCrossover(fast=2, slow=3, entry="level")
    assert list(whole_series(level, closes)) == [KEEP, KEEP, FLAT, LONG, LONG, FLAT, FLAT]
    assert strategy.warmup == 4 and level.warmup == 3


def test_touching_without_crossing_is_no_signal():
    # SMA2 and SMA3 equal on bar 2 (all 10), then fast goes back down: from == to < is a cross
    # down (>= then <); from == to == is nothing.
    strategy = MovingAverageCrossover(fast=2, slow=3, entry="cross")
    assert list(whole_series(strategy, [10.0, 10, 10, 10])) == [KEEP] * 4
    assert list(whole_series(strategy, [10.0, 10, 10, 7]))[-1] == FLAT


def test_entry_is_a_declared_choice():
    with pytest.raises(ValueError, match="entry"):
        MovingAverageCrossover(entry="sometimes")
