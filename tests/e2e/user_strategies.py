"""User strategies the end-to-end tests load through the config, as a user's file would be
(`strategy = "path/to/user_strategies.py:FlipFlop"`). Not imported by the tests themselves."""

from domain.strategy import Signal, Target


class AlwaysLong:
    """The Feb 13 incident: the same BUY signal, re-evaluated again and again."""

    name = "always_long"
    warmup = 1

    def on_bar(self, window):
        return Signal(target=Target.LONG, bar_ts=window.last.ts, reason="always")


class FlipFlop:
    """LONG on even bars, FLAT on odd ones: an intent on every bar. It counts bars itself:
    the window it sees is bounded, so the window's length stops changing."""

    name = "flip_flop"
    warmup = 1

    def __init__(self):
        self.bars = 0

    def on_bar(self, window):
        self.bars += 1
        long = self.bars % 2 == 0
        return Signal(target=Target.LONG if long else Target.FLAT, bar_ts=window.last.ts, reason="flip")
