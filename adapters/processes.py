"""The processes of this host (the watchdog's ProcessProbe): whether a pid still runs, and is
still the process it was. Linux answers from /proc: a zombie (killed, not yet reaped by its
parent) is dead, and a pid reused by a process started after the bot's start is not the bot.
Elsewhere, a signal 0 says whether the pid exists at all."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path

# Process start times from /proc are in clock ticks after boot, and boot time is a whole second:
# a second or two of slack before calling a process younger than the beat that named it.
_START_SLACK_SECONDS = 2.0


class LocalProcesses:
    def __init__(self, *, proc: Path = Path("/proc")) -> None:
        self._proc = proc

    @property
    def host(self) -> str:
        return socket.gethostname()  # as `quantshift paper` records it (entrypoints/cli/common.py)

    def alive(self, pid: int, *, started_by: datetime) -> bool:
        if pid <= 0:
            return False
        try:
            stat = (self._proc / str(pid) / "stat").read_text()
        except FileNotFoundError:
            return False
        except OSError:
            return _signal_zero(pid)  # no /proc here (macOS), or not readable
        # "pid (comm) state ... starttime ...": comm may hold spaces and parentheses.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X"):
            return False
        started = self._boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return started <= started_by.timestamp() + _START_SLACK_SECONDS

    def _boot_time(self) -> float:
        for line in (self._proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
        return 0.0  # unknown: every process counts as started at boot, so none looks too young


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True
