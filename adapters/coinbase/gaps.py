"""Lost websocket messages, seen from the numbers Coinbase puts on them.

Every message of an Advanced Trade websocket connection carries `sequence_num`, counted per
connection across all its channels (subscription acks, heartbeats, user updates), and each
heartbeats message a `heartbeat_counter` that goes up by one a second. A number skipped means
a message was lost: for the user channel possibly an order's FILLED or CANCELLED update, which
nothing would ever repeat. The owner resyncs over REST when `check` reports a gap.

Both counts start again on a new connection: `reset()` is called when the connection drops,
before the new one delivers anything. A number that goes back (a duplicate, or out of order)
is not a gap: nothing is missing, and the highest number seen stays the reference.
"""

from __future__ import annotations

from collections.abc import Mapping


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


class GapDetector:
    """Not thread-safe: one connection's messages, in the order they arrive."""

    def __init__(self) -> None:
        self._sequence: int | None = None
        self._counter: int | None = None
        self.gaps = 0  # gaps seen over the whole run (health report, tests)

    def reset(self) -> None:
        self._sequence = None
        self._counter = None

    def check(self, message: Mapping) -> str | None:
        """What was lost before this message, or None when nothing was."""
        found = []
        sequence = _number(message.get("sequence_num"))
        if sequence is not None:
            if self._sequence is not None and sequence > self._sequence + 1:
                found.append(f"sequence_num jumped from {self._sequence} to {sequence} "
                             f"({sequence - self._sequence - 1} message(s) lost)")
            self._sequence = sequence if self._sequence is None else max(self._sequence, sequence)
        if message.get("channel") == "heartbeats":
            for event in message.get("events") or []:
                counter = _number(event.get("heartbeat_counter")) if isinstance(event, Mapping) else None
                if counter is None:
                    continue
                if self._counter is not None and counter > self._counter + 1:
                    found.append(f"heartbeat_counter jumped from {self._counter} to {counter} "
                                 f"({counter - self._counter - 1} heartbeat(s) missed)")
                self._counter = counter if self._counter is None else max(self._counter, counter)
        if not found:
            return None
        self.gaps += 1
        return "; ".join(found)
