"""deploy/grafana/quantshift.json against the real thing: Debian's Prometheus, with the shipped
rules loaded, scraping a real `quantshift serve` (its watchdog inside) every second, whose store
an accelerated paper session writes and a real-time paper session keeps writing beside it.
Every panel's query (and every template variable's) is run through Prometheus's HTTP API and
must return data; every rule evaluates without error on the real figures; every metric the
rules and the dashboard name is one /metrics exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_api_server import INVITATION_SECRET, JWT_SECRET
from tests.support.processes import QUANTSHIFT, ServeProcess, stop_process
from tests.support.prometheus import DEPLOY, RULES, PrometheusServer, require_prometheus

pytestmark = pytest.mark.e2e

DASHBOARD = DEPLOY / "grafana" / "quantshift.json"
# Stops on both bots, so heat is measured; short averages, so the bots trade within seconds.
CONFIG = """
[engine]
heartbeat_seconds = 0.5

[[bots]]
name = "equity"
asset_class = "equity"
symbols = ["SPY", "AAPL"]
params = { fast = 3, slow = 8 }
stop = "fixed"

[[bots]]
name = "crypto"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 50000
params = { fast = 3, slow = 8 }
stop = "fixed"
"""
# Grafana's "All" for the dashboard's multi-value variables (their allValue).
ALL = ".*"
VARIABLE = re.compile(r"\$(instance|account|bot)\b")
LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")


def panels(dashboard: dict) -> list[dict]:
    """Every panel with queries, those inside collapsed rows too."""
    found = []
    for panel in dashboard["panels"]:
        found += panels(panel) if panel["type"] == "row" else [panel]
    return [p for p in found if p.get("targets")]


def with_all(expr: str) -> str:
    return VARIABLE.sub(ALL, expr)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    require_prometheus()
    tmp = tmp_path_factory.mktemp("grafana")
    config = tmp / "bots.toml"
    config.write_text(CONFIG)
    serve = ServeProcess(tmp, database_url=f"sqlite:///{tmp / 'qs.db'}", jwt_secret=JWT_SECRET,
                         invitation_secret=INVITATION_SECRET, config=config)
    server = PrometheusServer(tmp, target=f"127.0.0.1:{serve.port}")
    # All at once (migrations serialise on the SQLite write lock): an accelerated session writes
    # round trips, orders and a drawdown history (account sim-0001) while a real-time one trades
    # beside serve (account paper).
    sessions = [start(serve, config, "accelerated", "--days", "2"), start(serve, config, "live", "--bar-seconds", "0.2")]
    serve.launch()
    server.launch()
    try:
        serve.wait_until_up()
        assert sessions[0].wait(timeout=60) == 0, (tmp / "accelerated.log").read_text()
        # Two scrapes or more since the accelerated session ended, with the live one running.
        server.wait_for('sum_over_time(quantshift_bot_liveness{account="sim-0001", liveness="stopped"}[1m]) >= 2'
                        ' and on() quantshift_bot_liveness{account="paper", liveness="running"} == 1'
                        ' and on() quantshift_watchdog_last_tick_timestamp_seconds', timeout=30)
        yield server
    finally:
        server.stop()
        for session in sessions:
            stop_process(session, timeout=15)
        serve.stop()


def start(serve: ServeProcess, config: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    """`quantshift paper *args` on serve's store, its output in <name>.log."""
    with (serve.tmp / f"{name}.log").open("wb") as log:
        return subprocess.Popen([QUANTSHIFT, "paper", *args, "--config", str(config)], env=serve.env,
                                stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_every_panel_query_returns_data(prometheus, dashboard):
    empty = []
    queried = 0
    for panel in panels(dashboard):
        for target in panel["targets"]:
            queried += 1
            if not prometheus.query(with_all(target["expr"])):
                empty.append(f"{panel['title']!r} {target['refId']}: {target['expr']}")
    assert queried >= 25
    assert empty == [], "panels without data:\n" + "\n".join(empty)


def test_the_watchdog_inside_serve_is_ticking_as_the_rule_measures_it(prometheus):
    [age] = prometheus.query("timestamp(quantshift_watchdog_last_tick_timestamp_seconds)"
                             " - quantshift_watchdog_last_tick_timestamp_seconds")
    assert 0 <= float(age["value"][1]) < 30  # QuantShiftWatchdogNotTicking's threshold


def test_every_template_variable_lists_values(prometheus, dashboard):
    listed = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        parsed = LABEL_VALUES.match(variable["query"]["query"])
        assert parsed, f"${variable['name']}: only label_values(metric{{...}}, label) is checked here"
        series = prometheus.api("series", **{"match[]": with_all(parsed["match"])})
        listed[variable["name"]] = {s[parsed["label"]] for s in series if parsed["label"] in s}
    assert listed["account"] >= {"paper", "sim-0001"} and listed["bot"] == {"equity", "crypto"}
    assert len(listed["instance"]) == 1


def test_the_dashboard_imports_as_grafana_expects(dashboard):
    """What an import needs: unique panel ids, a position for each, the datasource variable on
    every panel and query, unique refIds within a panel."""
    every = [p for p in dashboard["panels"]] + [p for r in dashboard["panels"] if r["type"] == "row"
                                                for p in r["panels"]]
    ids = [p["id"] for p in every]
    assert len(ids) == len(set(ids))
    assert all({"x", "y", "w", "h"} <= set(p["gridPos"]) for p in every)
    assert dashboard["uid"] == "quantshift" and dashboard["templating"]["list"][0]["type"] == "datasource"
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_every_rule_evaluates_on_the_real_figures(prometheus):
    groups = prometheus.api("rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    shipped = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in rules) == sorted(shipped)
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []


def test_every_metric_the_rules_and_the_dashboard_name_is_exposed(prometheus, dashboard):
    exposed = set(prometheus.api("label/__name__/values"))
    exprs = [t["expr"] for p in panels(dashboard) for t in p["targets"]]
    exprs += [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    named = {name for expr in exprs for name in re.findall(r"\bquantshift_[a-z_]+\b", expr)}
    assert len(named) > 20
    assert sorted(named - exposed) == []
