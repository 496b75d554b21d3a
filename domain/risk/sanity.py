"""The data sanity gate: a bar is traded on only if it is newer than the last one
of its symbol and not from the future. (Bar itself already refuses NaN, inf, <= 0
and inconsistent OHLC at construction.)"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from domain.accounting.market import Bar


# A bar may end this far after "now" (clock skew between venue and host); later, it has not happened.
MAX_FUTURE = timedelta(seconds=5)


def future_bar_reason(*, ts: datetime, end: datetime, now: datetime, max_future: timedelta = MAX_FUTURE) -> str | None:
    """Why a bar from `ts` to `end` cannot be traded on at `now` (the caller's clock), or None.
    Backtests and replays run on bar time, so they pass the wall clock to check files with."""
    if end > now + max_future:
        return f"bar at {ts.isoformat()} ends {end.isoformat()}, in the future (now {now.isoformat()})"
    return None


@attrs.frozen(kw_only=True)
class SanityVerdict:
    ok: bool
    reason: str = ""


class BarSanityGate:
    def __init__(self, *, max_future: timedelta = MAX_FUTURE) -> None:
        self._max_future = max_future
        self._last: dict[str, datetime] = {}

    def check(self, bar: Bar, *, now: datetime) -> SanityVerdict:
        last = self._last.get(bar.symbol)
        if last is not None and bar.ts <= last:
            kind = "duplicate" if bar.ts == last else "out-of-order"
            return SanityVerdict(ok=False, reason=f"{bar.symbol} {kind} bar at {bar.ts.isoformat()} (last {last.isoformat()})")
        future = future_bar_reason(ts=bar.ts, end=bar.end, now=now, max_future=self._max_future)
        if future:
            return SanityVerdict(ok=False, reason=f"{bar.symbol} {future}")
        self._last[bar.symbol] = bar.ts
        return SanityVerdict(ok=True)
