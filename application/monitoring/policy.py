"""What the watchdog alerts on: its thresholds (the [watchdog] settings, docs/monitoring.md)
and the keys of its alerts (the contract in docs/monitoring.md and application/alerting)."""

from __future__ import annotations

from datetime import timedelta

import attrs

SOURCE = "watchdog"  # Alert.source of everything the watchdog raises

# The condition kinds, the part of a key before ":". A key names the condition and its scope.
BOT_STALE = "bot_stale"  # :<account>/<bot>
BOT_CRASHED = "bot_crashed"  # :<account>/<bot>
STANDBY_TAKEOVER = "standby_takeover"  # :<account>
STORE_UNREACHABLE = "store_unreachable"
STORE_DEGRADED = "store_degraded"
VENUE_ERRORS = "venue_errors"  # :<venue>
VENUE_LATENCY = "venue_latency"  # :<venue>
VENUE_STREAM_DOWN = "venue_stream_down"  # :<venue>
VENUE_THROTTLED = "venue_throttled"  # :<venue>, a 429 storm
RECONCILIATION_MISMATCH = "reconciliation_mismatch"  # :<account>
KINDS = frozenset({BOT_STALE, BOT_CRASHED, STANDBY_TAKEOVER, STORE_UNREACHABLE, STORE_DEGRADED, VENUE_ERRORS,
                   VENUE_LATENCY, VENUE_STREAM_DOWN, VENUE_THROTTLED, RECONCILIATION_MISMATCH})
STORE_KINDS = frozenset({STORE_UNREACHABLE, STORE_DEGRADED})

# The venue-health operation a session records its market-data stream's state under
# (application/monitoring/stream_state.py): a success while connected, an error while down.
STREAM_OPERATION = "stream"


def kind_of(key: str) -> str:
    return key.split(":", 1)[0]


def is_watchdog_key(key: str) -> bool:
    return kind_of(key) in KINDS


@attrs.frozen(kw_only=True)
class WatchdogPolicy:
    interval_seconds: float = 1.0
    stale_after_beats: float = 2.0
    check_pids: bool = True
    lease_seconds: float = 5.0
    venue_window: timedelta = timedelta(seconds=120)
    venue_min_calls: int = 5
    venue_error_rate: float = 0.2
    venue_latency_ms: float = 2000.0
    stream_down_seconds: float = 30.0
    venue_throttled_count: int = 5
    store_latency_ms: float = 1000.0
    store_slow_ticks: int = 3
    repeat_every: timedelta = timedelta(minutes=5)
    # How far back the audit trail is read for each account's latest reconciliation.
    reconciliation_lookback: timedelta = timedelta(days=2)

    def __attrs_post_init__(self) -> None:
        if self.interval_seconds <= 0 or self.stale_after_beats <= 0 or self.lease_seconds <= 0:
            raise ValueError("the watchdog's interval, stale_after_beats and lease_seconds must be positive")
        if self.lease_seconds <= self.interval_seconds:
            # Renewed once a tick: a lease shorter than a tick would lapse between renewals.
            raise ValueError(f"lease_seconds ({self.lease_seconds:g}) must be longer than interval_seconds "
                             f"({self.interval_seconds:g})")
