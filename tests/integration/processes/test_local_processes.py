"""The watchdog's process probe against real processes of this host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from adapters.processes import LocalProcesses

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="the probe's /proc reading is Linux's")


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_running_process_is_alive_a_killed_one_is_not_even_before_it_is_reaped():
    probe = LocalProcesses()
    process = sleeper()
    try:
        later = datetime.now(timezone.utc) + timedelta(seconds=1)
        assert probe.alive(process.pid, started_by=later)
        os.kill(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while probe.alive(process.pid, started_by=later):  # a zombie until waited for
            assert time.monotonic() < deadline, "the killed process still looks alive"
            time.sleep(0.01)
        assert os.path.exists(f"/proc/{process.pid}")  # not reaped yet: it was the zombie check
    finally:
        process.kill()
        process.wait()
    assert not probe.alive(process.pid, started_by=later)


def test_a_pid_held_by_a_process_started_after_the_beat_is_not_the_bot():
    probe = LocalProcesses()
    process = sleeper()
    try:
        assert not probe.alive(process.pid, started_by=datetime.now(timezone.utc) - timedelta(minutes=5))
        assert probe.alive(os.getpid(), started_by=datetime.now(timezone.utc))
        assert not probe.alive(0, started_by=datetime.now(timezone.utc))
    finally:
        process.kill()
        process.wait()
