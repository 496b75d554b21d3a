"""The bar-by-bar indicators give, on every bar, what the array functions give at that
index: the same values to 1e-9 (relative) and NaN exactly where the arrays have NaN."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import indicators as ind
from domain.indicators import incremental as inc

Bars = dict[str, np.ndarray]


@st.composite
def ohlcv(draw: st.DrawFn, *, max_size: int = 200) -> Bars:
    """Cent-grid OHLCV with flat stretches, gaps and idle (zero-volume) bars."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    moves = np.array(draw(st.lists(st.integers(min_value=-15, max_value=15), min_size=n, max_size=n)))
    if draw(st.booleans()):  # long flat runs: the 0/0 and zero-variance paths
        moves[draw(st.integers(min_value=0, max_value=n - 1)) :: 2] = 0
    close = draw(st.integers(min_value=2_000, max_value=20_000)) + np.cumsum(moves)
    open_ = np.concatenate(([close[0]], close[:-1])) + np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)))
    wicks = st.lists(st.integers(min_value=0, max_value=25), min_size=n, max_size=n)
    high = np.maximum(open_, close) + np.array(draw(wicks))
    low = np.minimum(open_, close) - np.array(draw(wicks))
    volume = np.array(draw(st.lists(st.integers(min_value=0, max_value=5_000), min_size=n, max_size=n)), dtype=float)
    return {"high": high / 100.0, "low": low / 100.0, "close": close / 100.0, "volume": volume}


def run(indicator: object, feed: Callable[[object, Bars, int], object], bars: Bars) -> tuple[np.ndarray, object]:
    """Every bar through `update`; the results stacked as columns (one per output)."""
    results = [feed(indicator, bars, i) for i in range(len(bars["close"]))]
    return np.array(results, dtype=float).reshape(len(results), -1), results[-1] if results else None


def agree(incremental: np.ndarray, vectorised: tuple[np.ndarray, ...] | np.ndarray) -> None:
    expected = np.column_stack(vectorised if isinstance(vectorised, tuple) else (vectorised,))
    np.testing.assert_allclose(incremental, expected, rtol=1e-9, atol=1e-10, equal_nan=True)


def close_(indicator, bars, i):
    return indicator.update(bars["close"][i])


def high_low(indicator, bars, i):
    return indicator.update(high=bars["high"][i], low=bars["low"][i])


def high_low_close(indicator, bars, i):
    return indicator.update(high=bars["high"][i], low=bars["low"][i], close=bars["close"][i])


def hlc(bars: Bars) -> Bars:
    return {name: bars[name] for name in ("high", "low", "close")}


PERIOD = st.integers(min_value=1, max_value=30)


def check(indicator, feed, bars, expected) -> None:
    outputs, last = run(indicator, feed, bars)
    agree(outputs, expected)
    if last is not None:  # `value` repeats the latest update
        assert np.array_equal(np.asarray(indicator.value, dtype=float), np.asarray(last, dtype=float), equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_moving_averages(bars, period):
    check(inc.SMA(period), close_, bars, ind.sma(bars["close"], period))
    check(inc.EMA(period), close_, bars, ind.ema(bars["close"], period))
    check(inc.WMA(period), close_, bars, ind.wma(bars["close"], period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), fast=st.integers(1, 15), extra=st.integers(1, 15), signal=st.integers(1, 10))
def test_macd(bars, fast, extra, signal):
    slow = fast + extra
    check(inc.MACD(fast=fast, slow=slow, signal=signal), close_, bars, ind.macd(bars["close"], fast=fast, slow=slow, signal=signal))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_rsi_and_zscore(bars, period):
    check(inc.RSI(period), close_, bars, ind.rsi(bars["close"], period))
    check(inc.ZScore(period), close_, bars, ind.zscore(bars["close"], period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD, k=st.floats(min_value=0.0, max_value=3.0))
def test_bollinger(bars, period, k):
    check(inc.Bollinger(period=period, k=k), close_, bars, ind.bollinger(bars["close"], period=period, k=k))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=2, max_value=30), per_year=st.sampled_from([1, 252, 525_600]))
def test_realized_volatility(bars, period, per_year):
    expected = ind.realized_volatility(bars["close"], period=period, periods_per_year=per_year)
    check(inc.RealizedVolatility(period=period, periods_per_year=per_year), close_, bars, expected)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD, multiple=st.floats(min_value=0.0, max_value=4.0))
def test_atr_and_chandelier(bars, period, multiple):
    check(inc.ATR(period), high_low_close, bars, ind.atr(**hlc(bars), period=period))
    expected = ind.chandelier(**hlc(bars), period=period, multiple=multiple)
    check(inc.Chandelier(period=period, multiple=multiple), high_low_close, bars, expected)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_donchian(bars, period):
    check(inc.Donchian(period), high_low, bars, ind.donchian(high=bars["high"], low=bars["low"], period=period))


@settings(max_examples=80, deadline=None)
@given(bars=ohlcv(), step=st.sampled_from([0.01, 0.02, 0.05]), max_step=st.sampled_from([0.1, 0.2]))
def test_parabolic_sar(bars, step, max_step):
    expected = ind.parabolic_sar(high=bars["high"], low=bars["low"], step=step, max_step=max_step)
    check(inc.ParabolicSAR(step=step, max_step=max_step), high_low, bars, expected)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_adx_with_both_directional_indices(bars, period):
    adx = inc.ADX(period)

    def feed(indicator, bars, i):
        return (high_low_close(indicator, bars, i), indicator.plus_di, indicator.minus_di)

    outputs, _ = run(adx, feed, bars)
    expected = (ind.adx(**hlc(bars), period=period), ind.plus_di(**hlc(bars), period=period), ind.minus_di(**hlc(bars), period=period))
    agree(outputs, expected)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), k_period=st.integers(1, 20), k_smooth=st.integers(1, 5), d_period=st.integers(1, 5))
def test_stochastic(bars, k_period, k_smooth, d_period):
    expected = ind.stochastic(**hlc(bars), k_period=k_period, k_smooth=k_smooth, d_period=d_period)
    check(inc.Stochastic(k_period=k_period, k_smooth=k_smooth, d_period=d_period), high_low_close, bars, expected)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.one_of(st.none(), PERIOD))
def test_volume_indicators(bars, period):
    def with_volume(indicator, bars, i):
        return indicator.update(high=bars["high"][i], low=bars["low"][i], close=bars["close"][i], volume=bars["volume"][i])

    check(inc.OBV(), lambda o, b, i: o.update(close=b["close"][i], volume=b["volume"][i]), bars, ind.obv(bars["close"], bars["volume"]))
    check(inc.VWAP(period), with_volume, bars, ind.vwap(**hlc(bars), volume=bars["volume"], period=period))


# ---------------------------------------------------------------- long series: drift and re-sync


def long_bars(n: int = 10_000, seed: int = 11) -> Bars:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, n)))
    close[4000:4300] = close[3999]  # a halted stretch: flat windows after a volatile run
    high = close * (1 + np.abs(rng.normal(0.0, 0.002, n)))
    low = close * (1 - np.abs(rng.normal(0.0, 0.002, n)))
    volume = rng.integers(0, 10_000, n).astype(float) * (rng.random(n) > 0.1)
    return {"high": high, "low": low, "close": close, "volume": volume}


LONG = long_bars()
LONG_CASES = {
    "SMA": (lambda: inc.SMA(50), close_, lambda b: ind.sma(b["close"], 50)),
    "EMA": (lambda: inc.EMA(50), close_, lambda b: ind.ema(b["close"], 50)),
    "WMA": (lambda: inc.WMA(50), close_, lambda b: ind.wma(b["close"], 50)),
    "RSI": (lambda: inc.RSI(14), close_, lambda b: ind.rsi(b["close"], 14)),
    "MACD": (lambda: inc.MACD(), close_, lambda b: ind.macd(b["close"])),
    "Bollinger": (lambda: inc.Bollinger(period=20), close_, lambda b: ind.bollinger(b["close"], period=20)),
    "ZScore": (lambda: inc.ZScore(100), close_, lambda b: ind.zscore(b["close"], 100)),
    "RealizedVolatility": (lambda: inc.RealizedVolatility(period=30), close_, lambda b: ind.realized_volatility(b["close"], period=30)),
    "ATR": (lambda: inc.ATR(14), high_low_close, lambda b: ind.atr(**hlc(b))),
    "Chandelier": (lambda: inc.Chandelier(), high_low_close, lambda b: ind.chandelier(**hlc(b))),
    "Donchian": (lambda: inc.Donchian(55), high_low, lambda b: ind.donchian(high=b["high"], low=b["low"], period=55)),
    "ParabolicSAR": (lambda: inc.ParabolicSAR(), high_low, lambda b: ind.parabolic_sar(high=b["high"], low=b["low"])),
    "ADX": (lambda: inc.ADX(14), high_low_close, lambda b: ind.adx(**hlc(b))),
    "Stochastic": (lambda: inc.Stochastic(), high_low_close, lambda b: ind.stochastic(**hlc(b))),
    "VWAP": (
        lambda: inc.VWAP(390),
        lambda o, b, i: o.update(high=b["high"][i], low=b["low"][i], close=b["close"][i], volume=b["volume"][i]),
        lambda b: ind.vwap(**hlc(b), volume=b["volume"], period=390),
    ),
}


@pytest.mark.parametrize("name", sorted(LONG_CASES))
def test_long_series_agree_on_every_bar(name):
    make, feed, vectorised = LONG_CASES[name]
    outputs, _ = run(make(), feed, LONG)
    agree(outputs, vectorised(LONG))


def test_every_indicator_class_is_covered():
    covered = set(LONG_CASES) | {"OBV"}
    assert covered == set(inc.__all__)


# ---------------------------------------------------------------- behaviour and validation


def test_flat_window_gives_exact_zero_spread():
    bands, z = inc.Bollinger(period=5), inc.ZScore(5)
    for price in [10.0, 30.0, 20.0] + [0.1] * 5:
        bands.update(price)
        z.update(price)
    assert bands.value == (0.1, 0.1, 0.1) and z.value == 0.0


def test_warm_up_is_nan_then_values():
    sma = inc.SMA(3)
    assert [math.isnan(sma.update(v)) for v in (1.0, 2.0)] == [True, True]
    assert sma.update(3.0) == 2.0 and sma.value == 2.0
    sar = inc.ParabolicSAR()
    assert math.isnan(sar.update(high=10.0, low=9.0)) and not math.isnan(sar.update(high=10.5, low=9.5))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: inc.SMA(0), r"period must be an integer >= 1, got 0"),
        (lambda: inc.EMA(2.5), r"period must be an integer >= 1, got 2.5"),
        (lambda: inc.MACD(fast=26, slow=12), r"fast must be smaller than slow, got fast=26, slow=12"),
        (lambda: inc.Stochastic(d_period=0), r"d_period must be an integer >= 1, got 0"),
        (lambda: inc.Bollinger(k=-2.0), r"k must be >= 0, got -2.0"),
        (lambda: inc.RealizedVolatility(period=1), r"period must be an integer >= 2, got 1"),
        (lambda: inc.ParabolicSAR(step=0.5, max_step=0.2), r"step must be <= max_step, got step=0.5, max_step=0.2"),
        (lambda: inc.Chandelier(multiple=float("nan")), r"multiple must be finite, got nan"),
        (lambda: inc.VWAP(period=True), r"period must be an integer >= 1, got True"),
    ],
)
def test_bad_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"volume must be >= 0, got -1.0"):
        inc.OBV().update(close=1.0, volume=-1.0)
    with pytest.raises(ValueError, match=r"value must be > 0 for log returns, got 0.0"):
        inc.RealizedVolatility(period=2).update(0.0)
