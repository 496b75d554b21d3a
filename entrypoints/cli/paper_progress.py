"""`paper --days -v`: the accelerated session told as it runs, one line per trading day on stderr
(stdout stays the report, or the JSON). A day flies by in milliseconds, so per-decision logging
would bury the report; a day's line says what a user watches for: orders, denials, fills, each
bot's equity and trading state."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import TextIO

from application.trading.bot_state import BotState
from domain import display
from domain.accounting.market import Bar

# The cycle's results a day's line counts (CycleResult values), by what a person calls them.
_SENT = ("submitted", "unknown_outcome")
_DENIED = ("denied", "halted")


class DayProgress:
    """Call see(bar) after each bar and finish() at the end: a line per trading day (UTC date)."""

    def __init__(self, *, tally: Counter, states: Callable[[], Sequence[BotState]], out: TextIO | None = None) -> None:
        self._tally = tally
        self._states = states
        self._out = out or sys.stderr
        self._day: date | None = None
        self._bars = 0
        self._before: Counter = Counter()

    def see(self, bar: Bar) -> None:
        day = bar.ts.date()
        if self._day is not None and day != self._day:
            self._line()
        if day != self._day:
            self._day = day
        self._bars += 1

    def finish(self) -> None:
        if self._day is not None and self._bars:
            self._line()

    def _line(self) -> None:
        now = Counter(self._tally)
        delta = now - self._before
        sent = sum(delta[k] for k in _SENT)
        denied = sum(delta[k] for k in _DENIED)
        bots = ", ".join(
            f"{s.name} {display.money(s.equity())}"
            + ("" if s.trading_state.value == "active" else f" {s.trading_state.value.upper()}")
            for s in self._states())
        print(f"{self._day}: {self._bars} bars, {sent} orders sent, {denied} denied; bots: {bots}",
              file=self._out, flush=True)
        self._before = now
        self._bars = 0
