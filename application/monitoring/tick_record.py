"""The leading watchdog's last tick, in the store's settings under TICK_KEY, so /metrics
(quantshift_watchdog_last_tick_timestamp_seconds) can tell from any process that a watchdog
is watching: a stale figure means none leads (all stopped, or the store is down for them too).
Written only by the leader, in the transaction that renews its lease."""

from __future__ import annotations

from datetime import datetime

import attrs

from application.ports import UnitOfWork

TICK_KEY = "watchdog_tick"


@attrs.frozen(kw_only=True)
class WatchdogTick:
    at: datetime  # wall clock, UTC
    holder: str  # "pid@host" of the leading watchdog
    interval_seconds: float


def record_tick(uow: UnitOfWork, tick: WatchdogTick) -> None:
    uow.settings.put(TICK_KEY, {"at": tick.at.isoformat(), "holder": tick.holder,
                                "interval_seconds": tick.interval_seconds}, at=tick.at)


def last_tick(uow: UnitOfWork) -> WatchdogTick | None:
    """The leader's latest tick; None when no watchdog ever led on this store (or the record is
    not one this code wrote)."""
    stored = uow.settings.get(TICK_KEY)
    if not stored:
        return None
    try:
        return WatchdogTick(at=datetime.fromisoformat(str(stored["at"])), holder=str(stored["holder"]),
                            interval_seconds=float(stored["interval_seconds"]))
    except (KeyError, TypeError, ValueError):
        return None
