"""Crash drills: `QUANTSHIFT_CRASH_AT=point[:n]` or `point:p=0.05[:seed=7]` makes the bot
process SIGKILL itself at a named point of the order path (the n-th time it gets there, or
at random with probability p). Unset, nothing is injected. Used by the crash tests to prove
that a restart after a kill at any of these points neither duplicates nor loses anything."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Mapping

from application.trading.ports import CRASH_POINTS, FaultInjector, NoFaults
from domain.errors import ConfigurationError

ENV = "QUANTSHIFT_CRASH_AT"


class CrashAt:
    def __init__(self, *, point: str, nth: int = 1, probability: float | None = None, seed: int = 0) -> None:
        self.point = point
        self.nth = nth
        self.probability = probability
        self._random = random.Random(seed)
        self._count = 0

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self._count += 1
        hit = self._random.random() < self.probability if self.probability is not None else self._count == self.nth
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)


def faults_from_environment(environ: Mapping[str, str]) -> FaultInjector:
    spec = environ.get(ENV, "").strip()
    if not spec:
        return NoFaults()
    point, *options = spec.split(":")
    if point not in CRASH_POINTS:
        raise ConfigurationError(f"{ENV}={spec!r}: unknown point {point!r}; one of {', '.join(CRASH_POINTS)}")
    nth, probability, seed = 1, None, 0
    try:
        for option in options:
            if option.startswith("p="):
                probability = float(option[2:])
                if not 0 < probability <= 1:
                    raise ValueError("p must be in (0, 1]")
            elif option.startswith("seed="):
                seed = int(option[5:])
            else:
                nth = int(option)
                if nth < 1:
                    raise ValueError("n must be >= 1")
    except ValueError as exc:
        raise ConfigurationError(f"{ENV}={spec!r}: {exc}") from exc
    return CrashAt(point=point, nth=nth, probability=probability, seed=seed)
