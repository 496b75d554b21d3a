"""Risk and accounting as a user meets them (issue 13, points 9 to 11): a backtest with the
risk engine on and the default sizing trades, denials and trading-state changes are said at the
top of every output, and the README's allocation example does not halt a bot that never traded."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def synthetic(cli) -> Path:
    out = cli.tmp / "syn"
    result = cli.invoke("data", "synthetic", "--symbols", "SPY,AAPL", "--days", "60", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def backtest_json(cli, *args: str) -> dict:
    result = cli.invoke("backtest", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_risk_on_with_the_default_all_in_sizing_trades_on_one_and_on_two_symbols(cli, synthetic):
    # Before: every order denied "by correlation", the position correlated with itself.
    one = backtest_json(cli, "--data", str(synthetic / "SPY.csv"), "--strategy", "ma_crossover", "--risk", "on")
    two = backtest_json(cli, "--data", str(synthetic / "SPY.csv"), "--data", str(synthetic / "AAPL.csv"),
                        "--strategy", "ma_crossover", "--risk", "on")
    for result in (one, two):
        assert result["orders"] > 0 and result["fills"] > 0, result["risk"]
        assert "correlation" not in result["risk"]["denied_by"]


def test_denials_are_said_first_with_their_count_per_check_in_the_table_the_json_and_the_report(cli, synthetic):
    config = cli.config("[risk]\nmax_order_notional = 1000\n")
    args = ["--data", str(synthetic / "SPY.csv"), "--strategy", "ma_crossover", "--risk", "on", "--config", str(config)]
    result = backtest_json(cli, *args)
    denied = result["orders_denied"]
    assert denied > 0 and result["risk"]["denied_by"] == {"max_order_notional": denied}
    headline = f"risk denied {denied:,} of {denied:,} orders: {denied:,} by max_order_notional"
    assert next(iter(result)) == "risk" and result["risk"]["summary"] == [headline]
    report = cli.tmp / "report"
    table = cli.invoke("backtest", *args, "--report", str(report))
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0] == f"RISK {headline}"
    page = (report / "report.html").read_text()
    assert f'<div class="risk" id="risk-summary"><p>{headline}</p></div>' in page
    assert page.index("risk-summary") < page.index("<h2>Equity</h2>")


def test_a_bot_left_reducing_by_the_drawdown_warning_is_said_with_when_why_and_what_ends_it(cli, synthetic):
    args = ["--data", str(synthetic / "SPY.csv"), "--data", str(synthetic / "AAPL.csv"), "--strategy", "ma_crossover",
            "--risk", "on"]
    result = backtest_json(cli, *args)
    [change] = result["risk"]["state_changes"]
    assert change["state"] == "reducing" and "drawdown" in change["reason"]
    [line] = result["risk"]["summary"]
    assert line.startswith(f"bot backtest was REDUCING from {change['ts']} to the end (drawdown")
    assert "REDUCING ends only by an operator's resume" in line
    report = cli.tmp / "report"
    assert cli.invoke("backtest", *args, "--report", str(report)).returncode == 0
    page = (report / "report.html").read_text()
    assert "<h2>Trading state changes</h2>" in page and f"<td>{change['ts']}</td><td>backtest</td><td>REDUCING</td>" in page
    assert page.count('<line class="event"') == 2 and "<title>backtest REDUCING: drawdown" in page  # on both charts
    recovery = cli.config('[risk]\ndrawdown_reducing_ends = "recovery"\n')
    again = backtest_json(cli, *args, "--config", str(recovery))
    assert "REDUCING ends once the drawdown is back under the warning (10.00%)" in again["risk"]["summary"][0]


def readme_allocation_example() -> str:
    """The [allocation] block of the README, as a user copies it."""
    block = re.search(r"```toml\n(\[allocation\]\n.*?)```", README.read_text(), re.S)
    assert block is not None, "README has no [allocation] example"
    return block.group(1)


DEFAULT_BOTS = """
[[bots]]
name = "equity"
asset_class = "equity"
symbols = ["SPY", "AAPL"]
capital = 100000
params = { fast = 10, slow = 30 }
position_fraction = 0.45

[[bots]]
name = "crypto"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 50000
params = { fast = 24, slow = 96 }
position_fraction = 0.5
"""


def test_the_readme_allocation_example_moves_capital_without_a_drawdown_halt_or_a_critical_error(cli):
    # Before: "bot equity halted: drawdown 25.00% (equity 75000.00 vs peak 100000)" with no trade,
    # and two critical errors in the go-live report.
    config = cli.config(readme_allocation_example() + DEFAULT_BOTS)
    report = cli.json("paper", "--days", "30", "--config", str(config))
    moved = cli.query("SELECT bot, transfer FROM allocations WHERE account = 'sim-0001' AND transfer != '0.00'")
    assert moved, "the example moved no capital"
    assert report["critical_errors"] == 0, cli.query("SELECT message FROM audit_log WHERE severity = 'critical'")
    halts = cli.query("SELECT message FROM audit_log WHERE account = 'sim-0001' AND message LIKE 'halted%'")
    assert halts == []
    assert not [c for c in report["criteria"] if c["name"] == "critical_errors" and not c["passed"]]
    moved_by_bot = {b["bot"]: Decimal(b["capital_moved"]) for b in report["bots"]}
    assert sum(moved_by_bot.values()) == 0 and any(moved_by_bot.values())  # said per bot, never as P&L


def test_a_paper_report_with_denials_says_so_first_with_the_count_per_check(cli):
    config = cli.config("[risk]\nmax_order_notional = 1000\n" + DEFAULT_BOTS)
    report = cli.json("paper", "--days", "3", "--config", str(config))
    assert report["orders_denied"] > 0 and report["denied_by"] == {"max_order_notional": report["orders_denied"]}
    text = cli.run("paper", "--days", "3", "--config", str(config)).stdout
    first = [line for line in text.splitlines() if line.strip()][1]
    assert first.startswith("RISK risk denied ") and first.endswith(" by max_order_notional")


def test_resume_lifts_the_global_halt_names_what_it_re_armed_and_what_still_holds(cli):
    """Issue 13, point 12: an old simulated account's halted bot stays halted until named."""
    for args in (["--bot", "equity", "--account", "sim-0001"], ["--bot", "crypto", "--account", "paper"], []):
        assert cli.invoke("halt", "--reason", "drill", *args).returncode == 0
    plain = cli.invoke("resume")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0] == "RESUMED the global halt (every bot)"
    assert "still HALTED: bot paper/crypto (drill); re-arm it with `quantshift resume --bot crypto --account paper`" in lines[1]
    assert lines[2].startswith("still HALTED: bot sim-0001/equity (drill)") and "--all" in lines[2]
    named = cli.invoke("resume", "--account", "paper")
    assert named.stdout.splitlines() == ["RESUMED bot paper/crypto", lines[2]]
    everything = cli.invoke("resume", "--all", "--json")
    assert [s["scope"] for s in json.loads(everything.stdout)] == ["sim-0001/equity"]
    scopes = cli.query("SELECT scope, state FROM control ORDER BY scope")
    assert {state for _, state in scopes} == {"active"}
