"""Ports for running the platform (not for trading): whether an operator wants a bot running,
the dashboard's daily snapshots, and the health of the venues' APIs as the bots saw it.

Each is implemented by both stores and reached through the unit of work (uow.bot_runs,
uow.snapshots, uow.venue_health), so the bot process writes and `quantshift serve` reads
the same rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Protocol

import attrs

# Upper bounds (milliseconds) of the latency histogram every venue-health bucket keeps; the
# last bucket counts everything slower. Fixed, so buckets from any process add up.
LATENCY_BOUNDS_MS: tuple[float, ...] = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
HISTOGRAM_SIZE = len(LATENCY_BOUNDS_MS) + 1


class DesiredState(enum.Enum):
    """What an operator asked of a bot. STOPPED is not HALTED: a stopped bot evaluates no
    strategy and submits no entries, but keeps its positions and their protective stops."""

    RUNNING = "running"
    STOPPED = "stopped"


@attrs.frozen(kw_only=True)
class BotRun:
    account: str
    bot: str
    desired: DesiredState
    actor: str
    reason: str
    updated_at: datetime


class BotRunRepository(Protocol):
    def get(self, *, account: str, bot: str) -> BotRun | None:
        """None: nobody asked, which means RUNNING."""
        ...

    def set(self, run: BotRun) -> None:
        """Replace the bot's desired state (the latest request wins)."""
        ...

    def list(self, *, account: str | None = None) -> list[BotRun]: ...


@attrs.frozen(kw_only=True)
class DailySnapshot:
    """The dashboard's figures for one UTC day and one scope ("all", or "bot:<account>/<bot>").
    `figures` is JSON-able (money as decimal strings, so nothing is rounded on the way)."""

    day: date
    scope: str
    taken_at: datetime
    figures: Mapping[str, Any]


class SnapshotRepository(Protocol):
    def put(self, snapshot: DailySnapshot) -> None:
        """Store the day's snapshot for its scope; a later one for the same day replaces it."""
        ...

    def list(self, *, scope: str, since: date) -> list[DailySnapshot]:
        """The scope's snapshots from `since` on, oldest first."""
        ...


def _histogram(value: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    counts = tuple(int(v) for v in value)
    if len(counts) != HISTOGRAM_SIZE or any(c < 0 for c in counts):
        raise ValueError(f"a latency histogram has {HISTOGRAM_SIZE} non-negative counts, got {value!r}")
    return counts


@attrs.frozen(kw_only=True)
class VenueHealthBucket:
    """One minute of one venue operation's calls: counts, latency and the last outcome."""

    venue: str  # "simulated", "alpaca", "coinbase", ...
    operation: str  # "submit", "cancel", "bars", ...
    minute: datetime  # UTC, truncated to the minute
    calls: int
    errors: int
    latency_sum_ms: float
    latency_max_ms: float
    histogram: tuple[int, ...] = attrs.field(converter=_histogram)
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""

    def merged(self, other: VenueHealthBucket) -> VenueHealthBucket:
        """Both buckets' calls as one (same venue, operation and minute)."""
        if (self.venue, self.operation, self.minute) != (other.venue, other.operation, other.minute):
            raise ValueError("only buckets of the same venue, operation and minute merge")
        newer_error = _later(self.last_error_at, other.last_error_at)
        return VenueHealthBucket(
            venue=self.venue, operation=self.operation, minute=self.minute,
            calls=self.calls + other.calls, errors=self.errors + other.errors,
            latency_sum_ms=self.latency_sum_ms + other.latency_sum_ms,
            latency_max_ms=max(self.latency_max_ms, other.latency_max_ms),
            histogram=tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
            last_success_at=_later(self.last_success_at, other.last_success_at),
            last_error_at=newer_error,
            last_error=other.last_error if newer_error is not None and newer_error == other.last_error_at
            else self.last_error,
        )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class VenueHealthRepository(Protocol):
    def add(self, bucket: VenueHealthBucket) -> None:
        """Add the bucket's calls to what is stored for its venue, operation and minute."""
        ...

    def list(self, *, since: datetime, venue: str | None = None) -> list[VenueHealthBucket]:
        """Buckets from `since` on, by venue, operation and minute."""
        ...

    def prune(self, *, before: datetime) -> int:
        """Drop buckets older than `before` (the history is for dashboards, not an audit)."""
        ...
