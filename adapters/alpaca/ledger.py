"""What this session already told the application, so nothing is said twice.

Events come from three places (submit's answer, the trade_updates stream, the REST resync
after a reconnect); the ledger passes each fill once (by fill_id), each order's ack once and
each order's end once, and queues them for poll_events. Thread-safe: the stream thread
writes, the bot's thread reads.
"""

from __future__ import annotations

import threading
from datetime import datetime

from domain.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from domain.fill import Fill

Terminal = OrderCancelled | OrderExpired | OrderRejected


class EventLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fill_ids: set[str] = set()
        self._accepted: dict[str, str] = {}  # client_order_id -> venue order id
        self._ended: set[str] = set()
        self._queue: list[BrokerEvent] = []
        self.last_event_ts: datetime | None = None

    def _seen(self, ts: datetime) -> None:
        if self.last_event_ts is None or ts > self.last_event_ts:
            self.last_event_ts = ts

    def accepted(self, *, client_order_id: str, venue_order_id: str, ts: datetime,
                 claim: bool = False) -> list[BrokerEvent]:
        """With `claim` (submit's own answer), an ack the stream queued but nobody polled yet
        is taken out of the queue and returned here instead: submit tells its ack itself."""
        with self._lock:
            self._seen(ts)
            if client_order_id in self._accepted:
                if claim:
                    for index, event in enumerate(self._queue):
                        if isinstance(event, OrderAccepted) and event.client_order_id == client_order_id:
                            return [self._queue.pop(index)]
                return []
            self._accepted[client_order_id] = venue_order_id
            return [OrderAccepted(client_order_id=client_order_id, venue_order_id=venue_order_id, ts=ts)]

    def fill(self, fill: Fill) -> list[BrokerEvent]:
        with self._lock:
            self._seen(fill.ts)
            if fill.fill_id in self._fill_ids:
                return []
            self._fill_ids.add(fill.fill_id)
            return [OrderFilled(fill=fill)]

    def ended(self, event: Terminal, *, claim: bool = False) -> list[BrokerEvent]:
        """With `claim` (cancel's own answer), a queued end of the order is returned here."""
        with self._lock:
            self._seen(event.ts)
            if event.client_order_id in self._ended:
                if claim:
                    for index, queued in enumerate(self._queue):
                        if (isinstance(queued, (OrderCancelled, OrderExpired, OrderRejected))
                                and queued.client_order_id == event.client_order_id):
                            return [self._queue.pop(index)]
                return []
            self._ended.add(event.client_order_id)
            return [event]

    def finished(self, client_order_id: str) -> None:
        """The order filled completely: no end event will come (a fill is its end)."""
        with self._lock:
            self._ended.add(client_order_id)

    def watched(self) -> set[str]:
        """Orders acknowledged in this session whose end we have not told yet."""
        with self._lock:
            return set(self._accepted) - self._ended

    def queue(self, events: list[BrokerEvent]) -> None:
        with self._lock:
            self._queue.extend(events)

    def drain(self) -> list[BrokerEvent]:
        with self._lock:
            events, self._queue = self._queue, []
            return events
