"""End-to-end: the small things a user notices (issue 13, point 17): --version and completion,
paper -v in accelerated mode, the audit trail's pages, kinds and reasons, the default account,
numbers for people, piped tables, and no-ops that say so."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Cli:
    """One 20-day accelerated session (both default bots trade; crypto's drawdown warns), read by
    the tests that only read."""
    cli = Cli(tmp_path_factory.mktemp("polish"))
    cli.run("paper", "--days", "20", "--json")
    return cli


def test_version_comes_from_the_installed_package(cli):
    from importlib.metadata import version

    result = cli.invoke("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"quantshift {version('quantshift')}"


def test_shell_completion_is_offered(cli):
    help_text = cli.invoke("--help").stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    shown = cli.run("--show-completion", "bash", check=False)
    assert shown.returncode == 0 and "_quantshift_completion" in shown.stdout


def test_paper_verbose_in_days_mode_tells_each_day(cli):
    result = cli.run("paper", "--days", "3", "--json", "-v")
    json.loads(result.stdout)  # stdout stays the report
    days = [line for line in result.stderr.splitlines() if re.match(r"^\d{4}-\d{2}-\d{2}: \d+ bars, ", line)]
    assert len(days) >= 3, result.stderr
    assert all("orders sent" in line and "denied" in line and "bots: equity " in line for line in days)
    quiet = cli.run("paper", "--days", "3", "--json")
    assert not [line for line in quiet.stderr.splitlines() if " bars, " in line]


def test_audit_says_when_older_entries_are_left_and_pages(ran):
    first = ran.invoke("audit", "--limit", "5")
    assert "older ones on --page 2" in first.stdout
    assert "older ones on --page 3" in ran.invoke("audit", "--limit", "5", "--page", "2").stdout
    page1 = ran.json("audit", "--limit", "5")
    page2 = ran.json("audit", "--limit", "5", "--page", "2")
    both = ran.json("audit", "--limit", "10")
    assert len(page1) == len(page2) == 5
    assert page2 + page1 == both  # page 2 is the five before page 1, oldest first
    everything = ran.json("audit", "--limit", "1000000")
    last = ran.invoke("audit", "--limit", str(len(everything)))
    assert "older ones" not in last.stdout


def test_audit_table_shows_the_reason(ran):
    [intent] = ran.json("audit", "--kind", "signal", "--limit", "1")
    reason = intent["data"]["signal"]["reason"]
    ran.env["COLUMNS"] = "80"
    table = ran.invoke("audit", "--kind", "signal", "--limit", "1").stdout
    assert "why" in table and reason in table  # piped: one line, not wrapped or cut to 80 columns


def test_every_documented_audit_kind_filters_and_unknown_ones_are_refused(ran):
    signals = ran.json("audit", "--kind", "signal", "--limit", "100000")
    assert signals and all("signal" in e["data"] for e in signals)
    risk = ran.json("audit", "--kind", "risk", "--limit", "100000")
    assert risk and all(e["kind"] == "risk" or "checks" in e["data"] for e in risk)
    for kind in ("order", "fill", "trade", "halt", "session"):
        found = ran.json("audit", "--kind", kind, "--limit", "100000")
        assert found and {e["kind"] for e in found} == {kind}, kind
    help_text = ran.invoke("audit", "--help").stdout
    for kind in ("signal", "risk", "order", "fill", "trade", "halt", "resume", "data", "error", "session"):
        assert kind in help_text
    refused = ran.invoke("audit", "--kind", "signals")
    assert refused.returncode == 2
    assert "--kind 'signals'" in refused.stderr and "signal, risk, order" in refused.stderr


def test_piped_tables_are_not_cut_to_80_columns(ran):
    ran.env["COLUMNS"] = "80"
    table = ran.invoke("status").stdout
    assert "…" not in table
    assert max(len(line) for line in table.splitlines()) > 80


def test_multi_symbol_backtest_trades_name_their_symbol_and_one_bar_count(cli):
    import csv

    out = cli.tmp / "syn"
    assert cli.invoke("data", "synthetic", "--symbols", "SPY,BTC-USD", "--days", "5", "--seed", "3",
                      "--out", str(out)).returncode == 0
    report = cli.tmp / "report"
    result = cli.json("backtest", "--data", str(out / "SPY.csv"), "--data", str(out / "BTC-USD.csv"), "--strategy",
                      "ma_crossover", "--param", "fast=3", "--param", "slow=12", "--sizing", "fixed-fraction:0.3",
                      "--report", str(report))
    assert result["round_trips"] > 0
    assert result["metrics"]["bars"] == result["bars"]  # one figure, one source
    assert {t["symbol"] for t in result["trades"]} == {"SPY", "BTC-USD"} and len(result["trades"]) == result["round_trips"]
    with (report / "trades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["symbol"] for r in rows} == {"SPY", "BTC-USD"}
    html = (report / "report.html").read_text()
    assert f", {result['bars']:,} bars," in html
    assert f'data-key="bars">{result["bars"]:,}<' in html
    assert "<th>symbol</th>" in html and "<td>BTC-USD</td>" in html
    assert "None" not in html and "unlimited" in html  # max_volume_share left out: no cap
    shown = cli.invoke("backtest", "--data", str(out / "SPY.csv"), "--data", str(out / "BTC-USD.csv"), "--strategy",
                       "ma_crossover", "--param", "fast=3", "--param", "slow=12").stdout
    assert f"{result['bars']:,} bars" in shown


def test_resume_with_nothing_halted_says_so_and_invents_no_history(cli):
    result = cli.invoke("resume")
    assert result.returncode == 0
    assert "nothing was halted" in result.stdout and "RESUMED" not in result.stdout
    one = cli.invoke("resume", "--bot", "equity")
    assert one.returncode == 0 and "nothing was halted: bot paper/equity" in one.stdout
    assert cli.json("audit", "--kind", "resume") == []
    assert cli.query("SELECT count(*) FROM control")[0][0] == 0
    # A halt, then a resume, still says what it resumed.
    cli.invoke("halt", "--reason", "drill")
    assert "RESUMED the global halt (every bot)" in cli.invoke("resume").stdout


def test_bots_start_on_a_running_bot_says_already_running(cli):
    result = cli.invoke("bots", "start", "--bot", "equity")
    assert result.returncode == 0
    assert "already running" in result.stdout and "STARTED" not in result.stdout
    assert cli.json("audit", "--kind", "bot_run") == []
    cli.invoke("bots", "stop", "--bot", "equity", "--reason", "lunch")
    assert "STARTED bot paper/equity" in cli.invoke("bots", "start", "--bot", "equity").stdout


def test_a_brand_new_account_is_just_active(cli):
    """A resume (an old habit, or a drill) must not give every later account a history."""
    cli.invoke("halt", "--reason", "drill")
    cli.invoke("resume")
    cli.run("paper", "--days", "2", "--json")
    rows = cli.json("risk", "--account", "sim-0001")
    assert rows and {(r["trading_state"], r["state_reason"]) for r in rows} == {("active", "")}
    assert "resumed by operator" not in cli.invoke("risk", "--account", "sim-0001").stdout


def test_risk_and_strategies_default_to_the_same_account(cli):
    """One rule: the continuous paper account once it ran, else the latest simulated session's."""
    cli.run("paper", "--days", "2", "--json")
    cli.run("paper", "--days", "2", "--json")
    assert "Risk (sim-0002)" in cli.invoke("risk").stdout
    assert "Strategies (sim-0002)" in cli.invoke("strategies").stdout
    cli.run("paper", "--bar-seconds", "0.1", "--duration", "1.5")
    assert "Risk (paper)" in cli.invoke("risk").stdout
    assert "Strategies (paper)" in cli.invoke("strategies").stdout
    assert cli.json("strategies")["account"] == "paper"
    assert "continuous paper account" in cli.invoke("risk", "--help").stdout


UNREADABLE = re.compile(r"\dE[-+]?\d|\.\d*0{3,}\b|\d\.\d{12,}")  # 0E-8, 455.44000000, 28-digit quotients


@pytest.mark.parametrize("command", [("status",), ("trades",), ("positions",), ("risk", "--account", "sim-0001"),
                                     ("strategies", "--account", "sim-0001"), ("audit", "--kind", "fill")])
def test_tables_print_figures_for_people_and_json_keeps_exact_strings(ran, command):
    table = ran.invoke(*command).stdout
    assert not UNREADABLE.search(table), UNREADABLE.search(table)
    if command[0] in ("trades", "positions"):
        exact = json.dumps(ran.json(*command))
        assert re.search(r'"\d+\.\d{3,}"', exact)  # JSON: the store's exact strings, zeros and all


def test_paper_report_states_ratios_in_percent(cli):
    table = cli.run("paper", "--days", "3").stdout
    criteria = {line.split("│")[1].strip(): line.split("│")[3].strip()
                for line in table.splitlines() if line.count("│") >= 5}
    assert criteria["win_rate"].endswith("%") and criteria["max_drawdown"].endswith("%")
    assert criteria["trading_days"] == "3"
