"""`quantshift backtest` as a user runs it: a paper replay and a backtest of the same bars
make the same fills; the fast and event engines agree; Parquet and CSV give the same run;
bad input names the file and row; --report writes the HTML report and the trade list."""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

START = datetime(2025, 3, 3, 14, 30, tzinfo=timezone.utc)


def write_bars(path: Path, n: int, *, step=timedelta(minutes=15), wave=25.0) -> Path:
    lines = ["timestamp,open,high,low,close,volume\n"]
    price = 100.0
    for i in range(n):
        close = 100 + 8 * math.sin(i / wave) + 3 * math.sin(i / 7.0)
        open_, price = price, close
        lines.append(f"{(START + i * step).isoformat()},{open_:.2f},{max(open_, close) + 0.3:.2f},"
                     f"{min(open_, close) - 0.3:.2f},{close:.2f},{5000 + (i * 37) % 3000}\n")
    path.write_text("".join(lines))
    return path


CONFIG = """
[engine]
market_fill = "next_open"
slippage_bps = 1
max_volume_share = 0.1
equity_commission_per_share = 0.005
equity_commission_minimum = 1.0

[[bots]]
name = "spy"
asset_class = "equity"
symbols = ["SPY"]
capital = 50000
params = { fast = 5, slow = 20 }
position_fraction = 0.5
"""


def test_a_backtest_and_a_paper_replay_of_the_same_bars_make_the_same_fills(cli):
    data = write_bars(cli.tmp / "spy.csv", 600)
    config = cli.config(CONFIG)
    cli.json("paper", "--config", str(config), "--data", f"SPY={data}")
    replay = [(ts, side, Decimal(q), Decimal(p), Decimal(c)) for ts, side, q, p, c in cli.query(
        "SELECT f.ts, f.side, f.quantity, f.price, f.commission FROM fills f ORDER BY f.ts, f.fill_id")]
    report = cli.tmp / "report"
    result = cli.json("backtest", "--config", str(config), "--data", f"SPY={data}", "--risk", "on", "--commission", "per-share",
                      "--slippage", "1", "--max-volume-share", "0.1", "--report", str(report))
    assert result["engine"] == "event"  # configured bots with risk on: the paper-trading engine
    with (report / "fills.csv").open() as handle:
        backtest = [(row["ts"], row["side"], Decimal(row["quantity"]), Decimal(row["price"]), Decimal(row["fee"]))
                    for row in csv.DictReader(handle)]
    assert len(replay) >= 6 and result["fills"] == len(replay)
    for a, b in zip(replay, backtest):
        assert datetime.fromisoformat(a[0]) == datetime.fromisoformat(b[0]) and a[1:] == b[1:]
    assert (report / "report.html").stat().st_size > 1000 and (report / "trades.csv").exists()


def test_fast_and_event_engines_agree_through_the_cli_and_parquet_equals_csv(cli):
    pyarrow = pytest.importorskip("pyarrow")
    from pyarrow import csv as pa_csv, parquet

    data = write_bars(cli.tmp / "abc.csv", 1500, step=timedelta(minutes=1), wave=40.0)
    parquet.write_table(pa_csv.read_csv(data), cli.tmp / "abc.parquet")
    args = ["backtest", "--strategy", "ma_crossover", "--param", "fast=5", "--param", "slow=20", "--risk", "off",
            "--commission", "bps:5", "--slippage", "2"]
    fast = cli.json(*args, "--data", str(data), "--engine", "fast")
    event = cli.json(*args, "--data", str(data), "--engine", "event")
    from_parquet = cli.json(*args, "--data", str(cli.tmp / "abc.parquet"))
    assert fast["engine"] == "fast" and event["engine"] == "event" and pyarrow
    for key in ("bars", "orders", "fills", "round_trips", "open_positions"):
        assert fast[key] == event[key] == from_parquet[key], key
    assert abs(Decimal(fast["final_equity"]) - Decimal(event["final_equity"])) < Decimal("0.01")
    assert fast["final_equity"] == from_parquet["final_equity"]
    assert {"sharpe", "sortino", "calmar", "max_drawdown", "win_rate", "profit_factor"} <= set(fast["metrics"])
    assert [t["name"] for t in fast["targets"]] == ["sharpe", "max_drawdown", "win_rate", "profit_factor", "annual_return"]


def test_bad_input_names_what_is_wrong_and_where(cli):
    data = write_bars(cli.tmp / "bad.csv", 50, step=timedelta(minutes=1))
    lines = data.read_text().splitlines(keepends=True)
    lines[31] = lines[31].replace(",", ",-", 1)  # a negative open on line 32
    data.write_text("".join(lines))
    result = cli.run("backtest", "--data", str(data), "--strategy", "ma_crossover", check=False)
    assert result.returncode == 2 and "bad.csv line 32: open must be positive" in result.stderr
    good = write_bars(cli.tmp / "good.csv", 50, step=timedelta(minutes=1))
    for args, message in [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "ma_crossover", "--param", "fast=0"], "fast"),
        (["--strategy", "ma_crossover", "--commission", "per-share:x"], "--commission"),
        (["--strategy", "ma_crossover", "--fill", "tomorrow"], "--fill"),
        (["--strategy", "ma_crossover", "--sizing", "kelly:x"], "'x' after ':' is not a number"),
        (["--strategy", "rsi_mean_reversion", "--engine", "fast", "--risk", "off"], "no vectorised targets"),
    ]:
        result = cli.invoke("backtest", "--data", str(good), *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)


def test_synthetic_history_feeds_a_multi_symbol_backtest_and_impact_costs_money(cli):
    out = cli.tmp / "syn"
    printed = cli.run("data", "synthetic", "--symbols", "SPY,BTC-USD", "--days", "5", "--seed", "3", "--out", str(out))
    assert "SPY.csv: 130 bars" in printed.stdout and (out / "BTC-USD.csv").exists()
    again = cli.tmp / "again"
    cli.run("data", "synthetic", "--symbols", "SPY,BTC-USD", "--days", "5", "--seed", "3", "--out", str(again))
    assert (out / "SPY.csv").read_text() == (again / "SPY.csv").read_text()  # seeded
    args = ["backtest", "--data", str(out / "SPY.csv"), "--data", str(out / "BTC-USD.csv"), "--strategy",
            "ma_crossover", "--param", "fast=3", "--param", "slow=12", "--sizing", "fixed-fraction:0.3"]
    plain = cli.json(*args)
    costly = cli.json(*args, "--impact", "0.5")
    assert plain["engine"] == costly["engine"] == "event" and plain["bars"] == 790  # two symbols, merged on time
    assert plain["fills"] == costly["fills"] > 0
    assert Decimal(costly["final_equity"]) < Decimal(plain["final_equity"])
    for sizing in ("volatility:0.02", "kelly:0.5"):
        sized = cli.json("backtest", "--data", str(out / "SPY.csv"), "--strategy", "ma_crossover", "--param", "fast=3",
                         "--param", "slow=12", "--sizing", sizing)
        assert sized["engine"] == "event" and sized["fills"] > 0, sizing
    bad = cli.run("data", "synthetic", "--symbols", "SPY", "--timeframe", "7x", check=False)
    assert bad.returncode == 2 and "--timeframe" in bad.stderr
