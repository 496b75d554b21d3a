"""The go-live check of a bot through the admin platform: one at a time, and a pause between two."""

from __future__ import annotations

import pytest

from entrypoints.web.golive_desk import CheckBusy, CheckGate


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_check_at_a_time_per_bot_and_none_within_the_cooldown():
    ticks = Ticks()
    gate = CheckGate(cooldown_seconds=15, monotonic=ticks)

    def nested() -> bool:
        with pytest.raises(CheckBusy, match="under way"):
            gate.run("btc", lambda: True)
        assert gate.run("eth", lambda: False) is False  # another bot is not held up
        return True

    assert gate.run("btc", nested) is True
    ticks.now += 14
    with pytest.raises(CheckBusy, match="wait 1 s"):
        gate.run("btc", lambda: True)
    ticks.now += 1
    assert gate.run("btc", lambda: True) is True


def test_a_check_that_raised_frees_the_bot():
    ticks = Ticks()
    gate = CheckGate(cooldown_seconds=0, monotonic=ticks)

    def broken() -> bool:
        raise RuntimeError("the checklist process died")

    with pytest.raises(RuntimeError):
        gate.run("btc", broken)
    assert gate.run("btc", lambda: True) is True
