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

from domain.accounting.market import Bar


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
        # Columns: open, high, low, close, volume, open time (epoch seconds: aligns symbols that
        # trade on different sessions, e.g. 24/7 crypto against NYSE hours).
        self._data = np.zeros((capacity * 2, 6), dtype=float)
        self._start = 0
        self._end = 0
        self.last: Bar | None = None

    def append(self, bar: Bar) -> None:
        if self._end == len(self._data):
            keep = self._data[self._end - self._capacity + 1 : self._end].copy()
            self._data[: len(keep)] = keep
            self._start, self._end = 0, len(keep)
        self._data[self._end] = (
            float(bar.open), float(bar.high), float(bar.low), float(bar.close), float(bar.volume), bar.ts.timestamp()
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

    @property
    def times(self) -> np.ndarray:
        """Bar open times, epoch seconds (UTC)."""
        return self._column(5)


class Strategy(Protocol):
    """A rules-based strategy. `warmup` bars are needed before it may signal.

    Required: `name` (recorded with every intent, part of its client order id), `warmup` and
    `on_bar`. `on_bar` gets the symbol's BarWindow: read-only arrays of the most recent bars
    (at least `warmup`, a few dozen more at most; never the whole history) and nothing of the
    engine's state. It returns a Signal (a Target plus the figures and a plain reason, for the
    audit trail) or None to keep things as they are. Keep no state between calls: an instance
    serves every symbol of a bot, so decide from the window alone. An exception disables the
    strategy for that symbol (alerted and audited); the bot and its other symbols carry on.

    Optional, read where present (a strategy without them still works, and its configured
    params go straight to its constructor):
    - `params: ClassVar[tuple[Param, ...]]` (domain/strategy_params.py): declared parameters.
      The configuration is then checked against them (unknown names refused, ranges enforced,
      defaults filled); listings and optimisers read the same declaration.
    - `indicators(self) -> Mapping[str, str]`: label -> what it is ("fast_sma": "SMA(10) of
      close"), for reports; the labels match the keys of the Signal's `values`.
    """

    name: str
    warmup: int

    def on_bar(self, window: BarWindow) -> Signal | None:
        """Return the target after the window's last bar, or None to keep things as they are."""
        ...


def describe(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
