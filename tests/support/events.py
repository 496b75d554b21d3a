"""Collecting a broker's events (its `poll_events`) in the adapter tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from domain.orders.events import BrokerEvent

POLL_INTERVAL = 0.01


class PollsEvents(Protocol):
    def poll_events(self) -> list[BrokerEvent]: ...


def poll_until(broker: PollsEvents, done: Callable[[list[BrokerEvent]], object], *, timeout: float = 5.0,
               settle: float = 0.0) -> list[BrokerEvent]:
    """Poll events until `done(all so far)` holds, failing after `timeout` seconds; then keep
    polling `settle` seconds more so that a duplicate would be caught. Returns everything polled."""
    seen: list[BrokerEvent] = []
    deadline = time.monotonic() + timeout
    while True:
        seen += broker.poll_events()
        if done(seen):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"events never satisfied the condition in {timeout} s: {seen}")
        time.sleep(POLL_INTERVAL)
    return seen + events_for(broker, seconds=settle)


def events_for(broker: PollsEvents, *, seconds: float) -> list[BrokerEvent]:
    """Everything the broker reports within `seconds` (for "nothing more arrives" checks)."""
    seen: list[BrokerEvent] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        seen += broker.poll_events()
        time.sleep(POLL_INTERVAL)
    return seen
