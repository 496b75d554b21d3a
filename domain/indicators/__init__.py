"""Technical indicators on numpy float arrays (floats are fine here: signals, not money).

Array functions take whole series and return arrays of the same length, NaN where the
indicator is still warming up, so index i always belongs to bar i. Where TA-Lib has the
indicator, the values and the first valid index are TA-Lib's (tests hold them to 1e-9).
Multi-input functions take keywords: `atr(high=h, low=l, close=c, period=14)`.
Inputs are expected finite (the data sanity gate upstream guarantees it).

`domain.indicators.incremental` has the same indicators as classes updated bar by bar.
docs/indicators.md lists every function with its formula, warm-up and TA-Lib equivalent.
"""

from domain.indicators.directional import adx, minus_di, plus_di
from domain.indicators.moving_averages import ema, last_sma, macd, sma, wma
from domain.indicators.oscillators import rsi, stochastic, zscore
from domain.indicators.parabolic_sar import parabolic_sar
from domain.indicators.trend import donchian
from domain.indicators.volatility import atr, bollinger, chandelier, realized_volatility, true_range
from domain.indicators.volume import obv, vwap

__all__ = [
    "adx",
    "atr",
    "bollinger",
    "chandelier",
    "donchian",
    "ema",
    "last_sma",
    "macd",
    "minus_di",
    "obv",
    "parabolic_sar",
    "plus_di",
    "realized_volatility",
    "rsi",
    "sma",
    "stochastic",
    "true_range",
    "vwap",
    "wma",
    "zscore",
]
