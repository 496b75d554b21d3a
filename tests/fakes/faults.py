"""A FaultInjector for the use-case and store tests: something happens at one point of the order path."""

from __future__ import annotations

from collections.abc import Callable


class RunAt:
    """Runs `act` when the order path reaches `point` (once): a halt landing between an
    intent's commit and its send, say."""

    def __init__(self, point: str, act: Callable[[], None]) -> None:
        self.point, self.act, self.done = point, act, False

    def reached(self, point: str) -> None:
        if point == self.point and not self.done:
            self.done = True
            self.act()
