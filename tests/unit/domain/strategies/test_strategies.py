"""The built-in strategies on small series whose figures are worked out by hand in the comments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounting.market import Bar
from domain.errors import ConfigurationError
from domain.strategies.bollinger_bounce import BollingerBounce
from domain.strategies.donchian_breakout import DonchianBreakout
from domain.strategies.ma_crossover import MovingAverageCrossover
from domain.strategies.rsi_mean_reversion import RsiMeanReversion
from domain.strategy import BarWindow, Signal, Target
from domain.strategy_params import ParamError
from entrypoints.strategies import BUILT_IN, build_strategy, describe_strategy
from tests.fakes.builders import T0, bars


def window_of(closes, *, highs=None, lows=None, volumes=None, capacity=500) -> BarWindow:
    """A window of the given closes; highs, lows and volumes default to close, close, 1000."""
    window = BarWindow(capacity=capacity)
    if highs is None and lows is None and volumes is None:
        for one in bars("SPY", [str(c) for c in closes]):
            window.append(one)
        return window
    for i, close in enumerate(closes):
        c = Decimal(str(close))
        window.append(Bar(symbol="SPY", ts=T0 + timedelta(minutes=i), open=c, close=c,
                          high=Decimal(str(highs[i])) if highs else c, low=Decimal(str(lows[i])) if lows else c,
                          volume=Decimal(str(volumes[i])) if volumes else Decimal(1000)))
    return window


def signals_over(strategy, closes, **columns) -> list[Signal | None]:
    """What the strategy says after each bar, as the trading cycle would call it."""
    out = []
    for n in range(1, len(closes) + 1):
        window = window_of(closes[:n], **{k: v[:n] for k, v in columns.items()})
        out.append(strategy.on_bar(window))
    return out


def target(signal: Signal | None) -> Target | None:
    return None if signal is None else signal.target


# --- moving-average crossover -------------------------------------------------------------


def test_ma_crossover_crossing():
    strategy = MovingAverageCrossover(fast=2, slow=3, entry="level")
    # closes        10    10    10    13    7
    # SMA2           -    10    10   11.5   10
    # SMA3           -     -    10    11    10     (10+13+7)/3
    signals = signals_over(strategy, [10, 10, 10, 13, 7])
    assert signals[:2] == [None, None]  # warm-up: slow = 3 bars
    assert [target(s) for s in signals[2:]] == [Target.FLAT, Target.LONG, Target.FLAT]
    assert signals[3].values == {"fast_sma": 11.5, "slow_sma": 11.0, "close": 13.0}
    assert signals[3].reason == "SMA2 > SMA3" and signals[3].bar_ts == T0 + timedelta(minutes=3)
    assert target(MovingAverageCrossover(fast=2, slow=3, allow_short=True, entry="level").on_bar(
        window_of([10, 10, 10, 13, 7]))) is Target.SHORT


# --- RSI mean reversion -------------------------------------------------------------------


def test_rsi_five_bar_example():
    strategy = RsiMeanReversion(period=4, oversold=30, exit_level=60)
    # closes 10 11 10 9 8: changes +1 -1 -1 -1. First RSI (index 4) from plain means:
    # gain = 1/4 = 0.25, loss = 3/4 = 0.75, RSI = 100 * 0.25 / 1.0 = 25 < 30: LONG.
    signals = signals_over(strategy, [10, 11, 10, 9, 8])
    assert signals[:4] == [None] * 4  # warm-up: period + 1 = 5 bars
    assert signals[4].target is Target.LONG and signals[4].values == {"rsi": 25.0, "close": 8.0}
    assert signals[4].reason == "RSI4 25.0 < oversold 30"
    # Then 12: change +4. Wilder: gain = (0.25*3 + 4)/4 = 1.1875, loss = (0.75*3 + 0)/4 = 0.5625,
    # RSI = 100 * 1.1875 / 1.75 = 67.857 > 60: FLAT.
    after = strategy.on_bar(window_of([10, 11, 10, 9, 8, 12]))
    assert after.target is Target.FLAT and after.values["rsi"] == pytest.approx(67.857143, abs=1e-6)
    # With exit_level 70, 67.9 is in between: keep what is held.
    assert RsiMeanReversion(period=4, oversold=30, exit_level=70).on_bar(window_of([10, 11, 10, 9, 8, 12])) is None


def test_rsi_trend_filter_only_buys_dips_above_the_trend():
    # [10 11 10 9 8] with SMA(5) = 48/5 = 9.6: close 8 is below it, so no entry.
    assert RsiMeanReversion(period=4, oversold=30, trend_period=5).on_bar(window_of([10, 11, 10, 9, 8])) is None
    # 5 5 5 5 5 12 11.5 11 10.5 10, RSI(2): after the +7 jump gain 3.5 loss 0 (RSI 100), then four
    # -0.5 changes halve the gain and add 0.25 to half the loss each time:
    # gain 1.75 .875 .4375 .21875, loss .25 .375 .4375 .46875: RSI = 100 * .21875 / .6875 = 31.82 < 40.
    # SMA(10) = (25 + 12 + 11.5 + 11 + 10.5 + 10) / 10 = 8.0 and the close 10 is above it: LONG.
    closes = [5, 5, 5, 5, 5, 12, 11.5, 11, 10.5, 10]
    signal = RsiMeanReversion(period=2, oversold=40, exit_level=60, trend_period=10).on_bar(window_of(closes))
    assert signal.target is Target.LONG
    assert signal.values == {"rsi": pytest.approx(31.818182), "close": 10.0, "trend_sma": 8.0}
    assert "SMA10 8.00" in signal.reason


def test_rsi_flat_history_is_not_oversold():
    # RSI of an unchanging price is 0 by convention; that is no fall to buy.
    assert RsiMeanReversion(period=4).on_bar(window_of([10] * 20)) is None


# --- Bollinger bounce ---------------------------------------------------------------------


BOLLINGER_CLOSES = [10, 10, 10, 7, 8, 8.3]
# period 3, k 1 (population std):
# index 2  (10 10 10): middle 10, std 0, lower 10
# index 3  (10 10 7):  middle 9, std sqrt((1+1+4)/3) = 1.4142, lower 7.5858   close 7 below it
# index 4  (10 7 8):   middle 8.3333, std sqrt((2.7778+1.7778+0.1111)/3) = 1.2472, lower 7.0861,
#                      upper 9.5806; close 8 back above the lower band, below the middle: LONG
# index 5  (7 8 8.3):  middle 7.7667, std sqrt((.5878+.0544+.2844)/3) = .5558, upper 8.3224;
#                      close 8.3 is above the middle (FLAT) but below the upper band (keep)


def test_bollinger_entry_on_the_close_back_inside_the_lower_band():
    signals = signals_over(BollingerBounce(period=3, k=1.0, k_exit=0), BOLLINGER_CLOSES)
    assert signals[:3] == [None, None, None]  # warm-up: period + 1 = 4 bars
    assert signals[3] is None  # below the band is the setup, not the entry (and the stop is off)
    entry = signals[4]
    assert entry.target is Target.LONG
    assert entry.values["lower"] == pytest.approx(7.086114) and entry.values["previous_lower"] == pytest.approx(7.585786)
    assert entry.values["previous_close"] == 7.0 and "after 7 below it" in entry.reason
    assert signals[5].target is Target.FLAT and "middle band 7.77" in signals[5].reason


def test_bollinger_exit_at_the_upper_band():
    strategy = BollingerBounce(period=3, k=1.0, exit_at="upper", k_exit=0)
    assert strategy.on_bar(window_of(BOLLINGER_CLOSES)) is None  # 8.3 < upper 8.3224
    # 8.5 instead: (7 8 8.5) middle 7.8333, std .6236, upper 8.4570; 8.5 >= upper: FLAT.
    assert strategy.on_bar(window_of([*BOLLINGER_CLOSES[:5], 8.5])).target is Target.FLAT


def test_bollinger_stop_below_the_lower_band():
    # Index 3: lower 7.5858, std 1.4142. k_exit 0.25: stop at 7.5858 - 0.3536 = 7.2322 > close 7: FLAT.
    stopped = BollingerBounce(period=3, k=1.0, k_exit=0.25).on_bar(window_of(BOLLINGER_CLOSES[:4]))
    assert stopped.target is Target.FLAT and stopped.values["stop"] == pytest.approx(7.232233)
    # k_exit 1: stop at 6.1716, the close 7 is above it: keep.
    assert BollingerBounce(period=3, k=1.0, k_exit=1.0).on_bar(window_of(BOLLINGER_CLOSES[:4])) is None


# --- Donchian breakout --------------------------------------------------------------------

# Bars: closes with highs = close + 0.5, lows = close - 0.5.
# index  0     1     2     3     4
# close  10    11    10.5  12    9.5
# high   10.5  11.5  11    12.5  10
# low    9.5   10.5  10    11.5  9
# Index 3: the previous 3 bars' highest high is 11.5; close 12 breaks it.
# Index 4: the previous 2 bars' lowest low is min(10, 11.5) = 10; close 9.5 breaks it.
DONCHIAN_CLOSES = [10, 11, 10.5, 12, 9.5]
DONCHIAN_HIGHS = [c + 0.5 for c in DONCHIAN_CLOSES]
DONCHIAN_LOWS = [c - 0.5 for c in DONCHIAN_CLOSES]


def donchian_signals(strategy, volumes):
    return signals_over(strategy, DONCHIAN_CLOSES, highs=DONCHIAN_HIGHS, lows=DONCHIAN_LOWS, volumes=volumes)


def test_donchian_breakout_and_exit_without_confirmation():
    signals = donchian_signals(DonchianBreakout(entry_period=3, exit_period=2), [100] * 5)
    assert signals[:3] == [None] * 3  # warm-up: entry_period + 1 = 4 bars
    assert signals[3].target is Target.LONG and signals[3].values["entry_high"] == 11.5
    assert signals[4].target is Target.FLAT and signals[4].values["exit_low"] == 10.0


def test_donchian_volume_confirmation():
    strategy = DonchianBreakout(entry_period=3, exit_period=2, confirm="volume", volume_factor=1.5, volume_period=3)
    # The previous 3 volumes average 100; the breakout bar needs more than 1.5 x 100 = 150.
    confirmed = donchian_signals(strategy, [100, 100, 100, 200, 100])
    assert confirmed[3].target is Target.LONG
    assert confirmed[3].values["volume"] == 200.0 and confirmed[3].values["average_volume"] == 100.0
    assert "volume 200 > 1.5 x 100" in confirmed[3].reason
    thin = donchian_signals(strategy, [100, 100, 100, 120, 100])
    assert thin[3] is None  # 120 < 150: not confirmed
    assert thin[4].target is Target.FLAT  # exits never wait for confirmation


def test_donchian_adx_confirmation():
    # A steady rise of 1 a bar: +DM = 1, -DM = 0 and TR = 1 on every bar, so +DI = 100, -DI = 0,
    # DX = 100 and ADX = 100 above any threshold: the breakout on the last bar is confirmed.
    rising = [10 + i for i in range(12)]
    strategy = DonchianBreakout(entry_period=3, exit_period=2, confirm="adx", adx_period=3, adx_threshold=40)
    signal = strategy.on_bar(window_of(rising))
    assert signal.target is Target.LONG and signal.values["adx"] == 100.0
    # Up 1, down 1, ... then a new high: each rise is undone by the next fall, +DI ~ -DI, and ADX
    # stays low (under 30 even on the breakout bar): not confirmed.
    choppy = [10, 11] * 6 + [12]
    assert strategy.on_bar(window_of(choppy)) is None
    assert DonchianBreakout(entry_period=3, exit_period=2).on_bar(window_of(choppy)).target is Target.LONG


def test_donchian_short_side_exits_by_the_side_held():
    strategy = DonchianBreakout(entry_period=3, exit_period=2, allow_short=True)
    # high = low = close.
    # index   0   1   2   3    4    5    6    7
    # close   10  10  10  8    9.4  9.2  8.9  9.3
    # 3: 8 below the previous 3 lows (min 10), no confirmation asked: SHORT.
    # 4: 9.4: previous 2 highs max(10, 8) = 10, previous 3 lows min 8: nothing.
    # 5: 9.2: previous 2 highs max(8, 9.4) = 9.4: nothing.
    # 6: 8.9 below the previous 2 lows min(9.4, 9.2) = 9.2 (the long side's exit), above the
    #    previous 3 lows (8): no new short, and while short a lower low is no exit: nothing.
    # 7: 9.3 above the previous 2 highs max(9.2, 8.9) = 9.2: the short's exit, FLAT (but not
    #    above the previous 3 highs max(9.4, 9.2, 8.9) = 9.4: no long breakout).
    closes = [10, 10, 10, 8, 9.4, 9.2, 8.9, 9.3]
    signals = signals_over(strategy, closes)
    assert [target(s) for s in signals] == [None] * 3 + [Target.SHORT, None, None, None, Target.FLAT]
    assert signals[7].values["exit_high"] == 9.2
    # Long only, the same 8.9 is the long side's exit (harmless when nothing is held).
    assert DonchianBreakout(entry_period=3, exit_period=2).on_bar(window_of(closes[:7])).target is Target.FLAT


# --- what every built-in shares -----------------------------------------------------------

DEFAULTS = [cls() for cls in BUILT_IN.values()]
NAMES = {cls: name for name, cls in BUILT_IN.items()}


@pytest.mark.parametrize("strategy", DEFAULTS, ids=lambda s: s.name)
def test_declared_defaults_are_the_field_defaults(strategy):
    fields = attrs.fields_dict(type(strategy))
    for param in type(strategy).params:
        assert fields[param.name].default == param.default, param.name
    assert strategy.name in BUILT_IN and BUILT_IN[strategy.name] is type(strategy)
    assert describe_strategy(strategy.name).startswith(f"{strategy.name}: ")


@pytest.mark.parametrize(
    ("factory", "arguments", "param"),
    [
        (MovingAverageCrossover, {"fast": 0}, "fast"),
        (MovingAverageCrossover, {"fast": 5, "slow": 5}, "slow"),
        (RsiMeanReversion, {"period": 1}, "period"),
        (RsiMeanReversion, {"oversold": 40, "exit_level": 35}, "exit_level"),
        (RsiMeanReversion, {"trend_period": 1}, "trend_period"),
        (BollingerBounce, {"k": 0.1}, "k"),
        (BollingerBounce, {"exit_at": "lower"}, "exit_at"),
        (DonchianBreakout, {"confirm": "rsi"}, "confirm"),
        (DonchianBreakout, {"allow_short": 1}, "allow_short"),
        (DonchianBreakout, {"entry_period": 2.5}, "entry_period"),
    ],
)
def test_bad_params_raise_naming_the_param(factory, arguments, param):
    with pytest.raises(ParamError) as error:
        factory(**arguments)
    assert error.value.param == param and param in str(error.value)
    with pytest.raises(ConfigurationError, match=rf"^bots\[1\]\.params\.{param}: "):
        build_strategy(NAMES[factory], params=arguments, where="bots[1]")


def test_built_directly_a_whole_float_becomes_an_int():
    assert type(RsiMeanReversion(period=5.0).period) is int
    assert type(BollingerBounce(k=2).k) is float


def test_build_strategy_binds_declared_params():
    built = build_strategy("donchian_breakout", params={"entry_period": 55, "confirm": "volume"}, where="bots[0]")
    assert built == DonchianBreakout(entry_period=55, confirm="volume")
    with pytest.raises(ConfigurationError, match=r"bots\[0\]\.params\.entry: .*unknown parameter 'entry'; known: "
                                                 r"entry_period, exit_period"):
        build_strategy("donchian_breakout", params={"entry": 55}, where="bots[0]")


def test_a_user_class_without_declared_params_still_gets_them_as_given(tmp_path):
    path = tmp_path / "plain.py"
    path.write_text("class Plain:\n    name = 'plain'\n    warmup = 1\n    params = {'not': 'a declaration'}\n"
                    "    def __init__(self, **kw):\n        self.kw = kw\n    def on_bar(self, window):\n        return None\n")
    assert build_strategy(f"{path}:Plain", params={"anything": 1}, where="bots[0]").kw == {"anything": 1}


@pytest.mark.parametrize("strategy", DEFAULTS, ids=lambda s: s.name)
def test_warm_up_returns_none(strategy):
    closes = [100 - (i % 7) * 3 + i * 0.1 for i in range(strategy.warmup - 1)]
    assert all(s is None for s in signals_over(strategy, closes))


WALKS = st.lists(st.floats(min_value=-0.05, max_value=0.05), min_size=1, max_size=150)


@pytest.mark.parametrize("strategy", [
    *DEFAULTS,
    RsiMeanReversion(period=3, trend_period=20),
    BollingerBounce(period=5, exit_at="upper", k_exit=0.5),
    DonchianBreakout(entry_period=5, exit_period=3, confirm="both", volume_period=5, adx_period=3, allow_short=True),
], ids=lambda s: s.name)
@settings(max_examples=30, deadline=None)
@given(returns=WALKS, volumes=st.lists(st.integers(0, 5000), min_size=150, max_size=150))
def test_any_price_path_gives_a_signal_or_none_and_its_figures_are_labelled(strategy, returns, volumes):
    closes, price = [], 100.0
    for r in returns:
        price = round(price * (1 + r), 4) or 0.0001
        closes.append(max(price, 0.0001))
    highs = [c * 1.01 for c in closes]
    lows = [c * 0.99 for c in closes]
    window = window_of(closes, highs=highs, lows=lows, volumes=volumes[: len(closes)], capacity=strategy.warmup + 50)
    signal = strategy.on_bar(window)
    if len(closes) < strategy.warmup:
        assert signal is None
    if signal is not None:
        assert signal.bar_ts == window.last.ts and signal.reason
        assert set(signal.values) <= set(strategy.indicators()) | {"stop"}
