"""Venue API health as the bots saw it: every call to a venue, timed and counted where it is made.

`MeasuredBroker` and `MeasuredMarketData` wrap any Broker / LiveMarketData (the simulated venue
today; Alpaca and Coinbase plug into the same wrappers) and tell a `HealthRecorder` how each call
went. The recorder adds the calls up in memory per (venue, operation, minute) and `flush` writes
them to the store's venue_health table, which `venue_health_report` reads back (CLI, API,
/metrics), from any process.

Time: latency is measured on a monotonic clock (injected, time.perf_counter in production). The
minute a call is counted in, and its last-success / last-error times, come from the recorder's
Clock, which is the wall clock in every session, the accelerated `paper --days` one included: its
simulated time runs years in seconds, while latency is a wall-clock figure and the operator asks
"how was the venue in the last 15 minutes" of real time.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from application.ports import Clock, UnitOfWork
from application.records import VenueOrderState
from application.venues.ports import HISTOGRAM_SIZE, LATENCY_BOUNDS_MS, VenueHealthBucket
from application.venues.ports import Broker, LiveMarketData
from domain.accounting.instrument import AssetClass
from domain.accounting.market import Bar
from domain.errors import AuthenticationError, ConfigurationError, RejectedError, TransientError
from domain.orders.events import BrokerEvent
from domain.orders.fill import Fill
from domain.orders.order import Order

RETENTION = timedelta(days=7)  # the history is for dashboards, not an audit
PRUNE_EVERY = timedelta(hours=1)
_MAX_ERROR_TEXT = 120

T = TypeVar("T")
_Key = tuple[str, str, datetime]


def minute_of(moment: datetime) -> datetime:
    """The UTC minute a moment falls in (the store's bucket key)."""
    return moment.astimezone(timezone.utc).replace(second=0, microsecond=0)


def classify_error(exc: BaseException) -> str:
    """A short class of a failed call: its kind, the exception's name, an HTTP status if it
    carries one. Never the exception's message: venue and SDK messages can echo request URLs,
    headers, account numbers or keys, and this text is stored and shown on the dashboard."""
    if isinstance(exc, TimeoutError):
        kind = "timeout"
    elif isinstance(exc, ConnectionError):
        kind = "connection"
    elif isinstance(exc, AuthenticationError):
        kind = "authentication"
    elif isinstance(exc, TransientError):
        kind = "transient"
    elif isinstance(exc, RejectedError):
        kind = "rejected"
    elif isinstance(exc, ConfigurationError):
        kind = "configuration"
    else:
        kind = "unexpected"
    text = f"{kind}: {type(exc).__name__}"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 100 <= status <= 599:
        text += f" (HTTP {status})"
    return text[:_MAX_ERROR_TEXT]


def _histogram(latency_ms: float) -> tuple[int, ...]:
    counts = [0] * HISTOGRAM_SIZE
    # A bound is the bucket's inclusive upper edge; past the last bound is the overflow bucket.
    counts[bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)] = 1
    return tuple(counts)


class HealthRecorder:
    """Venue-call outcomes added up in memory until flushed to the store. Thread-safe: a venue
    adapter may call from its own threads (a websocket reader) while the session flushes."""

    def __init__(self, *, clock: Clock, retention: timedelta = RETENTION, prune_every: timedelta = PRUNE_EVERY) -> None:
        self._clock = clock
        self._retention = retention
        self._prune_every = prune_every
        self._lock = threading.Lock()
        self._pending: dict[_Key, VenueHealthBucket] = {}
        self._last_prune: datetime | None = None

    def record(self, *, venue: str, operation: str, latency_ms: float, error: str | None = None) -> None:
        """One call: how long it took and, when it failed, the failure's class (classify_error)."""
        at = self._clock.now()
        latency_ms = max(0.0, float(latency_ms))  # a monotonic clock never goes back; a fake might
        bucket = VenueHealthBucket(
            venue=venue, operation=operation, minute=minute_of(at), calls=1, errors=0 if error is None else 1,
            latency_sum_ms=latency_ms, latency_max_ms=latency_ms, histogram=_histogram(latency_ms),
            last_success_at=at if error is None else None, last_error_at=None if error is None else at,
            last_error=error or "",
        )
        with self._lock:
            self._merge(bucket)

    def pending(self) -> list[VenueHealthBucket]:
        """What the next flush writes, by venue, operation and minute."""
        with self._lock:
            return [self._pending[key] for key in sorted(self._pending)]

    def flush(self, uow: UnitOfWork) -> int:
        """Write the pending buckets (one add each), prune the old ones when an hour has passed
        since the last prune, and commit. Returns the buckets written.

        The buckets are taken out first, so calls recorded meanwhile wait for the next flush; if
        anything fails before the commit returns, they are put back (the store rolled back, so
        nothing is lost and nothing counted twice) and the error is raised. A commit whose
        outcome is unknown (the connection died during COMMIT) counts as failed: those calls may
        then be counted twice, the lesser harm for a health figure than losing failures."""
        with self._lock:
            taken, self._pending = self._pending, {}
        now = self._clock.now()
        prune = self._last_prune is None or now - self._last_prune >= self._prune_every
        try:
            for key in sorted(taken):
                uow.venue_health.add(taken[key])
            if prune:
                uow.venue_health.prune(before=minute_of(now - self._retention))
            if taken or prune:
                uow.commit()
        except BaseException:
            with self._lock:
                for bucket in taken.values():
                    self._merge(bucket)
            raise
        if prune:
            self._last_prune = now
        return len(taken)

    def _merge(self, bucket: VenueHealthBucket) -> None:
        key = (bucket.venue, bucket.operation, bucket.minute)
        known = self._pending.get(key)
        self._pending[key] = bucket if known is None else known.merged(bucket)


class _Timer:
    """Times one call and tells the recorder; shared by the measured wrappers."""

    def __init__(self, *, venue: str, recorder: HealthRecorder, monotonic: Callable[[], float]) -> None:
        self.venue = venue
        self._recorder = recorder
        self._monotonic = monotonic

    def call(self, operation: str, call: Callable[[], T], *, allowed_wait: float = 0.0) -> T:
        started = self._monotonic()
        try:
            result = call()
        except Exception as exc:  # not BaseException: Ctrl-C is no venue failure
            self._record(operation, started, allowed_wait, error=classify_error(exc))
            raise
        self._record(operation, started, allowed_wait, error=None)
        return result

    def _record(self, operation: str, started: float, allowed_wait: float, *, error: str | None) -> None:
        elapsed = self._monotonic() - started - allowed_wait
        self._recorder.record(venue=self.venue, operation=operation, latency_ms=elapsed * 1000, error=error)


class MeasuredBroker:
    """The Broker port around another Broker: every venue call is delegated unchanged, timed and
    counted as a success or (when it raises) a failure; the exception is re-raised as it was.

    A venue's answer is a success even when it says no (a reject event): the API worked."""

    def __init__(self, *, inner: Broker, venue: str, recorder: HealthRecorder,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.inner = inner
        self._timer = _Timer(venue=venue, recorder=recorder, monotonic=monotonic)

    @property
    def venue(self) -> str:
        return self._timer.venue

    def submit(self, order: Order) -> list[BrokerEvent]:
        return self._timer.call("submit", lambda: self.inner.submit(order))

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        return self._timer.call("cancel", lambda: self.inner.cancel(client_order_id))

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        return self._timer.call("find_order", lambda: self.inner.find_order(client_order_id))

    def open_orders(self) -> list[VenueOrderState]:
        return self._timer.call("open_orders", self.inner.open_orders)

    def poll_events(self) -> list[BrokerEvent]:
        return self._timer.call("poll_events", self.inner.poll_events)

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        return self._timer.call("fills", lambda: self.inner.fills(since=since))

    def positions(self) -> dict[str, Decimal]:
        return self._timer.call("positions", self.inner.positions)

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        # Not measured: a capability the adapter knows, answered without asking the venue.
        return self.inner.supports_stop_orders(asset_class)


class MeasuredMarketData:
    """The LiveMarketData port around another feed, measured as operation "poll".

    A poll may wait up to `timeout` for a bar by contract, so its latency is the time it took
    beyond that allowed wait (0 for a feed that answers in time): the wait is the market's
    pace, the overrun is the feed holding the trading loop up. Historical bars() are not
    wrapped: today's sources are local (CSV, synthetic), and timing an iterator's items says
    nothing about a request; a REST history adapter measures its requests in its client."""

    def __init__(self, *, inner: LiveMarketData, venue: str, recorder: HealthRecorder,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.inner = inner
        self._timer = _Timer(venue=venue, recorder=recorder, monotonic=monotonic)

    def poll(self, *, timeout: float) -> list[Bar]:
        return self._timer.call("poll", lambda: self.inner.poll(timeout=timeout), allowed_wait=timeout)
