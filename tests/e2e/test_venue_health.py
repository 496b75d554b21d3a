"""Venue API health as a user reads it: an accelerated paper session measures its calls to the
simulated venue; `quantshift health` and a real `quantshift serve` (API and /metrics) show them."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.test_api_server import USERS, Server, assert_problem

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("venue-health")
    srv = Server(tmp, f"sqlite:///{tmp / 'qs.db'}")
    srv.prepare({"viewer": USERS["viewer"]})  # `paper --days 3 --json`, and a viewer
    srv.start()
    try:
        srv.log_in({"viewer": USERS["viewer"]})
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def cli_report(server) -> dict:
    return server.cli_json("health")


def moments(operations: list[dict]) -> list[dict]:
    """Times as datetimes: the API writes UTC as "Z", the CLI as "+00:00"."""
    return [{k: datetime.fromisoformat(v) if k.endswith("_at") and v else v for k, v in o.items()} for o in operations]


def simulated(report: dict) -> dict:
    (venue,) = [v for v in report["venues"] if v["venue"] == "simulated"]
    return venue


def test_the_cli_shows_the_simulated_venue_the_paper_session_called(cli_report):
    report = cli_report
    assert report["window"] == "15m" and report["window_seconds"] == 900
    venue = simulated(report)
    assert venue["status"] == "ok" and venue["calls"] > 0 and venue["errors"] == 0
    assert venue["last_success_at"] is not None
    operations = {o["operation"]: o for o in venue["operations"]}
    assert operations["submit"]["calls"] > 0 and operations["poll_events"]["calls"] > 0
    assert all(o["p50_ms"] <= o["p95_ms"] <= o["p99_ms"] <= o["max_ms"] for o in operations.values())


def test_the_api_serves_the_same_report_to_a_viewer(server, cli_report):
    response = server.as_role("viewer", "GET", "/api/v1/health/venues")  # the default window, as the CLI's
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["window"] == "15m" and body["thresholds"] == {"max_error_rate": 0.05, "max_p99_ms": 1000.0}
    venue, cli = simulated(body), simulated(cli_report)
    assert venue["status"] == "ok" and venue["calls"] > 0 and venue["last_success_at"]
    assert venue["calls"] == cli["calls"] and moments(venue["operations"]) == moments(cli["operations"])
    day = server.as_role("viewer", "GET", "/api/v1/health/venues", params={"window": "24h"}).json()
    assert day["window"] == "24h" and simulated(day)["calls"] == venue["calls"]

    assert_problem(server.as_role("viewer", "GET", "/api/v1/health/venues", params={"window": "2h"}), 400)
    assert_problem(server.call("GET", "/api/v1/health/venues"), 401)

    metrics = server.call("GET", "/metrics").text
    assert 'quantshift_venue_status{status="ok",venue="simulated"} 1.0' in metrics
    submit_calls = [line for line in metrics.splitlines()
                    if line.startswith('quantshift_venue_calls{operation="submit",venue="simulated"}')]
    assert submit_calls and float(submit_calls[0].split()[-1]) > 0
