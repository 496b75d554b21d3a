"""Venue events waiting to be recorded. Polling a venue takes its events away, so they are
held here until each one is committed: a store outage delays them, never loses them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from application.ports import UnitOfWorkFactory
from application.trading.apply_broker_events import EventOutcome, apply_broker_events
from domain.orders.events import BrokerEvent


@attrs.define
class EventInbox:
    _events: list[BrokerEvent] = attrs.field(factory=list)
    # Told of each event once it is recorded, with its order's bot (the reject streak's alert).
    listener: Callable[[str, BrokerEvent], None] | None = attrs.field(default=None, kw_only=True)

    def add(self, events: Iterable[BrokerEvent]) -> None:
        self._events.extend(events)

    def __len__(self) -> int:
        return len(self._events)

    def apply(self, *, uow_factory: UnitOfWorkFactory) -> EventOutcome:
        """Record the events oldest first; each leaves the inbox only once committed."""
        applied = duplicates = ignored = 0
        bots: set[str] = set()
        alerts: list[str] = []
        while self._events:
            outcome = apply_broker_events(self._events[:1], uow_factory=uow_factory)
            event = self._events.pop(0)
            if self.listener is not None and outcome.applied and len(outcome.touched_bots) == 1:
                self.listener(next(iter(outcome.touched_bots)), event)
            applied += outcome.applied
            duplicates += outcome.duplicates
            ignored += outcome.ignored
            bots |= outcome.touched_bots
            alerts += outcome.alerts
        return EventOutcome(applied=applied, duplicates=duplicates, ignored=ignored, touched_bots=frozenset(bots),
                            alerts=tuple(alerts))
