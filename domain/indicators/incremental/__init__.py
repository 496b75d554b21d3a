"""Indicators updated one bar at a time, for live trading: O(1) (amortised) per bar.

Each class's `update(...)` returns, for that bar, what the array function of the same
name returns at that index (NaN during warm-up), and `value` repeats the latest result.
Single-input indicators take the value positionally (`SMA(20).update(close)`); bar
indicators take keywords (`ATR(14).update(high=h, low=l, close=c)`).
"""

from domain.indicators.incremental.averages import EMA, MACD, SMA, WMA
from domain.indicators.incremental.oscillators import RSI, Stochastic, ZScore
from domain.indicators.incremental.trend import ADX, Donchian, ParabolicSAR
from domain.indicators.incremental.volatility import ATR, Bollinger, Chandelier, RealizedVolatility
from domain.indicators.incremental.volume import OBV, VWAP

__all__ = [
    "ADX",
    "ATR",
    "Bollinger",
    "Chandelier",
    "Donchian",
    "EMA",
    "MACD",
    "OBV",
    "ParabolicSAR",
    "RSI",
    "RealizedVolatility",
    "SMA",
    "Stochastic",
    "VWAP",
    "WMA",
    "ZScore",
]
