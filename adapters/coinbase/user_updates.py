"""Order updates from the user websocket, turned into BrokerEvents when the broker is polled.

The stream's thread only queues messages (and flags reconnects); the polling thread maps them
through the session's OrderTracker. What changed while the stream was blind is read over REST
(orders changed since the last event, minus `resync_margin`, every order still open, and the
fills since) and emitted, deduplicated by fill id like everything else, after:
- a reconnect;
- a message that cannot be read;
- a lost message: a gap in the connection's sequence_num or in the heartbeat_counter (gaps.py);
- a connection silent for `silence` seconds: the venue sends a heartbeat every second, so
  silence means messages are not getting through.
A REST view that lags the stream (the order still OPEN a moment after its lost FILLED update)
is caught by the next resync or by reconciliation, which reads the same REST state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from datetime import timedelta

from adapters.coinbase.gaps import GapDetector
from adapters.coinbase.http import MalformedResponse
from adapters.coinbase.mapping import items, text, ts
from adapters.coinbase.session import BrokerSession
from adapters.coinbase.tracking import update_from_rest, update_from_ws
from adapters.coinbase.venue_reads import VenueReads, iso
from application.ports import Clock
from domain.errors import TransientError
from domain.orders.events import BrokerEvent

log = logging.getLogger(__name__)


class UserUpdates:
    def __init__(self, *, session: BrokerSession, reads: VenueReads, clock: Clock,
                 resync_margin: timedelta = timedelta(minutes=1), silence: float | None = 5.0) -> None:
        self._session = session
        self._reads = reads
        self._clock = clock
        self._resync_margin = resync_margin
        self._inbox: queue.SimpleQueue[Mapping] = queue.SimpleQueue()
        self._resync = threading.Event()
        self._queue: list[BrokerEvent] = []
        self._started = clock.now()
        self.gaps = GapDetector()
        self.resyncs = 0  # REST resyncs done (health report, tests)
        self._silence = silence
        self._heard_at: float | None = None  # monotonic time of the connection's last message

    # Called by the user stream (its own thread): only queue work for drain().

    def on_user_message(self, message: Mapping) -> None:
        self._heard_at = time.monotonic()
        # Every message counts for the gaps (heartbeats and acks too), in the order received.
        lost = self.gaps.check(message)
        if lost is not None:
            log.warning("coinbase user stream: %s; resyncing orders and fills over REST", lost)
            self._resync.set()
        if message.get("channel") == "user":
            self._inbox.put(message)

    def on_reconnect(self) -> None:
        self._resync.set()

    def on_disconnect(self) -> None:
        self.gaps.reset()  # a new connection numbers its messages from 0 again
        self._heard_at = None  # the socket reconnects; its reconnect resyncs

    def _check_silence(self) -> None:
        heard = self._heard_at
        if self._silence is None or heard is None or time.monotonic() - heard <= self._silence:
            return
        log.warning("coinbase user stream: no message for %.1fs although the venue sends a heartbeat every "
                    "second; resyncing orders and fills over REST", time.monotonic() - heard)
        self._heard_at = time.monotonic()  # again after another silent period, not at every poll
        self._resync.set()

    # Called by poll_events.

    def drain(self) -> list[BrokerEvent]:
        self._check_silence()
        with self._session.lock:
            if self._resync.is_set():
                self._resync.clear()
                try:
                    self.resyncs += 1
                    self._queue.extend(self._resync_over_rest())
                except TransientError as error:
                    log.warning("coinbase: resync over REST failed, will retry: %s", error)
                    self._resync.set()
            while True:
                try:
                    message = self._inbox.get_nowait()
                except queue.Empty:
                    break
                self._queue.extend(self._from_message(message))
            self._queue.extend(self._session.tracker.catch_up())
            events, self._queue = self._queue, []
            return events

    def _from_message(self, message: Mapping) -> list[BrokerEvent]:
        what = "user channel"
        at = self._clock.now()
        try:
            if message.get("timestamp"):
                at = ts(message, "timestamp", what=what)
            events: list[BrokerEvent] = []
            for event in items(message, "events", what=what):
                for row in items(event, "orders", what=what):
                    events.extend(self._session.tracker.apply(update_from_ws(row, at=at, what=what)))
            return events
        except MalformedResponse as error:
            log.warning("%s; resyncing over REST", error)
            self._resync.set()
            return []

    def _resync_over_rest(self) -> list[BrokerEvent]:
        """After a reconnect: what changed while the stream was down, from REST."""
        tracker = self._session.tracker
        since = (tracker.last_event_ts or self._started) - self._resync_margin
        what = "resync orders"
        events: list[BrokerEvent] = []
        rows = {text(r, "order_id", what=what): r for r in self._reads.list_orders(what, start_date=iso(since))}
        for vid in tracker.open_ids():
            if vid not in rows:
                rows[vid] = self._reads.order(vid, what=what)
        for row in rows.values():
            events.extend(tracker.apply(update_from_rest(row, at=self._clock.now(), what=what)))
        events.extend(tracker.emit_fills(self._reads.fills(since=since)))
        return events
