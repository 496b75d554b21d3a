"""Throughput of an accelerated paper session, end to end through the CLI.

Same data and strategy as ../shared/bench (the peer engines): the seed-42 geometric random
walk of 1-minute bars, long-only SMA 10/30 crossover, 100,000 starting cash. Unlike the
peers' backtests, every order, fill, position and audit entry goes through the risk engine
and is committed to SQLite (synchronous=FULL) as in paper trading.

    .venv/bin/python benchmarks/paper_throughput.py --bars 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_peer_series(path: Path, bars: int) -> None:
    """../shared/bench/make_data.py's series (same seed, same formulas), first `bars` rows, numpy only."""
    n = 1_000_000
    rng = np.random.default_rng(42)
    sigma = 0.0005
    ret = rng.normal(0.0, sigma, n)
    close = 100.0 * np.exp(np.cumsum(ret))
    prev_close = np.concatenate(([100.0], close[:-1]))
    open_ = np.round(prev_close * np.exp(rng.normal(0.0, sigma * 0.2, n)), 8)
    wick_hi = np.abs(rng.normal(0.0, sigma * 0.7, n))
    wick_lo = np.abs(rng.normal(0.0, sigma * 0.7, n))
    close = np.round(close, 8)
    high = np.maximum.reduce([np.round(np.maximum(open_, close) * (1 + wick_hi), 8), open_, close])
    low = np.minimum.reduce([np.round(np.minimum(open_, close) * (1 - wick_lo), 8), open_, close])
    volume = rng.integers(100, 50_000, n).astype(np.float64)
    start = np.datetime64("2020-01-01T00:00:00")
    with path.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        for i in range(bars):
            ts = str(start + np.timedelta64(i, "m")) + "Z"
            out.write(f"{ts},{open_[i]:.8f},{high[i]:.8f},{low[i]:.8f},{close[i]:.8f},{volume[i]:.8f}\n")


CONFIG = """
[engine]
timeframe = "1m"
max_volume_share = 1
slippage_bps = 0
crypto_maker_bps = 0
crypto_taker_bps = 0

[risk]
max_order_notional = 1000000

[[bots]]
name = "bench"
asset_class = "crypto"
symbols = ["SYN"]
capital = 100000
params = { fast = 10, slow = 30 }
position_fraction = 0.99
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data, config = Path(tmp) / "synth_1m.csv", Path(tmp) / "bench.toml"
        write_peer_series(data, args.bars)
        config.write_text(CONFIG)
        env = {**os.environ, "QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        quantshift = str(Path(sys.executable).with_name("quantshift"))
        started = time.perf_counter()
        result = subprocess.run([quantshift, "paper", "--config", str(config), "--data", f"SYN={data}", "--json"],
                                env=env, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
    report = json.loads(result.stdout)
    print(json.dumps({
        "engine": "quantshift paper (CSV replay, SQLite, full risk and audit)",
        "bars": args.bars, "seconds": round(seconds, 2), "bars_per_second": round(args.bars / seconds),
        "orders": report["orders"], "round_trips": report["round_trips"], "equity_end": report["equity_end"],
    }))


if __name__ == "__main__":
    main()
