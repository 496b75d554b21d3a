"""Bad input as a user types it, at every door of the CLI: each is refused with its exit code and a
message naming what and where (the value as written), never a traceback, and nothing recorded is
lost. Arguments and configuration are checked in process (typer's runner, which re-raises any
exception, so a traceback fails the test); what needs a store, a session or a crash runs for real."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.test_backtest_cli import write_bars

pytestmark = pytest.mark.e2e

BOT = '[[bots]]\nname="b"\nasset_class="{asset_class}"\nsymbols={symbols}\n{extra}\n'


def bot(*, asset_class: str = "equity", symbols: str = '["SPY"]', extra: str = "") -> str:
    return BOT.format(asset_class=asset_class, symbols=symbols, extra=extra)


def refused(result, *, code: int, says: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


def recent_bars(path: Path, *, n: int, future: int = 0, step=timedelta(minutes=15)) -> Path:
    """n bars ending now, then `future` more that have not happened yet."""
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - n * step
    rows = ["timestamp,open,high,low,close,volume\n"]
    for i in range(n + future):
        price = 100 + (i % 9)
        rows.append(f"{(start + i * step).isoformat()},{price},{price + 1},{price - 1},{price},1000\n")
    path.write_text("".join(rows))
    return path


# --- 14: what raised tracebacks ---------------------------------------------------------------

def test_an_absurd_capital_is_refused_at_load_and_a_huge_one_trades_without_crashing(cli):
    result = cli.invoke("paper", "--days", "2", "--config", str(cli.config(bot(extra="capital = 1e300"))))
    refused(result, code=2, says="bots[0].capital: 1E+300 is out of range")
    assert not cli.db.exists()  # refused before anything was recorded
    # The largest capital allowed sizes orders exactly (1e300 raised decimal.InvalidOperation in
    # round_to_increment, and the session died looking "stale" forever): a real process, to the end.
    config = cli.config(bot(asset_class="crypto", symbols='["BTC-USD"]',
                            extra='capital = 1e12\nposition_fraction = 0.5\nparams = { fast = 3, slow = 8 }'))
    report = json.loads(cli.run("paper", "--days", "3", "--config", str(config), "--json").stdout)
    assert report["orders"] + report["orders_denied"] > 0
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}


def test_backtest_report_paths_are_checked_before_the_run_and_never_overwritten_without_force(cli):
    data = write_bars(cli.tmp / "spy.csv", 120)
    args = ["backtest", "--data", str(data), "--strategy", "ma_crossover", "--param", "fast=3", "--param", "slow=9"]
    a_file = cli.tmp / "notes.txt"
    a_file.write_text("mine")
    refused(cli.invoke(*args, "--report", str(a_file)), code=2, says=f"--report {a_file}: is a file, not a directory")
    assert a_file.read_text() == "mine"
    refused(cli.invoke(*args, "--report", "/proc/nope"), code=2, says="--report /proc/nope: cannot write there")
    report = cli.tmp / "report"
    first = cli.invoke(*args, "--report", str(report), "--json")
    assert first.returncode == 0 and (report / "report.html").exists()
    written = (report / "trades.csv").read_text()
    (report / "trades.csv").write_text("edited")
    refused(cli.invoke(*args, "--report", str(report)), code=2,
            says="already holds report.html, trades.csv, fills.csv; not overwriting it (add --force")
    assert (report / "trades.csv").read_text() == "edited"
    assert cli.invoke(*args, "--report", str(report), "--force").returncode == 0
    assert (report / "trades.csv").read_text() == written


def test_a_report_that_cannot_be_written_after_the_run_still_prints_the_results(cli):
    data = write_bars(cli.tmp / "spy.csv", 120)
    report = cli.tmp / "report"
    (report / "report.html").mkdir(parents=True)  # passes the check with --force, fails the write
    result = cli.invoke("backtest", "--data", str(data), "--strategy", "ma_crossover", "--param", "fast=3",
                        "--param", "slow=9", "--report", str(report), "--force", "--json")
    refused(result, code=4, says="the report was not written")
    assert json.loads(result.stdout)["bars"] == 120  # the figures were printed first


def test_data_synthetic_writes_only_symbols_inside_out_and_overwrites_only_with_force(cli):
    out = cli.tmp / "data" / "bars"
    a_file = cli.tmp / "SPY.csv"
    a_file.write_text("mine")
    refused(cli.invoke("data", "synthetic", "--symbols", "SPY", "--days", "1", "--out", str(a_file)), code=2,
            says="is a file, not a directory")
    assert a_file.read_text() == "mine"
    for symbols, says in [("../../etc/x", "'../../etc/x' is not a symbol"), ("SPY,a/b", "'a/b' is not a symbol"),
                          ("spy; drop table", "'spy; drop table' is not a symbol"),
                          ("spy", "'spy' is not a symbol")]:
        refused(cli.invoke("data", "synthetic", "--symbols", symbols, "--days", "1", "--out", str(out)), code=2,
                says=f"--symbols: {says}")
    assert not out.exists() and not (cli.tmp / "etc").exists()
    made = cli.invoke("data", "synthetic", "--symbols", "SPY,BRK.B,BTC-USD", "--days", "1", "--out", str(out))
    assert made.returncode == 0 and sorted(p.name for p in out.iterdir()) == ["BRK.B.csv", "BTC-USD.csv", "SPY.csv"]
    (out / "SPY.csv").write_text("edited")
    refused(cli.invoke("data", "synthetic", "--symbols", "SPY", "--days", "1", "--out", str(out)), code=2,
            says="already holds SPY.csv; not overwriting it")
    assert (out / "SPY.csv").read_text() == "edited"
    assert cli.invoke("data", "synthetic", "--symbols", "SPY", "--days", "1", "--out", str(out), "--force").returncode == 0
    assert (out / "SPY.csv").read_text().startswith("timestamp,open")
    assert not list(out.glob("*.partial"))


def test_backtest_symbols_are_symbols_of_their_asset_class(cli):
    data = write_bars(cli.tmp / "bars.csv", 60)
    btc = write_bars(cli.tmp / "BTC-USD.csv", 60)
    write_bars(cli.tmp / "my bars.csv", 60)
    for item, extra, says in [
        (f"SPY;X={data}", [], "'SPY;X' is not a symbol"),
        (str(cli.tmp / "my bars.csv"), [], "'MY BARS' is not a symbol"),
        (str(btc), ["--asset-class", "equity"], "'BTC-USD' is a crypto pair, not an equity symbol with --asset-class equity"),
        (f"SPY={data}", ["--asset-class", "crypto"], "'SPY' is an equity symbol, not a crypto pair"),
    ]:
        refused(cli.invoke("backtest", "--data", item, "--strategy", "ma_crossover", *extra), code=2, says=says)


# --- 16: what was silently accepted, and misleading messages -----------------------------------

@pytest.mark.parametrize(("text", "says"), [("", "is empty: declare at least one bot"),
                                            ("[risk]\nmax_heat = 0.2\n", "has no [[bots]] table")])
def test_a_config_without_bots_is_refused_naming_the_file(cli, text, says):
    config = cli.config(text)
    refused(cli.invoke("paper", "--days", "2", "--config", str(config)), code=2, says=f"config file {config} {says}")
    assert not cli.db.exists()  # the built-in bots did not run
    data = write_bars(cli.tmp / "spy.csv", 60)
    refused(cli.invoke("backtest", "--data", str(data), "--config", str(config)), code=2, says=says)
    # With --strategy the bots come from the command line: the file's [risk] applies.
    assert cli.invoke("backtest", "--data", str(data), "--strategy", "ma_crossover", "--config", str(config),
                      "--json").returncode == 0


@pytest.mark.parametrize(("symbols", "asset_class", "says"), [
    ('["spy; drop table"]', "equity", "bots[0].symbols[0]: 'spy; drop table' is not a symbol"),
    ('["SPY", "BTC-USD"]', "equity", "bots[0].symbols[1]: 'BTC-USD' is a crypto pair, not an equity symbol"),
    ('["ETH-USD", "AAPL"]', "crypto", "bots[0].symbols[1]: 'AAPL' is an equity symbol, not a crypto pair"),
])
def test_config_symbols_must_be_symbols_of_the_bots_asset_class(cli, symbols, asset_class, says):
    config = cli.config(bot(asset_class=asset_class, symbols=symbols))
    refused(cli.invoke("paper", "--days", "2", "--config", str(config)), code=2, says=says)
    assert not cli.db.exists()


def test_future_bars_are_refused_in_backtests_with_their_time_and_line(cli):
    data = recent_bars(cli.tmp / "spy.csv", n=40, future=3)
    result = cli.invoke("backtest", "--data", str(data), "--strategy", "ma_crossover")
    message = refused(result, code=2, says=f"{data} line 42: bar at ")
    assert "in the future (now " in message and "(and 2 more rows)" in message
    fine = recent_bars(cli.tmp / "past.csv", n=40)
    assert cli.invoke("backtest", "--data", f"SPY={fine}", "--strategy", "ma_crossover", "--json").returncode == 0


def test_future_bars_are_refused_in_paper_replays_and_what_was_recorded_stays(cli):
    config = cli.config(bot(asset_class="crypto", symbols='["BTC-USD"]', extra="params = { fast = 3, slow = 8 }"))
    data = recent_bars(cli.tmp / "btc.csv", n=60, future=2)
    result = cli.run("paper", "--config", str(config), "--data", f"BTC-USD={data}", check=False)
    message = refused(result, code=2, says=f"{data} line 62: bar at ")
    assert "in the future" in message
    assert cli.query("SELECT count(*) FROM orders")[0][0] > 0  # the bars before it were traded and kept
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}


def test_read_commands_never_create_a_store_at_a_mistyped_path(cli):
    missing = cli.tmp / "typo" / "qs.db"
    cli.env["QUANTSHIFT_DATABASE_URL"] = f"sqlite:///{missing}"
    for command in (["status"], ["trades"], ["positions"], ["audit"], ["risk"], ["strategies"], ["reconcile"],
                    ["db", "status"], ["status", "--json"]):
        refused(cli.invoke(*command), code=3, says=f"there is no store at {missing}")
    refused(cli.run("status", check=False), code=3, says=f"there is no store at {missing}")  # a real process too
    assert not missing.parent.exists() and not (cli.tmp / "venue").exists()
    # Commands that record make it, as before; then the reads read it.
    assert cli.invoke("db", "upgrade").returncode == 0 and missing.exists()
    assert cli.invoke("status").returncode == 0


def test_messages_name_the_column_key_and_line_with_the_value_as_written(cli):
    data = write_bars(cli.tmp / "spy.csv", 30)
    lines = data.read_text().splitlines(keepends=True)
    cells = lines[9].split(",")
    cells[1] = "NaN"
    lines[9] = ",".join(cells)
    data.write_text("".join(lines))
    refused(cli.invoke("backtest", "--data", str(data), "--strategy", "ma_crossover"), code=2,
            says=f"{data} line 10: open is not a finite number: 'NaN'")
    refused(cli.invoke("backtest", "--data", str(cli.tmp), "--strategy", "ma_crossover"), code=2,
            says=f"{cli.tmp}: is a directory, not a file")
    refused(cli.invoke("paper", "--config", str(cli.config(bot())), "--data", f"SPY={cli.tmp}"), code=2,
            says=f"{cli.tmp}: is a directory, not a file")
    config = cli.config(bot(asset_class="stock"))
    stderr = refused(cli.invoke("paper", "--days", "2", "--config", str(config)), code=2,
                     says="bots[0].asset_class: 'stock' is not one of 'equity', 'crypto'")
    assert "typing" not in stderr and "Literal" not in stderr
    stderr = refused(cli.invoke("paper", "--days", "2", "--config", str(cli.config(bot() + "[engine]\ncrypto_taker_bps = -3\n"))),
                     code=2, says="crypto_taker_bps must be >= 0, got -3")
    good = write_bars(cli.tmp / "good.csv", 30)
    for commission, says in [("bps:-3", "bps -3 must be a number >= 0"), ("maker-taker:1:-3", "taker -3 must be")]:
        stderr = refused(cli.invoke("backtest", "--data", f"SPY={good}", "--strategy", "ma_crossover", "--commission",
                                    commission), code=2, says=says)
        assert "Decimal(" not in stderr


def test_symbol_options_of_reads_and_downloads_are_checked_before_anything_runs(cli):
    cli.invoke("db", "upgrade")
    for command in (["trades"], ["audit"]):
        refused(cli.invoke(*command, "--symbol", "x';--"), code=2, says="--symbol: \"x';--\" is not a symbol")
    window = ["--start", "2025-01-02", "--end", "2025-01-09"]
    refused(cli.invoke("data", "download", "--source", "alpaca", "--symbols", "SPY,BTC-USD", *window), code=2,
            says="--symbols: 'BTC-USD' is a crypto pair, not an equity symbol")
    refused(cli.invoke("data", "download", "--source", "coinbase", "--symbols", "../x", *window), code=2,
            says="--symbols: '../x' is not a symbol")
    a_file = cli.tmp / "out.csv"
    a_file.write_text("mine")
    # Before any venue is asked (no keys are set here): the place to write is checked first.
    refused(cli.invoke("data", "download", "--source", "coinbase", "--symbols", "BTC-USD", *window, "--out",
                       str(a_file)), code=2, says="is a file, not a directory")
    assert a_file.read_text() == "mine"
