"""The data sanity gate: a bar is traded on only if it is newer than the last one
of its symbol and not from the future. (Bar itself already refuses NaN, inf, <= 0
and inconsistent OHLC at construction.)"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from domain.market import Bar


@attrs.frozen(kw_only=True)
class SanityVerdict:
    ok: bool
    reason: str = ""


class BarSanityGate:
    def __init__(self, *, max_future: timedelta = timedelta(seconds=5)) -> None:
        self._max_future = max_future
        self._last: dict[str, datetime] = {}

    def check(self, bar: Bar, *, now: datetime) -> SanityVerdict:
        last = self._last.get(bar.symbol)
        if last is not None and bar.ts <= last:
            kind = "duplicate" if bar.ts == last else "out-of-order"
            return SanityVerdict(ok=False, reason=f"{bar.symbol} {kind} bar at {bar.ts.isoformat()} (last {last.isoformat()})")
        if bar.end > now + self._max_future:
            return SanityVerdict(ok=False, reason=f"{bar.symbol} bar ending {bar.end.isoformat()} is in the future (now {now.isoformat()})")
        self._last[bar.symbol] = bar.ts
        return SanityVerdict(ok=True)
