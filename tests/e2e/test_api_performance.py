"""The dashboard stats and performance endpoints of a real `quantshift serve` process, on the
store a `quantshift paper --days 10` session filled: shapes, values against what the CLI prints
for the same store (`paper --json`, `strategies --json`, `snapshots list --json`), and the
snapshot the server's job takes at start."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.e2e.test_api_server import PASSWORD, Server, assert_problem, run

pytestmark = pytest.mark.e2e

VIEWER = "viewer@example.com"
CENT = Decimal("0.01")


def cents(text: str) -> Decimal:
    return Decimal(text).quantize(CENT)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("performance")
    srv = Server(tmp, f"sqlite:///{tmp / 'qs.db'}")
    paper = json.loads(run(srv.env, "paper", "--days", "10", "--json").stdout)
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Two CLI starts side by side (each costs seconds of imports); the server starts on its
        # own afterwards, so a busy machine does not push it past Server.start's deadline.
        user = pool.submit(run, srv.env, "users", "create", "--email", VIEWER, "--role", "viewer",
                           "--password-stdin", stdin=PASSWORD + "\n")
        strategies = pool.submit(lambda: json.loads(run(srv.env, "strategies", "--json").stdout))
        user.result()
        srv.paper, srv.strategies = paper, strategies.result()
        srv.start()
        try:
            srv.log_in({"viewer": VIEWER})
            srv.stats = todays_stats(srv)
            # What the CLI lists once the job has stored today's snapshot, read while the tests run.
            srv.listed = pool.submit(lambda: json.loads(run(srv.env, "snapshots", "list", "--days", "7",
                                                            "--json").stdout))
            yield srv
        finally:
            srv.stop()


def get(srv: Server, path: str, **params) -> dict:
    response = srv.as_role("viewer", "GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def todays_stats(srv: Server) -> dict:
    """The stats once today's snapshot is in: the job runs on its own thread, just after start."""
    deadline = time.monotonic() + 10
    while True:
        stats = get(srv, "/api/v1/dashboard/stats")
        if stats["overall"]["series"]["equity"] or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def test_the_dashboard_shows_the_session_and_the_snapshot_the_job_took_at_start(served):
    paper, stats = served.paper, served.stats
    overall = stats["overall"]
    figures = overall["figures"]
    assert overall["scope"] == "all" and stats["since"] <= today() <= stats["as_of"][:10]
    assert cents(figures["equity"]) == sum(cents(b["equity_end"]) for b in paper["bots"])
    assert (figures["trades_total"], figures["open_positions"]) == (paper["round_trips"], paper["open_positions"])
    assert round(figures["win_rate"], 6) == paper["win_rate"]
    assert (figures["bots_total"], figures["bots_stopped"], figures["bots_up"]) == (2, 2, 0)  # the session ended
    assert figures["trades_today"] == 0  # the simulated session traded in 2025

    [point] = overall["series"]["equity"]  # today's, from the job; no other day is made up
    assert point == {"day": today(), "value": figures["equity"]}
    assert set(overall["series"]) == set(figures)
    assert [b["scope"] for b in stats["bots"]] == [f"bot:{paper['account']}/{b['bot']}" for b in paper["bots"]]
    for bot, summary in zip(stats["bots"], paper["bots"], strict=True):
        assert (bot["account"], bot["bot"], bot["state"]) == (paper["account"], summary["bot"], "stopped")
        assert cents(bot["figures"]["equity"]) == cents(summary["equity_end"])
        assert bot["figures"]["trades_total"] == summary["round_trips"]
        assert [p["day"] for p in bot["series"]["equity"]] == [today()]

    [listed] = served.listed.result()
    assert (listed["day"], listed["scope"]) == (today(), "all")
    assert listed["figures"] == {name: points[0]["value"] if points else None
                                 for name, points in overall["series"].items()}


def test_strategy_performance_agrees_with_the_cli(served):
    paper, cli = served.paper, served.strategies
    listing = get(served, "/api/v1/performance/strategies")
    assert listing["account"] == paper["account"] == cli["account"]
    [strategy] = listing["strategies"]  # both bots run ma_crossover: one strategy
    assert (strategy["name"], strategy["bots"]) == ("ma_crossover", ["crypto", "equity"])
    assert strategy["sleeves"] == cli["strategies"]  # what `quantshift strategies --json` prints
    metrics = strategy["metrics"]
    assert metrics["trades"] == paper["round_trips"]
    for name in ("win_rate", "max_drawdown", "profit_factor"):  # the validation report's, same curve
        assert round(metrics[name], 6) == paper[name], name
    assert (cents(strategy["equity_start"]), cents(strategy["equity_end"])) == (
        Decimal(paper["equity_start"]), Decimal(paper["equity_end"]))
    assert metrics["cagr"] is None  # ten days say nothing about a year

    detail = get(served, "/api/v1/performance/strategies/ma_crossover", points=50)
    assert {k: v for k, v in detail.items() if k not in ("equity", "drawdown")} == strategy
    assert 2 <= len(detail["equity"]) <= 50 and len(detail["drawdown"]) <= 50
    assert detail["equity"][0]["equity"] == detail["equity_start"]
    assert detail["equity"][-1]["equity"] == detail["equity_end"]
    assert min(p["drawdown"] for p in detail["drawdown"]) == pytest.approx(-metrics["max_drawdown"])


def test_bot_performance_agrees_with_the_cli(served):
    paper, cli = served.paper, served.strategies
    for summary, sleeve in zip(paper["bots"], cli["strategies"], strict=True):
        body = get(served, f"/api/v1/performance/bots/{paper['account']}/{summary['bot']}")
        assert (body["name"], body["strategy"], body["bots"]) == (summary["bot"], "ma_crossover", [summary["bot"]])
        assert body["sleeves"] == [sleeve]
        assert body["metrics"]["trades"] == summary["round_trips"]
        assert (cents(body["equity_start"]), cents(body["equity_end"])) == (
            Decimal(summary["equity_start"]), Decimal(summary["equity_end"]))
        assert len(body["equity"]) <= 500 < body["points_total"] or len(body["equity"]) == body["points_total"]
        assert body["equity"][-1]["equity"] == body["equity_end"]


def test_unknown_names_and_bad_point_counts_are_problems(served):
    account = served.paper["account"]
    assert_problem(served.as_role("viewer", "GET", f"/api/v1/performance/bots/{account}/ghost"), 404)
    assert_problem(served.as_role("viewer", "GET", "/api/v1/performance/strategies/ghost"), 404)
    for points in ("9", "5001", "many"):
        body = assert_problem(served.as_role("viewer", "GET", "/api/v1/performance/strategies/ma_crossover",
                                             params={"points": points}), 400)
        assert "points" in json.dumps(body)
    for path in ("/api/v1/dashboard/stats", "/api/v1/performance/strategies"):
        assert_problem(served.call("GET", path), 401)
