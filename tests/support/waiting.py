"""Waiting for something another thread or process does: one loop, one clear failure."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, timeout: float = 5.0, interval: float = 0.02,
               message: str = "the condition", process: subprocess.Popen[str] | None = None) -> T:
    """Call `condition` every `interval` seconds until it returns something truthy, and return
    that. After `timeout` seconds fail with an AssertionError naming `message`. With `process`
    (a Popen whose stderr is piped) the wait fails at once when it exits, and a timeout kills
    it, both showing what it wrote to stderr."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process exited {process.returncode} while waiting for {message}:\n"
                                 f"{process.stderr.read() if process.stderr else ''}")
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if process is not None:
        process.kill()
        raise AssertionError(f"timed out after {timeout} s waiting for {message}:\n{process.communicate()[1][-3000:]}")
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
