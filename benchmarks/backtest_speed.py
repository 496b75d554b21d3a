"""Speed of the compiled backtest kernel against the peer engines, measured in one run.

Same data and strategy as ../shared/bench: the seed-42 random walk of 1,000,000 one-minute
bars, long-only SMA 10/30 crossover on close (MovingAverageCrossover(entry="cross")), fills at
the next open, all cash in whole shares, 100,000 cash, no fees. Ours is timed pinned to one
core after a warm-up call (numba compiles or loads its cache there); the peers run after it
through ../shared/bench/run.sh, unpinned, each timing its own engine only.

    bash /work/shared/bench/setup.sh        # once: the peers' venv in /tmp/qs-peers
    .venv/bin/python benchmarks/backtest_speed.py                     # backtesting vectorbt nautilus
    .venv/bin/python benchmarks/backtest_speed.py --peers ""          # ours only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time
import tracemalloc
from pathlib import Path

import numpy as np

from adapters.fast_backtest import FastBacktestResult, run_strategy, run_targets
from domain.strategies.ma_crossover import MovingAverageCrossover

BENCH = Path("/work/shared/bench")
STRATEGY = MovingAverageCrossover(fast=10, slow=30, entry="cross")


def load(directory: Path) -> dict[str, np.ndarray]:
    """The five columns as float64 arrays: Parquet via pyarrow when installed, else the CSV via numpy."""
    try:
        import pyarrow.parquet as pq  # not a dependency of ours; used when present
    except ImportError:
        pq = None
    if pq is not None:
        # Column by column, one thread: the whole table at once peaks ~130 MB higher.
        parquet = pq.ParquetFile(directory / "synth_1m.parquet", memory_map=True)
        return {name: parquet.read(columns=[name], use_threads=False).column(name).to_numpy().astype(np.float64)
                for name in ("open", "high", "low", "close", "volume")}
    data = np.loadtxt(directory / "synth_1m.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3, 4, 5))
    return {name: np.ascontiguousarray(data[:, i]) for i, name in enumerate(("open", "high", "low", "close", "volume"))}


def timed(function, repeat: int) -> tuple[float, float, object]:
    """(median, best) seconds over `repeat` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def ours(bars: dict[str, np.ndarray], n: int | None = None) -> FastBacktestResult:
    cut = {k: v[:n] for k, v in bars.items()} if n else bars
    return run_strategy(STRATEGY, **cut)


def with_cash_in_cents(bars: dict[str, np.ndarray], n: int) -> tuple[int, float]:
    """The peer rules with cash rounded to cents after every fill, as nautilus-trader keeps a USD
    balance (Money, 2 decimals): (buys, final equity). Plain Python; explains its last digits."""
    open_, close = bars["open"][:n], bars["close"][:n]
    targets = STRATEGY.targets(open_, open_, open_, close, open_)
    cash, position, buys = 100_000.0, 0, 0
    for t in np.flatnonzero(targets[:-1] != 2) + 1:  # the bar each decision fills on
        if targets[t - 1] == 1 and position == 0 and (quantity := int(cash // open_[t])) > 0:
            cash, position, buys = round(cash - quantity * open_[t], 2), quantity, buys + 1
        elif targets[t - 1] == 0 and position > 0:
            cash, position = round(cash + position * open_[t], 2), 0
    return buys, cash + position * float(close[-1])


def run_peers(engines: str) -> list[dict]:
    if not engines.strip():
        return []
    proc = subprocess.run(["bash", str(BENCH / "run.sh"), *engines.split()], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("QS_PEERS_DIR", "/tmp/qs-peers")))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--peers", default="backtesting vectorbt nautilus")
    args = parser.parse_args()

    t = time.perf_counter()
    bars = load(args.data)
    n = len(bars["close"])
    print(f"# loaded {n} bars from {args.data} in {time.perf_counter() - t:.1f}s")

    all_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(all_cpus)})  # one core for ours
    t = time.perf_counter()
    ours(bars)  # warm-up: compile or load numba's cache
    print(f"# warm-up (numba compile or cache load) {time.perf_counter() - t:.2f}s")
    targets_med, targets_best, targets = timed(lambda: STRATEGY.targets(**bars), args.repeat)
    kernel_med, kernel_best, result = timed(
        lambda: run_targets(open=bars["open"], close=bars["close"], targets=targets), args.repeat)
    total_med, total_best, total = timed(lambda: ours(bars), args.repeat)
    os.sched_setaffinity(0, all_cpus)
    assert total.trades == result.trades and total.final_equity == result.final_equity
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()  # numpy reports its buffers to tracemalloc; the kernel allocates none itself
    ours(bars)
    extra = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    inputs = sum(v.nbytes for v in bars.values()) / 2**20

    print(f"\nQuantShift fast kernel, {n} bars, one core, median (best) of {args.repeat}:")
    for label, med, best in (("(a) SMA + targets", targets_med, targets_best),
                             ("(b) kernel: orders, fills, accounting", kernel_med, kernel_best),
                             ("(c) total", total_med, total_best)):
        print(f"  {label:40s} {med * 1e3:8.1f} ms ({best * 1e3:.1f})  {n / med / 1e6:7.1f}M bars/s")
    print(f"  trades {result.trades}, final equity {result.final_equity:.4f}, "
          f"max drawdown {result.max_drawdown:.2%}, peak RSS {rss:.0f} MB")
    print(f"  memory of one run (tracemalloc peak): {extra:.1f} MB on top of the {inputs:.0f} MB of inputs "
          f"({extra / inputs:.2f}x)")

    peers = run_peers(args.peers)
    if not peers:
        return
    print(f"\n| engine | bars | engine s | bars/s | ours (total) faster by | trades | final equity | match |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| QuantShift fast kernel (total) | {n} | {total_med:.4f} | {n / total_med:,.0f} | 1 | {total.trades} "
          f"| {total.final_equity:.4f} | |")
    for peer in peers:
        same = total if peer["bars"] == n else ours(bars, peer["bars"])  # nautilus runs the first 100k bars
        match = same.trades == peer["trades"] and abs(same.final_equity / peer["final_equity"] - 1) <= 1e-6
        ratio = (n / total_med) / peer["bars_per_s"]
        print(f"| {peer['engine']} | {peer['bars']} | {peer['engine_s']:.4f} | {peer['bars_per_s']:,} | {ratio:,.1f}x "
              f"| {peer['trades']} (ours {same.trades}) | {peer['final_equity']:.4f} (ours {same.final_equity:.4f}) "
              f"| {'yes' if match else 'NO'} |")
        if not match and peer["engine"].startswith("nautilus"):
            buys, equity = with_cash_in_cents(bars, peer["bars"])
            print(f"|   same rules, cash rounded to cents per fill | | | | | {buys} | {equity:.4f} "
                  f"| {'yes' if buys == peer['trades'] and abs(equity - peer['final_equity']) < 0.005 else 'NO'} |")


if __name__ == "__main__":
    main()
