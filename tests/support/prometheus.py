"""Debian's Prometheus as the tests use it: promtool on deploy/prometheus/, and a real server
on a free loopback port with its own storage, scraping one target every second.

Without /usr/bin/prometheus and /usr/bin/promtool the tests are skipped, except with CI=true,
where they must run and so fail (`make test` installs the package first)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, stop_process
from tests.support.waiting import wait_until

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"


def require_prometheus() -> None:
    missing = [str(p) for p in (PROMETHEUS, PROMTOOL) if not p.exists()]
    if not missing:
        return
    reason = f"{', '.join(missing)} missing (apt-get install prometheus)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true: the Prometheus tests must run")
    pytest.skip(reason)


def promtool(*args: str, cwd: Path) -> str:
    """`promtool *args` in `cwd`; fails the test with its output unless it exits 0."""
    result = subprocess.run([str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class PrometheusServer:
    """One `prometheus` scraping `target` (host:port) as job="quantshift" every second, with
    deploy/prometheus/rules.yml loaded and evaluated every second."""

    def __init__(self, tmp: Path, *, target: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "prometheus.log"
        self.config = tmp / "prometheus.yml"
        self.config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: quantshift
    scrape_timeout: 1s
    static_configs:
      - targets: ["{target}"]
""")
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        args = [str(PROMETHEUS), f"--config.file={self.config}", f"--storage.tsdb.path={self.tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def api(self, path: str, **params: str) -> dict:
        """GET /api/v1/<path>; the answer's "data" once its status is "success"."""
        assert self.process is not None and self.process.poll() is None, f"prometheus exited: {self.log.read_text()}"
        response = httpx.get(f"{self.base}/api/v1/{path}", params=params, timeout=10)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", f"{path} {params}: {response.text}"
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """The instant query's result (vector or matrix), as of now."""
        return self.api("query", query=expr)["result"]

    def wait_for(self, expr: str, *, timeout: float) -> list[dict]:
        """Until `expr` returns data (fails at once, with the log, if the server exits)."""
        def answers() -> list[dict]:
            try:
                return self.query(expr)
            except httpx.TransportError:
                return []
        return wait_until(answers, timeout=timeout, interval=0.25, message=f"prometheus to answer {expr}")

    def stop(self) -> None:
        stop_process(self.process)
