"""End-to-end: the paper session, its report, determinism, and bad input at the door."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

REPORT_KEYS = {"orders", "fills", "round_trips", "win_rate", "max_drawdown", "profit_factor", "sharpe",
               "equity_start", "equity_end", "go_live", "criteria"}


def test_paper_session_stores_everything_and_reports(cli):
    report = cli.json("paper", "--days", "30", "--seed", "11")
    assert REPORT_KEYS <= report.keys()
    assert report["account"] == "sim-0001"
    assert report["orders"] > 0 and report["fills"] >= report["orders"] - report["open_positions"] - 2
    names = {c["name"]: c for c in report["criteria"]}
    assert set(names) == {"trading_days", "round_trips", "win_rate", "max_drawdown", "critical_errors"}
    assert names["trading_days"]["value"] == 30 and names["trading_days"]["passed"]
    assert names["round_trips"]["passed"] == (report["round_trips"] >= 10)
    assert report["go_live"] == all(c["passed"] for c in report["criteria"])
    # Everything the report counts is in the store.
    assert cli.query("SELECT count(*) FROM orders WHERE account='sim-0001' AND submitted_at IS NOT NULL")[0][0] == report["orders"]
    assert cli.query("SELECT count(*) FROM fills WHERE account='sim-0001'")[0][0] == report["fills"]
    assert cli.query("SELECT count(*) FROM trades WHERE account='sim-0001'")[0][0] == report["round_trips"]
    assert cli.query("SELECT count(*) FROM heartbeats WHERE account='sim-0001'")[0][0] == 2
    # The sum of fills is the position, bot by bot and symbol by symbol.
    for bot, symbol, quantity in cli.query("SELECT bot, symbol, quantity FROM positions WHERE account='sim-0001'"):
        fills = cli.query("SELECT side, quantity FROM fills WHERE account='sim-0001' AND bot=? AND symbol=?", bot, symbol)
        from decimal import Decimal
        total = sum((Decimal(q) if s == "buy" else -Decimal(q) for s, q in fills), Decimal(0))
        assert total == Decimal(quantity), (bot, symbol)
    assert cli.json("db", "status") == {"database": str(cli.db), "version": 9, "latest": 9, "up_to_date": True}
    assert cli.json("db", "upgrade")["applied"] == []
    fills = cli.json("audit", "--account", "sim-0001", "--kind", "fill", "--limit", "100000")
    assert len(fills) == report["fills"] and all(e["data"]["fill_id"] for e in fills)
    intents = cli.json("audit", "--account", "sim-0001", "--kind", "order", "--limit", "100000")
    approved = [e for e in intents if e["message"].startswith("intent ")]
    assert approved and all({"signal", "sizing", "checks"} <= e["data"].keys() for e in approved)
    status = cli.json("status")
    assert {b["state"] for b in status["bots"]} == {"stopped"}
    assert status["database"].endswith("qs.db")
    trades = cli.json("trades", "--account", "sim-0001")
    assert len(trades) == report["round_trips"]
    positions = cli.json("positions", "--account", "sim-0001")
    assert len(positions) == report["open_positions"]


def test_same_seed_same_results(cli):
    first = cli.json("paper", "--days", "8", "--seed", "5")
    second = cli.json("paper", "--days", "8", "--seed", "5")
    assert (first.pop("account"), second.pop("account")) == ("sim-0001", "sim-0002")
    assert first == second
    third = cli.json("paper", "--days", "8", "--seed", "6")
    third.pop("account")
    assert third != first


def test_human_report_and_help(cli):
    out = cli.run("paper", "--days", "3").stdout
    assert "validation report" in out and ("NO-GO" in out or "GO" in out) and "win rate" in out
    for command in ("paper", "status", "trades", "positions", "halt", "resume"):
        shown = cli.invoke(command, "--help")
        assert shown.returncode == 0 and "Usage" in shown.stdout and "--help" in shown.stdout


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=["SPY"]\ncapital="lots"\n', "bots[0].capital"),
        ('[engine]\ntimeframe="7q"\n', "timeframe"),
        ('[engine]\ncolour="red"\n', "colour"),
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=["SPY"]\nparams={fast=40, slow=30}\n', "bots[0].params"),
        ('[[bots]]\nname="x"\nasset_class="equity"\nsymbols=["SPY"]\nstrategy="nope"\n', "bots[0].strategy"),
        ("[engine\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key_and_records_nothing(cli, config, names):
    cli.json("paper", "--days", "2")
    before = cli.query("SELECT count(*) FROM orders")[0][0]
    result = cli.invoke("paper", "--days", "2", "--config", str(cli.config(config)))
    assert result.returncode == 2
    assert names in result.stderr and "Traceback" not in result.stderr
    assert cli.query("SELECT count(*) FROM orders")[0][0] == before


def test_bad_arguments_and_store_urls(cli, tmp_path):
    assert cli.invoke("paper", "--days", "0").returncode == 2
    assert cli.invoke("paper", "--days", "2", "--start", "yesterday").returncode == 2
    cli.env["QUANTSHIFT_DATABASE_URL"] = "mysql://x"
    result = cli.invoke("status")
    assert result.returncode == 2 and "unknown scheme" in result.stderr
    cli.env["QUANTSHIFT_DATABASE_URL"] = f"sqlite:///{tmp_path}"  # a directory, not a database
    result = cli.run("status", check=False)
    assert result.returncode == 3 and "unavailable" in result.stderr and "Traceback" not in result.stderr


def _csv(path, rows):
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(rows))
    return path


def test_csv_replay_and_a_bad_row_names_file_and_line(cli):
    from datetime import datetime, timedelta, timezone

    start = datetime(2025, 3, 3, tzinfo=timezone.utc)
    rows = []
    for i in range(3 * 96):  # three days of 15-minute bars, a slow wave so the crossover trades
        import math

        price = 100 + 10 * math.sin(i / 20)
        rows.append(f"{(start + timedelta(minutes=15 * i)).isoformat()},{price:.2f},{price + 0.5:.2f},"
                    f"{price - 0.5:.2f},{price:.2f},1000\n")
    good = _csv(cli.tmp / "btc.csv", rows)
    config = cli.config('[[bots]]\nname="btc"\nasset_class="crypto"\nsymbols=["BTC-USD"]\nparams={fast=5, slow=20, entry="level"}\n')
    report = cli.json("paper", "--config", str(config), "--data", f"BTC-USD={good}")
    assert report["trading_days"] == 3 and report["round_trips"] >= 2

    bad = _csv(cli.tmp / "bad.csv", rows[:40] + ["2025-03-03T10:00:00+00:00,101,99,100,100,5\n"] + rows[40:])
    recorded = cli.query("SELECT count(*) FROM orders")[0][0]
    result = cli.run("paper", "--config", str(config), "--data", f"BTC-USD={bad}", check=False)
    assert result.returncode == 2
    assert "bad.csv" in result.stderr and "line 42" in result.stderr
    assert cli.query("SELECT count(*) FROM orders")[0][0] >= recorded  # nothing recorded is lost
    assert {b["state"] for b in cli.json("status")["bots"]} == {"stopped"}
    missing = cli.run("paper", "--data", f"BTC-USD={good}", check=False)
    assert missing.returncode == 2 and "no CSV file for AAPL, SPY" in missing.stderr


def test_risk_command_reports_drawdown_from_the_peak_and_the_breaker_state(cli):
    cli.json("paper", "--days", "30")
    rows = cli.json("risk", "--account", "sim-0001")
    assert [r["bot"] for r in rows] == ["equity", "crypto"]
    from decimal import Decimal

    for row in rows:
        peak, equity = Decimal(row["peak"]), Decimal(row["equity"])
        assert peak >= Decimal(row["equity"]) and Decimal(row["drawdown"]) == (peak - equity) / peak
        assert (row["drawdown_warning"], row["drawdown_limit"]) == ("0.10", "0.20")
        # The breaker never lowers the state by itself: a bot below the warning now is REDUCING or worse.
        if Decimal(row["drawdown"]) >= Decimal("0.10"):
            assert row["trading_state"] in ("reducing", "halted")
    tripped = cli.query("SELECT scope, state, actor FROM control WHERE actor = 'risk:drawdown'")
    assert all(scope.startswith("sim-0001/") for scope, _, _ in tripped)
    assert "drawdown" in cli.run("risk", "--account", "sim-0001").stdout
