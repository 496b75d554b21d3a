"""The array indicators: TA-Lib parity where TA-Lib has the indicator, hand-worked examples
and naive references where it does not, and argument validation.

Random series are prices on a one-cent grid ($50 .. $1,000), flat stretches included
(hypothesis finds them: they exercise the 0/0 cases of RSI, ADX, stochastic and the bands).
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import indicators as ind

TOLERANCE = {"rtol": 1e-9, "atol": 1e-9}


def same(ours: np.ndarray, theirs: np.ndarray) -> None:
    np.testing.assert_allclose(ours, theirs, equal_nan=True, **TOLERANCE)


@st.composite
def ohlcv(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 250) -> dict[str, np.ndarray]:
    """Positive OHLCV bars in cents converted to dollars: high >= max(open, close), low <= min(open, close)."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    moves = np.array(draw(st.lists(st.integers(min_value=-20, max_value=20), min_size=n, max_size=n)))
    start = draw(st.integers(min_value=10_000, max_value=100_000))
    close = start + np.cumsum(moves)
    gaps = np.array(draw(st.lists(st.integers(min_value=-5, max_value=5), min_size=n, max_size=n)))
    open_ = np.concatenate(([start], close[:-1])) + gaps
    wicks = st.lists(st.integers(min_value=0, max_value=30), min_size=n, max_size=n)
    high = np.maximum(open_, close) + np.array(draw(wicks))
    low = np.minimum(open_, close) - np.array(draw(wicks))
    volume = np.array(draw(st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=n, max_size=n)))
    return {
        "open": open_ / 100.0,
        "high": high / 100.0,
        "low": low / 100.0,
        "close": close / 100.0,
        "volume": volume.astype(np.float64),
    }


def random_walk(n: int, seed: int) -> dict[str, np.ndarray]:
    """A geometric random walk of 1-minute-like bars (the benchmark's recipe, shorter)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.0004, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.0014, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.0014, n)))
    return {"open": open_, "high": high, "low": low, "close": close, "volume": rng.integers(100, 50_000, n).astype(float)}


PERIOD = st.integers(min_value=2, max_value=40)
HLC = ("high", "low", "close")


def hlc(bars: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: bars[name] for name in HLC}


# ---------------------------------------------------------------- TA-Lib parity, property-based


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_moving_averages_match_talib(bars, period):
    close = bars["close"]
    same(ind.sma(close, period), talib.SMA(close, period))
    same(ind.ema(close, period), talib.EMA(close, period))
    same(ind.wma(close, period), talib.WMA(close, period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_rsi_matches_talib(bars, period):
    same(ind.rsi(bars["close"], period), talib.RSI(bars["close"], period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=1, max_value=40))
def test_true_range_and_atr_match_talib(bars, period):
    h, lo, c = (bars[name] for name in HLC)
    same(ind.true_range(**hlc(bars)), talib.TRANGE(h, lo, c))
    same(ind.atr(**hlc(bars), period=period), talib.ATR(h, lo, c, period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD, k=st.floats(min_value=0.0, max_value=4.0))
def test_bollinger_matches_talib_bbands(bars, period, k):
    upper, middle, lower = talib.BBANDS(bars["close"], period, k, k, 0)
    ours = ind.bollinger(bars["close"], period=period, k=k)
    for mine, theirs in zip(ours, (middle, upper, lower), strict=True):
        same(mine, theirs)


@settings(max_examples=25, deadline=None)
@given(
    bars=ohlcv(),
    fast=st.integers(min_value=2, max_value=20),
    extra=st.integers(min_value=1, max_value=20),
    signal=st.integers(min_value=1, max_value=15),
)
def test_macd_matches_talib_including_alignment(bars, fast, extra, signal):
    slow = fast + extra
    ours = ind.macd(bars["close"], fast=fast, slow=slow, signal=signal)
    for mine, theirs in zip(ours, talib.MACD(bars["close"], fast, slow, signal), strict=True):
        same(mine, theirs)


@settings(max_examples=25, deadline=None)
@given(
    bars=ohlcv(),
    step=st.sampled_from([0.01, 0.02, 0.03, 0.05]),
    max_step=st.sampled_from([0.1, 0.2, 0.3]),
)
def test_parabolic_sar_matches_talib(bars, step, max_step):
    same(ind.parabolic_sar(high=bars["high"], low=bars["low"], step=step, max_step=max_step),
         talib.SAR(bars["high"], bars["low"], step, max_step))  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=PERIOD)
def test_directional_movement_matches_talib(bars, period):
    h, lo, c = (bars[name] for name in HLC)
    same(ind.adx(**hlc(bars), period=period), talib.ADX(h, lo, c, period))
    same(ind.plus_di(**hlc(bars), period=period), talib.PLUS_DI(h, lo, c, period))
    same(ind.minus_di(**hlc(bars), period=period), talib.MINUS_DI(h, lo, c, period))


@settings(max_examples=25, deadline=None)
@given(
    bars=ohlcv(),
    k_period=st.integers(min_value=1, max_value=30),
    k_smooth=st.integers(min_value=1, max_value=8),
    d_period=st.integers(min_value=1, max_value=8),
)
def test_stochastic_matches_talib_stoch_with_sma_smoothing(bars, k_period, k_smooth, d_period):
    h, lo, c = (bars[name] for name in HLC)
    theirs = talib.STOCH(h, lo, c, k_period, k_smooth, 0, d_period, 0)
    ours = ind.stochastic(**hlc(bars), k_period=k_period, k_smooth=k_smooth, d_period=d_period)
    for mine, their in zip(ours, theirs, strict=True):
        same(mine, their)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv())
def test_obv_matches_talib(bars):
    same(ind.obv(bars["close"], bars["volume"]), talib.OBV(bars["close"], bars["volume"]))


# ---------------------------------------------------------------- TA-Lib parity, long fixed series


LONG = [random_walk(10_000, seed) for seed in (1, 2)]
PARITY_CASES = {
    "SMA": (lambda b: ind.sma(b["close"], 30), lambda b: talib.SMA(b["close"], 30)),
    "EMA": (lambda b: ind.ema(b["close"], 30), lambda b: talib.EMA(b["close"], 30)),
    "WMA": (lambda b: ind.wma(b["close"], 30), lambda b: talib.WMA(b["close"], 30)),
    "RSI": (lambda b: ind.rsi(b["close"]), lambda b: talib.RSI(b["close"], 14)),
    "TRANGE": (lambda b: ind.true_range(**hlc(b)), lambda b: talib.TRANGE(b["high"], b["low"], b["close"])),
    "ATR": (lambda b: ind.atr(**hlc(b)), lambda b: talib.ATR(b["high"], b["low"], b["close"], 14)),
    "SAR": (lambda b: ind.parabolic_sar(high=b["high"], low=b["low"]), lambda b: talib.SAR(b["high"], b["low"], 0.02, 0.2)),
    "ADX": (lambda b: ind.adx(**hlc(b)), lambda b: talib.ADX(b["high"], b["low"], b["close"], 14)),
    "PLUS_DI": (lambda b: ind.plus_di(**hlc(b)), lambda b: talib.PLUS_DI(b["high"], b["low"], b["close"], 14)),
    "MINUS_DI": (lambda b: ind.minus_di(**hlc(b)), lambda b: talib.MINUS_DI(b["high"], b["low"], b["close"], 14)),
    "OBV": (lambda b: ind.obv(b["close"], b["volume"]), lambda b: talib.OBV(b["close"], b["volume"])),
}
MULTI_OUTPUT_CASES = {
    "BBANDS": (lambda b: ind.bollinger(b["close"]), lambda b: np.array(talib.BBANDS(b["close"], 20, 2.0, 2.0, 0))[[1, 0, 2]]),
    "MACD": (lambda b: ind.macd(b["close"]), lambda b: talib.MACD(b["close"], 12, 26, 9)),
    "STOCH": (lambda b: ind.stochastic(**hlc(b)), lambda b: talib.STOCH(b["high"], b["low"], b["close"], 14, 3, 0, 3, 0)),
}


@pytest.mark.parametrize("bars", LONG, ids=["seed1", "seed2"])
@pytest.mark.parametrize("name", sorted(PARITY_CASES))
def test_long_series_match_talib(name, bars):
    ours, theirs = PARITY_CASES[name]
    same(ours(bars), theirs(bars))


@pytest.mark.parametrize("bars", LONG, ids=["seed1", "seed2"])
@pytest.mark.parametrize("name", sorted(MULTI_OUTPUT_CASES))
def test_long_series_match_talib_multi_output(name, bars):
    ours, theirs = MULTI_OUTPUT_CASES[name]
    for mine, their in zip(ours(bars), theirs(bars), strict=True):
        same(mine, their)


def test_first_valid_index_is_talibs():
    bars = LONG[0]
    firsts = {name: int(np.argmax(~np.isnan(ours(bars)))) for name, (ours, _) in PARITY_CASES.items()}
    assert firsts == {
        "SMA": 29, "EMA": 29, "WMA": 29, "RSI": 14, "TRANGE": 1, "ATR": 14, "SAR": 1,
        "ADX": 27, "PLUS_DI": 14, "MINUS_DI": 14, "OBV": 0,
    }  # fmt: skip
    assert int(np.argmax(~np.isnan(ind.macd(bars["close"])[0]))) == 26 + 9 - 2  # slow + signal - 2, as TA-Lib


# ---------------------------------------------------------------- indicators TA-Lib lacks: worked examples


def test_donchian_worked_example():
    upper, middle, lower = ind.donchian(high=[3.0, 5, 4, 6, 2], low=[1.0, 2, 1, 3, 0], period=3)
    same(upper, [np.nan, np.nan, 5, 6, 6])
    same(lower, [np.nan, np.nan, 1, 1, 0])
    same(middle, [np.nan, np.nan, 3, 3.5, 3])


def test_vwap_worked_examples():
    bars = {"high": [11.0, 12, 13], "low": [9.0, 10, 11], "close": [10.0, 11, 12]}  # typical prices 10, 11, 12
    same(ind.vwap(**bars, volume=[100.0, 300, 0]), [10, (10 * 100 + 11 * 300) / 400, 10.75])
    same(ind.vwap(**bars, volume=[0.0, 100, 100]), [np.nan, 11, 11.5])  # nothing traded yet: no price
    same(ind.vwap(**bars, volume=[100.0, 300, 0], period=2), [np.nan, 10.75, 11])
    same(ind.vwap(**bars, volume=[100.0, 0, 0], period=2), [np.nan, 10, np.nan])


def test_zscore_worked_example():
    # Windows [1,2,3] and [2,3,4]: mean m, population std sqrt(2/3), z = 1/sqrt(2/3) = sqrt(1.5).
    # Window [3,4,10]: mean 17/3, deviations -8/3, -5/3, 13/3, variance 258/27, z = 13/sqrt(86).
    same(ind.zscore([1.0, 2, 3, 4, 10], 3), [np.nan, np.nan, math.sqrt(1.5), math.sqrt(1.5), 13 / math.sqrt(86)])
    same(ind.zscore([5.0, 5, 5, 5], 3), [np.nan, np.nan, 0, 0])  # flat: at the mean, not 0/0


def test_realized_volatility_worked_example():
    # Returns ln 1.1, ln 0.9, ln 1.1; the sample std of two values a, b is |a - b| / sqrt(2).
    spread = (math.log(1.1) - math.log(0.9)) / math.sqrt(2)
    prices = [100.0, 110, 99, 108.9]
    same(ind.realized_volatility(prices, period=2, periods_per_year=1), [np.nan, np.nan, spread, spread])
    same(ind.realized_volatility(prices, period=2), [np.nan, np.nan, spread * math.sqrt(252), spread * math.sqrt(252)])


def test_chandelier_worked_example():
    # True ranges 3, 2, 3 (bars 1..3); ATR(2) = 2.5 on bar 2, (2.5 + 3) / 2 = 2.75 on bar 3.
    # Highest highs 12, 13 and lowest lows 9, 9 over the last two bars.
    long_stop, short_stop = ind.chandelier(
        high=[10.0, 12, 11, 13], low=[8.0, 9, 9, 10], close=[9.0, 11, 10, 12], period=2, multiple=1.0
    )
    same(long_stop, [np.nan, np.nan, 12 - 2.5, 13 - 2.75])
    same(short_stop, [np.nan, np.nan, 9 + 2.5, 9 + 2.75])


# ---------------------------------------------------------------- indicators TA-Lib lacks: naive references


def naive_donchian(high, low, period):
    upper = [max(high[t - period + 1 : t + 1]) if t >= period - 1 else math.nan for t in range(len(high))]
    lower = [min(low[t - period + 1 : t + 1]) if t >= period - 1 else math.nan for t in range(len(low))]
    return upper, [(u + d) / 2 for u, d in zip(upper, lower, strict=True)], lower


def naive_vwap(high, low, close, volume, period):
    out = []
    for t in range(len(close)):
        first = 0 if period is None else t - period + 1
        if first < 0:
            out.append(math.nan)
            continue
        span = range(first, t + 1)
        traded = math.fsum(volume[i] for i in span)
        priced = math.fsum((high[i] + low[i] + close[i]) / 3 * volume[i] for i in span)
        out.append(priced / traded if traded > 0 else math.nan)
    return out


def naive_zscore(values, period):
    out = [math.nan] * len(values)
    for t in range(period - 1, len(values)):
        window = values[t - period + 1 : t + 1]
        std = statistics.pstdev(window)
        out[t] = (values[t] - statistics.fmean(window)) / std if std > 0 else 0.0
    return out


def naive_realized_volatility(values, period, periods_per_year):
    returns = [math.log(b / a) for a, b in zip(values[:-1], values[1:], strict=True)]
    out = [math.nan] * len(values)
    for t in range(period, len(values)):
        out[t] = statistics.stdev(returns[t - period : t]) * math.sqrt(periods_per_year)
    return out


def naive_chandelier(high, low, close, period, multiple):
    true_ranges = [math.nan] + [
        max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1])) for t in range(1, len(close))
    ]
    long_stop, short_stop = [math.nan] * len(close), [math.nan] * len(close)
    atr = math.nan
    for t in range(period, len(close)):
        atr = sum(true_ranges[1 : period + 1]) / period if t == period else (atr * (period - 1) + true_ranges[t]) / period
        long_stop[t] = max(high[t - period + 1 : t + 1]) - multiple * atr
        short_stop[t] = min(low[t - period + 1 : t + 1]) + multiple * atr
    return long_stop, short_stop


def as_lists(bars):
    return {name: bars[name].tolist() for name in ("high", "low", "close", "volume")}


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=1, max_value=40))
def test_donchian_matches_naive(bars, period):
    b = as_lists(bars)
    ours = ind.donchian(high=bars["high"], low=bars["low"], period=period)
    for mine, theirs in zip(ours, naive_donchian(b["high"], b["low"], period), strict=True):
        same(mine, theirs)


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.one_of(st.none(), st.integers(min_value=1, max_value=40)), idle=st.booleans())
def test_vwap_matches_naive(bars, period, idle):
    if idle:  # stretches without trades
        bars["volume"][::3] = 0.0
    b = as_lists(bars)
    ours = ind.vwap(high=bars["high"], low=bars["low"], close=bars["close"], volume=bars["volume"], period=period)
    same(ours, naive_vwap(b["high"], b["low"], b["close"], b["volume"], period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=1, max_value=40))
def test_zscore_matches_naive(bars, period):
    same(ind.zscore(bars["close"], period), naive_zscore(bars["close"].tolist(), period))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=2, max_value=40), per_year=st.sampled_from([1, 252, 98_280]))
def test_realized_volatility_matches_naive(bars, period, per_year):
    ours = ind.realized_volatility(bars["close"], period=period, periods_per_year=per_year)
    same(ours, naive_realized_volatility(bars["close"].tolist(), period, per_year))


@settings(max_examples=25, deadline=None)
@given(bars=ohlcv(), period=st.integers(min_value=1, max_value=40), multiple=st.floats(min_value=0.0, max_value=5.0))
def test_chandelier_matches_naive(bars, period, multiple):
    b = as_lists(bars)
    ours = ind.chandelier(**hlc(bars), period=period, multiple=multiple)
    for mine, theirs in zip(ours, naive_chandelier(b["high"], b["low"], b["close"], period, multiple), strict=True):
        same(mine, theirs)


# ---------------------------------------------------------------- behaviour beyond parity


def test_sma_and_last_sma_agree():
    closes = LONG[0]["close"]
    assert ind.last_sma(closes, 50) == pytest.approx(ind.sma(closes, 50)[-1], rel=1e-12)
    assert math.isnan(ind.last_sma(closes[:3], 5))


def test_sub_cent_prices_keep_their_oscillators():
    """RSI, ADX, stochastic and z-score do not depend on the price unit: a coin priced in
    micro-dollars gets the same readings (TA-Lib 0.4's absolute 1e-8 "is zero" test zeroed them)."""
    bars = LONG[1]
    tiny = {name: bars[name] * 1e-7 for name in HLC}
    same(ind.rsi(tiny["close"]), ind.rsi(bars["close"]))
    same(ind.adx(**tiny), ind.adx(**hlc(bars)))
    same(ind.stochastic(**tiny)[1], ind.stochastic(**hlc(bars))[1])
    same(ind.zscore(tiny["close"], 20), ind.zscore(bars["close"], 20))
    np.testing.assert_allclose(ind.bollinger(tiny["close"])[1], ind.bollinger(bars["close"])[1] * 1e-7, rtol=1e-9, equal_nan=True)
    same(ind.rsi(tiny["close"]), talib.RSI(tiny["close"], 14))


def test_flat_window_bands_collapse_exactly():
    prices = np.array([10.0, 11, 12] + [0.1] * 25)  # 0.1 has no exact binary form: sums of it round
    middle, upper, lower = ind.bollinger(prices, period=20)
    assert middle[-1] == upper[-1] == lower[-1] == 0.1
    assert ind.zscore(prices, 20)[-1] == 0.0


def test_outputs_have_the_input_length_and_leave_inputs_alone():
    bars = {name: values[:300].copy() for name, values in LONG[0].items()}
    for values in bars.values():
        values.flags.writeable = False  # BarWindow hands out read-only views
    outputs = [
        ind.sma(bars["close"], 10), ind.ema(bars["close"], 10), ind.wma(bars["close"], 10), ind.rsi(bars["close"]),
        *ind.bollinger(bars["close"]), *ind.macd(bars["close"]), ind.zscore(bars["close"], 10),
        ind.realized_volatility(bars["close"], period=10), ind.true_range(**hlc(bars)), ind.atr(**hlc(bars)),
        *ind.chandelier(**hlc(bars)), *ind.donchian(high=bars["high"], low=bars["low"], period=10),
        ind.parabolic_sar(high=bars["high"], low=bars["low"]), ind.adx(**hlc(bars)), *ind.stochastic(**hlc(bars)),
        ind.obv(bars["close"], bars["volume"]), ind.vwap(**hlc(bars), volume=bars["volume"]),
    ]  # fmt: skip
    assert all(out.shape == (300,) and out.dtype == np.float64 for out in outputs)


@pytest.mark.parametrize("length", [0, 1, 2])
def test_short_inputs_are_all_warm_up(length):
    prices = np.linspace(10.0, 11.0, length)
    for out in (ind.sma(prices, 3), ind.ema(prices, 3), ind.rsi(prices, 3), ind.adx(high=prices, low=prices, close=prices)):
        assert len(out) == length and np.isnan(out).all()
    assert len(ind.obv(prices, prices)) == length


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "14", None])
def test_periods_must_be_integers_of_at_least_one(bad):
    with pytest.raises(ValueError, match=rf"period must be an integer >= 1, got {bad!r}"):
        ind.sma([1.0, 2.0], bad)
    with pytest.raises(ValueError, match=r"k_smooth must be an integer >= 1"):
        ind.stochastic(high=[1.0], low=[1.0], close=[1.0], k_smooth=bad)


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match=r"high, low, close must have the same length, got high=3, low=2, close=3"):
        ind.atr(high=[1.0, 2, 3], low=[1.0, 2], close=[1.0, 2, 3])
    with pytest.raises(ValueError, match=r"close, volume must have the same length, got close=2, volume=1"):
        ind.obv([1.0, 2], [5.0])


def test_other_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"values must be one-dimensional, got shape \(2, 2\)"):
        ind.ema(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match=r"fast must be smaller than slow, got fast=26, slow=12"):
        ind.macd([1.0], fast=26, slow=12)
    with pytest.raises(ValueError, match=r"step must be <= max_step, got step=0.3, max_step=0.2"):
        ind.parabolic_sar(high=[1.0], low=[1.0], step=0.3)
    with pytest.raises(ValueError, match=r"k must be >= 0, got -1"):
        ind.bollinger([1.0], k=-1)
    with pytest.raises(ValueError, match=r"period must be an integer >= 2, got 1"):
        ind.realized_volatility([1.0, 2.0], period=1)
    with pytest.raises(ValueError, match=r"values must be > 0 for log returns, got 0.0 at index 1"):
        ind.realized_volatility([1.0, 0.0, 2.0], period=2)
    with pytest.raises(ValueError, match=r"volume must be >= 0, got -5.0 at index 1"):
        ind.vwap(high=[1.0, 1], low=[1.0, 1], close=[1.0, 1], volume=[1.0, -5])
    with pytest.raises(ValueError, match=r"periods_per_year must be > 0, got 0"):
        ind.realized_volatility([1.0, 2.0], period=2, periods_per_year=0)
