"""A 100-set parameter sweep of the SMA crossover: ours against vectorbt's broadcast sweep.

fast 5..14 x slow 20..65 step 5, the ../shared/bench rules (next-open fills, all cash in
whole shares, 100,000 cash, no fees), 1,000,000 bars. Each variant of ours runs in its own
subprocess so its peak RSS (getrusage ru_maxrss, data loading included) is its own; like the
peer it is timed on the second call (the first compiles or loads numba's cache).

    .venv/bin/python benchmarks/backtest_sweep.py              # ours (1 and 2 threads, 2 processes) + vectorbt
    .venv/bin/python benchmarks/backtest_sweep.py --no-peer
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, when run as a script

FASTS, SLOWS = list(range(5, 15)), list(range(20, 70, 5))
BENCH = Path("/work/shared/bench")


def _half(args):
    """One process's share of a process-pool sweep (the bars come with fork, not pickled)."""
    from adapters.fast_backtest.sweep import sweep_ma_crossover

    fasts, = args
    rows = sweep_ma_crossover(open=_BARS["open"], close=_BARS["close"], fasts=fasts, slows=SLOWS, entry="cross",
                              workers=1)
    return [(r.trades, r.final_equity) for r in rows], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


_BARS: dict = {}


def child(data: Path, mode: str) -> None:
    from adapters.fast_backtest.sweep import sweep_ma_crossover
    from benchmarks.backtest_speed import load

    _BARS.update(load(data))

    def threads(workers: int):
        rows = sweep_ma_crossover(open=_BARS["open"], close=_BARS["close"], fasts=FASTS, slows=SLOWS, entry="cross",
                                  workers=workers)
        return [(r.trades, r.final_equity) for r in rows], 0

    def processes():
        with ProcessPoolExecutor(max_workers=2) as pool:
            parts = list(pool.map(_half, [(FASTS[:5],), (FASTS[5:],)]))
        return [row for part, _ in parts for row in part], sum(rss for _, rss in parts)

    run = {"threads1": lambda: threads(1), "threads2": lambda: threads(2), "processes2": processes}[mode]
    run()
    start = time.perf_counter()
    rows, children_rss = run()
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + children_rss
    print(json.dumps({"mode": mode, "sets": len(rows), "seconds": seconds, "peak_rss_mb": rss / 1024,
                      "trades": sum(t for t, _ in rows), "final_equity_sum": sum(e for _, e in rows)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("QS_PEERS_DIR", "/tmp/qs-peers")))
    parser.add_argument("--child", choices=["threads1", "threads2", "processes2"])
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.data, args.child)
        return
    bars = 1_000_000
    results = []
    for mode in ("threads1", "threads2", "processes2"):
        out = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--child", mode],
                             capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    peer = None
    if not args.no_peer:
        out = subprocess.run(["bash", str(BENCH / "run.sh"), "vectorbt_sweep"], capture_output=True, text=True,
                             check=True).stdout
        peer = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    print("| sweep, 100 sets x 1M bars | seconds | bar-evaluations/s | peak RSS MB | trades (sum) | final equity (sum) |")
    print("|---|---|---|---|---|---|")
    labels = {"threads1": "QuantShift, 1 thread", "threads2": "QuantShift, 2 threads (numba prange)",
              "processes2": "QuantShift, 2 processes (fork, 1 thread each; RSS summed)"}
    for r in results:
        print(f"| {labels[r['mode']]} | {r['seconds']:.2f} | {r['sets'] * bars / r['seconds']:,.0f} "
              f"| {r['peak_rss_mb']:.0f} | {r['trades']} | {r['final_equity_sum']:.4f} |")
    if peer:
        print(f"| {peer['engine']} | {peer['engine_s']:.2f} | {peer['bars_per_s']:,} | {peer['peak_rss_mb']:.0f} "
              f"| {peer['trades']} | {peer['final_equity']:.4f} |")
        best = min(results, key=lambda r: r["seconds"])
        same = all(r["trades"] == peer["trades"] and abs(r["final_equity_sum"] / peer["final_equity"] - 1) <= 1e-6
                   for r in results)
        print(f"\nfastest of ours {peer['engine_s'] / best['seconds']:.1f}x faster than vectorbt, "
              f"{peer['peak_rss_mb'] / best['peak_rss_mb']:.1f}x less memory; trades and equity match: "
              f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
