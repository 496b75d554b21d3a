"""What a resolved watchdog alert says: made from its key alone, since a watchdog that took
the lead over resolves alerts another one raised."""

from __future__ import annotations

from datetime import datetime

from application.monitoring.policy import (
    BOT_CRASHED,
    BOT_STALE,
    RECONCILIATION_MISMATCH,
    STANDBY_TAKEOVER,
    STORE_DEGRADED,
    STORE_UNREACHABLE,
    VENUE_ERRORS,
    VENUE_LATENCY,
    VENUE_STREAM_DOWN,
    VENUE_THROTTLED,
    kind_of,
)

_TITLES = {
    BOT_STALE: "bot heartbeating again",
    BOT_CRASHED: "bot running again",
    STANDBY_TAKEOVER: "standby back",
    STORE_UNREACHABLE: "store reachable again",
    STORE_DEGRADED: "store answering in time again",
    VENUE_ERRORS: "venue errors back under the threshold",
    VENUE_LATENCY: "venue latency back under the threshold",
    VENUE_STREAM_DOWN: "market data stream back up",
    VENUE_THROTTLED: "venue rate limiting over",
    RECONCILIATION_MISMATCH: "reconciliation clean again",
}
_BOT_KINDS = frozenset({BOT_STALE, BOT_CRASHED})
_ACCOUNT_KINDS = frozenset({STANDBY_TAKEOVER, RECONCILIATION_MISMATCH})


def resolution(key: str, *, at: datetime) -> dict[str, str]:
    """The AlertSink.resolve arguments for `key`."""
    kind = kind_of(key)
    scope = key.split(":", 1)[1] if ":" in key else ""
    account, bot = "", ""
    if kind in _BOT_KINDS and "/" in scope:
        account, bot = scope.split("/", 1)
    elif kind in _ACCOUNT_KINDS:
        account = scope
    title = _TITLES.get(kind, "cleared") + (f": {scope}" if scope else "")
    return {"key": key, "title": title, "account": account, "bot": bot,
            "body": f"The watchdog saw the condition clear at {at.isoformat(timespec='seconds')}."}
