"""A strategy for the live end-to-end tests, loaded through the config as a user's file would be.
Stateless on purpose: its target is a function of the bar alone, so a shadow paper bot that
runs the same spec on the same bars cannot shift it."""

from domain.strategy import Signal, Target


class OddCloseLong:
    """LONG when the bar closes on an odd whole number, FLAT otherwise."""

    name = "odd_close_long"
    warmup = 1

    def on_bar(self, window):
        long = int(window.last.close) % 2 == 1
        return Signal(target=Target.LONG if long else Target.FLAT, bar_ts=window.last.ts, reason="odd close")
