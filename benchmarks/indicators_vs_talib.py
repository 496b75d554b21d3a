"""Our array indicators against TA-Lib (C) on 1,000,000 bars, side by side, same process.

    .venv/bin/python benchmarks/indicators_vs_talib.py [--bars 1000000] [--repeat 3]

Data: the shared peer benchmark's series (../shared/bench/make_data.py: geometric random
walk of one-minute OHLCV bars, seed 42), rebuilt here with numpy only. Each function
runs once to warm up, then best of --repeat by time.perf_counter. Both sides run on one
thread: OpenBLAS (which our recurrences use for small matrix products) is held to one
thread unless OPENBLAS_NUM_THREADS is already set, as TA-Lib is single-threaded.
The last column is the largest difference between the two outputs, as a sanity check.
A second table gives the bar-by-bar classes' cost per update (for live trading).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import talib  # noqa: E402

from domain import indicators as ind  # noqa: E402
from domain.indicators import incremental as inc  # noqa: E402


def make_bars(n: int) -> dict[str, np.ndarray]:
    """make_data.py's recipe (same seed, same draws, same rounding), without pandas."""
    rng = np.random.default_rng(42)
    sigma = 0.0005
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    prev_close = np.concatenate(([100.0], close[:-1]))
    open_ = np.round(prev_close * np.exp(rng.normal(0.0, sigma * 0.2, n)), 8)
    wick_hi = np.abs(rng.normal(0.0, sigma * 0.7, n))
    wick_lo = np.abs(rng.normal(0.0, sigma * 0.7, n))
    close = np.round(close, 8)
    high = np.maximum.reduce([np.round(np.maximum(open_, close) * (1 + wick_hi), 8), open_, close])
    low = np.minimum.reduce([np.round(np.minimum(open_, close) * (1 - wick_lo), 8), open_, close])
    volume = rng.integers(100, 50_000, n).astype(np.float64)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: first-touch page faults and lazy imports are not the indicator's cost
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def max_difference(ours: object, theirs: object) -> float:
    a = np.atleast_2d(np.asarray(ours, dtype=float))
    b = np.atleast_2d(np.asarray(theirs, dtype=float))
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    return float(np.nanmax(np.abs(a - b), initial=0.0))


def cases(b: dict[str, np.ndarray]) -> list[tuple[str, Callable[[], object], Callable[[], object] | None]]:
    h, lo, c, v = b["high"], b["low"], b["close"], b["volume"]
    bars = {"high": h, "low": lo, "close": c}
    return [
        ("SMA(20)", lambda: ind.sma(c, 20), lambda: talib.SMA(c, 20)),
        ("SMA(200)", lambda: ind.sma(c, 200), lambda: talib.SMA(c, 200)),
        ("EMA(20)", lambda: ind.ema(c, 20), lambda: talib.EMA(c, 20)),
        ("WMA(20)", lambda: ind.wma(c, 20), lambda: talib.WMA(c, 20)),
        ("RSI(14)", lambda: ind.rsi(c, 14), lambda: talib.RSI(c, 14)),
        ("TRANGE", lambda: ind.true_range(**bars), lambda: talib.TRANGE(h, lo, c)),
        ("ATR(14)", lambda: ind.atr(**bars, period=14), lambda: talib.ATR(h, lo, c, 14)),
        ("BBANDS(20, 2)", lambda: ind.bollinger(c, period=20, k=2.0),
         lambda: (lambda u, m, d: (m, u, d))(*talib.BBANDS(c, 20, 2.0, 2.0, 0))),
        ("MACD(12, 26, 9)", lambda: ind.macd(c), lambda: talib.MACD(c, 12, 26, 9)),
        ("SAR(0.02, 0.2)", lambda: ind.parabolic_sar(high=h, low=lo), lambda: talib.SAR(h, lo, 0.02, 0.2)),
        ("ADX(14)", lambda: ind.adx(**bars, period=14), lambda: talib.ADX(h, lo, c, 14)),
        ("PLUS_DI(14)", lambda: ind.plus_di(**bars, period=14), lambda: talib.PLUS_DI(h, lo, c, 14)),
        ("MINUS_DI(14)", lambda: ind.minus_di(**bars, period=14), lambda: talib.MINUS_DI(h, lo, c, 14)),
        ("STOCH(14, 3, 3)", lambda: ind.stochastic(**bars), lambda: talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)),
        ("OBV", lambda: ind.obv(c, v), lambda: talib.OBV(c, v)),
        ("Donchian(20) vs MAX+MIN", lambda: ind.donchian(high=h, low=lo, period=20)[::2],
         lambda: (talib.MAX(h, 20), talib.MIN(lo, 20))),
        ("VWAP (cumulative)", lambda: ind.vwap(**bars, volume=v), None),
        ("VWAP(390)", lambda: ind.vwap(**bars, volume=v, period=390), None),
        ("zscore(20)", lambda: ind.zscore(c, 20), None),
        ("realized_volatility(20)", lambda: ind.realized_volatility(c, period=20), None),
        ("chandelier(22, 3)", lambda: ind.chandelier(**bars), None),
    ]  # fmt: skip


def incremental_cases(b: dict[str, np.ndarray], n: int) -> list[tuple[str, Callable[[], None]]]:
    h, lo, c, v = (b[name][:n].tolist() for name in ("high", "low", "close", "volume"))

    def closes(make):
        def run():
            update = make().update
            for x in c:
                update(x)
        return run

    def bars(make, *, with_close=True, with_volume=False):
        def run():
            update = make().update
            for i in range(n):
                if with_volume:
                    update(high=h[i], low=lo[i], close=c[i], volume=v[i])
                elif with_close:
                    update(high=h[i], low=lo[i], close=c[i])
                else:
                    update(high=h[i], low=lo[i])
        return run

    def obv():
        update = inc.OBV().update
        for i in range(n):
            update(close=c[i], volume=v[i])

    return [
        ("SMA(20)", closes(lambda: inc.SMA(20))), ("EMA(20)", closes(lambda: inc.EMA(20))),
        ("WMA(20)", closes(lambda: inc.WMA(20))), ("RSI(14)", closes(lambda: inc.RSI(14))),
        ("Bollinger(20)", closes(lambda: inc.Bollinger())), ("MACD", closes(lambda: inc.MACD())),
        ("ZScore(20)", closes(lambda: inc.ZScore(20))),
        ("RealizedVolatility(20)", closes(lambda: inc.RealizedVolatility(period=20))),
        ("ATR(14)", bars(lambda: inc.ATR(14))), ("Chandelier(22)", bars(lambda: inc.Chandelier())),
        ("ADX(14)", bars(lambda: inc.ADX(14))), ("Stochastic", bars(lambda: inc.Stochastic())),
        ("Donchian(20)", bars(lambda: inc.Donchian(20), with_close=False)),
        ("ParabolicSAR", bars(lambda: inc.ParabolicSAR(), with_close=False)),
        ("OBV", obv), ("VWAP(390)", bars(lambda: inc.VWAP(390), with_volume=True)),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--incremental-bars", type=int, default=100_000)
    args = parser.parse_args()
    data = make_bars(args.bars)
    print(f"{args.bars:,} bars, best of {args.repeat}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"numpy {np.__version__}, TA-Lib {talib.__version__} (C {talib.__ta_version__.decode().split()[0]})\n")  # fmt: skip
    print("| indicator | ours ms | TA-Lib ms | ratio | max abs difference |")
    print("|---|---:|---:|---:|---:|")
    for label, ours, theirs in cases(data):
        ours_ms = best_ms(ours, args.repeat)
        if theirs is None:
            print(f"| {label} | {ours_ms:.1f} | - | - | - |")
            continue
        theirs_ms = best_ms(theirs, args.repeat)
        difference = max_difference(ours(), theirs())
        print(f"| {label} | {ours_ms:.1f} | {theirs_ms:.1f} | {ours_ms / theirs_ms:.1f}x | {difference:.1e} |")
    n = min(args.incremental_bars, args.bars)
    print(f"\nBar-by-bar classes, {n:,} updates each, microseconds per update (best of {args.repeat}):\n")
    print("| class | us / update |")
    print("|---|---:|")
    for label, run in incremental_cases(data, n):
        print(f"| {label} | {best_ms(run, args.repeat) * 1e3 / n:.2f} |")


if __name__ == "__main__":
    main()
