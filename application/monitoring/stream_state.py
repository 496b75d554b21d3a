"""A session's market-data stream state, written where the watchdog reads it: a VenueMonitor
(ticked with each supervision) that records the stream as the venue operation STREAM_OPERATION,
a success while it is connected and an error while it is down, once a second at most. The
figures reach the store with the session's venue-health flush, every heartbeat, so the
watchdog, in another process, can tell how long a websocket has been down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from application.monitoring.policy import STREAM_OPERATION
from application.venues.venue_health import HealthRecorder

log = logging.getLogger(__name__)

DISCONNECTED = "stream: disconnected"


class StreamStateMonitor:
    def __init__(self, *, venue: str, connected: Callable[[], bool], recorder: HealthRecorder,
                 every: timedelta = timedelta(seconds=1)) -> None:
        self._venue = venue
        self._connected = connected
        self._recorder = recorder
        self._every = every
        self._last: datetime | None = None

    def tick(self, *, now: datetime) -> None:
        if self._last is not None and now - self._last < self._every:
            return
        self._last = now
        try:
            up = self._connected()
        except Exception:  # noqa: BLE001 - a monitor never raises into the session
            log.exception("%s stream state could not be read", self._venue)
            return
        self._recorder.record(venue=self._venue, operation=STREAM_OPERATION, latency_ms=0.0,
                              error=None if up else DISCONNECTED)
