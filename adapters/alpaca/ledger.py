"""What this session already told the application, so nothing is said twice.

Events come from three places (submit's answer, the trade_updates stream, the REST resync
after a reconnect); the ledger passes each fill once (by fill_id), each order's ack once and
each order's end once, and queues them for poll_events. Thread-safe: the stream thread
writes, the bot's thread reads.

An end (cancelled, expired) is told only once the fills the venue counted in it have been
told: REST and the stream are separate channels at Alpaca, so a read-back may say
"canceled, filled_qty 2" before the partial fill reaches us. Such an end waits (deferred)
until the fills make up the venue's final quantity; the broker looks for them over REST and
lets the end go after a bounded wait (a fill that comes later is still recorded: fills are facts).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal

import attrs

from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from domain.orders.fill import Fill

Terminal = OrderCancelled | OrderExpired | OrderRejected


@attrs.define(kw_only=True)
class DeferredEnd:
    event: Terminal
    final_filled: Decimal  # what the venue says filled in all
    since: float  # time.monotonic() when it was deferred
    checked: float  # when its fills were last looked for over REST


class EventLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fill_ids: set[str] = set()
        self._accepted: dict[str, str] = {}  # client_order_id -> venue order id
        self._ended: set[str] = set()
        self._filled: dict[str, Decimal] = {}  # client_order_id -> cumulative quantity told
        self._charged: dict[str, Decimal] = {}  # client_order_id -> cumulative commission told
        self._executions: dict[str, str] = {}  # the stream's execution_id -> our fill_id
        self._deferred: dict[str, DeferredEnd] = {}
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

    def fill(self, fill: Fill, *, cumulative: Decimal, execution_id: str | None = None,
             commission_total: Decimal | None = None) -> list[BrokerEvent]:
        """`cumulative`: the order's filled quantity after this fill. A deferred end whose
        final quantity this completes follows the fill. `execution_id` (the stream's) lets a
        later bust or restatement of that execution name the fill. `commission_total`: the
        order's cumulative commission as the answer showed it; a new fill carries the part of
        it no fill has carried yet (each fill: what the venue charged since the one before)."""
        with self._lock:
            self._seen(fill.ts)
            if execution_id:
                self._executions.setdefault(execution_id, fill.fill_id)
            if fill.fill_id in self._fill_ids:
                return []
            self._fill_ids.add(fill.fill_id)
            coid = fill.client_order_id
            told = self._charged.get(coid, ZERO)
            if commission_total is not None and commission_total > told:
                self._charged[coid] = commission_total
                fill = attrs.evolve(fill, commission=fill.commission + commission_total - told)
            self._filled[coid] = max(self._filled.get(coid, ZERO), cumulative)
            events: list[BrokerEvent] = [OrderFilled(fill=fill)]
            deferred = self._deferred.get(coid)
            if deferred is not None and self._filled[coid] >= deferred.final_filled:
                del self._deferred[coid]
                events.append(deferred.event)
            return events

    def fill_of_execution(self, execution_id: str | None) -> str | None:
        with self._lock:
            return None if execution_id is None else self._executions.get(execution_id)

    def restated(self, client_order_id: str, *, filled: Decimal) -> None:
        """The venue corrected the order's fills: what it says filled is what counts now."""
        with self._lock:
            self._filled[client_order_id] = filled

    def filled(self, client_order_id: str) -> Decimal:
        with self._lock:
            return self._filled.get(client_order_id, ZERO)

    def ended(self, event: Terminal, *, final_filled: Decimal = ZERO, claim: bool = False) -> list[BrokerEvent]:
        """With `claim` (cancel's own answer), a queued end of the order is returned here.
        An end whose `final_filled` is more than the fills told so far is deferred."""
        with self._lock:
            self._seen(event.ts)
            coid = event.client_order_id
            if coid in self._ended:
                if claim:
                    for index, queued in enumerate(self._queue):
                        if (isinstance(queued, (OrderCancelled, OrderExpired, OrderRejected))
                                and queued.client_order_id == coid):
                            return [self._queue.pop(index)]
                return []
            self._ended.add(coid)
            if self._filled.get(coid, ZERO) < final_filled:
                now = time.monotonic()
                self._deferred[coid] = DeferredEnd(event=event, final_filled=final_filled, since=now, checked=now)
                return []
            return [event]

    def deferred(self) -> dict[str, DeferredEnd]:
        with self._lock:
            return dict(self._deferred)

    def release(self, client_order_id: str) -> list[BrokerEvent]:
        """Let a deferred end go although its fills are not all told (after the bounded wait)."""
        with self._lock:
            deferred = self._deferred.pop(client_order_id, None)
            return [] if deferred is None else [deferred.event]

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
