"""The Strategy interface and the bar history it reads.

A strategy sees read-only arrays and returns a Signal value: a target exposure plus
the figures it decided on (recorded in the audit trail). It never gets engine state.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import attrs
import numpy as np

from domain.market import Bar


class Target(enum.Enum):
    LONG = "long"
    FLAT = "flat"
    SHORT = "short"


@attrs.frozen(kw_only=True)
class Signal:
    target: Target
    bar_ts: datetime  # the bar the decision was made on: part of the intent's identity
    values: Mapping[str, float] = attrs.field(factory=dict)
    reason: str = ""


class BarWindow:
    """A bounded history of one symbol's bars as numpy arrays (read-only views out)."""

    def __init__(self, *, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._capacity = capacity
        # Twice the capacity so appends are amortised O(1): compact when full.
        self._data = np.zeros((capacity * 2, 5), dtype=float)
        self._start = 0
        self._end = 0
        self.last: Bar | None = None

    def append(self, bar: Bar) -> None:
        if self._end == len(self._data):
            keep = self._data[self._end - self._capacity + 1 : self._end].copy()
            self._data[: len(keep)] = keep
            self._start, self._end = 0, len(keep)
        self._data[self._end] = (
            float(bar.open), float(bar.high), float(bar.low), float(bar.close), float(bar.volume)
        )
        self._end += 1
        self._start = max(self._start, self._end - self._capacity)
        self.last = bar

    def __len__(self) -> int:
        return self._end - self._start

    def _column(self, index: int) -> np.ndarray:
        view = self._data[self._start : self._end, index]
        view.flags.writeable = False
        return view

    @property
    def closes(self) -> np.ndarray:
        return self._column(3)

    @property
    def highs(self) -> np.ndarray:
        return self._column(1)

    @property
    def lows(self) -> np.ndarray:
        return self._column(2)

    @property
    def volumes(self) -> np.ndarray:
        return self._column(4)


class Strategy(Protocol):
    """A rules-based strategy. `warmup` bars are needed before it may signal."""

    name: str
    warmup: int

    def on_bar(self, window: BarWindow) -> Signal | None:
        """Return the target after the window's last bar, or None to keep things as they are."""
        ...


def describe(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
