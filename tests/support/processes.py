"""`quantshift` as real processes: the executable, a free loopback port, a command that must
succeed, and one `quantshift serve` that is started, waited for and stopped the same way by
every end-to-end test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_until

QUANTSHIFT = str(Path(sys.executable).with_name("quantshift"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_quantshift(env: dict[str, str], *args: str, stdin: str | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`quantshift *args` in `env`; fails the test (with both outputs) unless it exits 0."""
    result = subprocess.run([QUANTSHIFT, *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"quantshift {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result


def stop_process(process: subprocess.Popen | None, *, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServeProcess:
    """One `quantshift serve` on a free port of 127.0.0.1, its output in `serve.log` under `tmp`."""

    def __init__(self, tmp: Path, *, database_url: str, jwt_secret: str, invitation_secret: str,
                 config: Path | None = None) -> None:
        self.tmp = tmp
        self.config = config
        self.env = {**os.environ, "QUANTSHIFT_DATABASE_URL": database_url, "QUANTSHIFT_VENUE_DIR": str(tmp / "venue"),
                    "QUANTSHIFT_JWT_SECRET": jwt_secret, "QUANTSHIFT_INVITATION_SECRET": invitation_secret,
                    "COLUMNS": "200"}
        self.log = tmp / "serve.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Starts the process without waiting (other set-up can overlap its start)."""
        args = [QUANTSHIFT, "serve", "--port", str(self.port)]
        if self.config:
            args += ["--config", str(self.config)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_up(self, *, timeout: float = 60) -> None:
        """Until /health answers 200; fails at once (with the log) if the process exits."""
        def answers() -> bool:
            assert self.process is not None and self.process.poll() is None, f"serve exited: {self.log.read_text()}"
            try:
                return httpx.get(f"{self.base}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(answers, timeout=timeout, interval=0.1, message="serve to answer /health")
        except AssertionError:
            if self.process is None or self.process.poll() is not None:
                raise  # it exited: the error shows its log
            raise AssertionError(f"serve did not answer /health in {timeout:g} s: {self.log.read_text()}") from None

    def stop(self) -> None:
        stop_process(self.process)
