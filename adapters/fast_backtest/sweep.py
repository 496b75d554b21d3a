"""Many parameter sets of the moving-average crossover on the same bars, in parallel.

Each distinct SMA is computed once (20 periods serve the 100 sets of fast 5..14 x slow
20..65), each set's targets come from the strategy's own `crossover_targets` (so a sweep row
is exactly what one `run_strategy` gives), and the kernel runs the sets in parallel
threads (numba prange: the compiled loop holds no GIL), keeping only the totals. Threads
rather than processes: the bars and the SMA lines are shared, not copied per worker. Memory:
one int8 target row per set (1 MB per set per million bars) plus one float64 line per
distinct period, instead of vectorbt's bars x sets float64 frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs
import numba
import numpy as np

from adapters.fast_backtest import kernel
from adapters.fast_backtest.engine import FastBacktestConfig, checked_prices
from domain.indicators import sma
from domain.strategies.ma_crossover import MovingAverageCrossover, crossover_targets


@attrs.frozen(kw_only=True)
class SweepRow:
    fast: int
    slow: int
    trades: int  # positions opened, an open one at the end included
    final_equity: float
    max_drawdown: float  # the largest fall from a peak, as a fraction of that peak
    total_return: float  # final_equity / cash - 1


def sweep_ma_crossover(*, open: np.ndarray, close: np.ndarray,  # noqa: A002
                       fasts: Sequence[int], slows: Sequence[int],
                       entry: str, config: FastBacktestConfig = FastBacktestConfig(),
                       workers: int | None = None) -> list[SweepRow]:
    """Every (fast, slow) with fast < slow, in fasts-major order. `workers` threads (default:
    numba's, one per core)."""
    close = checked_prices("close", close, None)
    open_ = checked_prices("open", open, len(close))
    pairs = [(f, s) for f in fasts for s in slows if s > f]
    for fast, slow in pairs:  # the strategy's own parameter checks
        MovingAverageCrossover(fast=fast, slow=slow, entry=entry, allow_short=config.allow_short)
    threads = numba.get_num_threads()
    workers = min(workers or threads, numba.config.NUMBA_NUM_THREADS)
    periods = sorted({p for pair in pairs for p in pair})
    targets = np.empty((len(pairs), len(close)), dtype=np.int8)

    def fill_row(row: int) -> None:
        fast, slow = pairs[row]
        targets[row] = crossover_targets(lines[fast], lines[slow], entry=entry, allow_short=config.allow_short)

    # numpy releases the GIL in its array loops, so threads share the preparation too.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        lines = dict(zip(periods, pool.map(lambda period: sma(close, period), periods)))
        list(pool.map(fill_row, range(len(pairs))))
    del lines
    trades = np.zeros(len(pairs), dtype=np.int64)
    final_equity = np.zeros(len(pairs))
    max_drawdown = np.zeros(len(pairs))
    numba.set_num_threads(workers)
    try:
        kernel.simulate_many(open_, close, targets, *config.kernel_args(), trades, final_equity, max_drawdown)
    finally:
        numba.set_num_threads(threads)
    return [
        SweepRow(fast=fast, slow=slow, trades=int(trades[i]), final_equity=float(final_equity[i]),
                 max_drawdown=float(max_drawdown[i]), total_return=float(final_equity[i]) / config.cash - 1.0)
        for i, (fast, slow) in enumerate(pairs)
    ]
