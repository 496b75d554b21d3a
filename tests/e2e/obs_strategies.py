"""Strategies for the Sentry and structured-log tests (tests/e2e/test_cli_observability.py),
loaded through the config as a user's file would be. Not imported by the tests themselves."""

import os

from domain.strategy import Signal, Target

# What an Apprise channel URL looks like (a Telegram bot token and chat): a secret in full.
CHANNEL_URL = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321"


class LeakyRaiser:
    """LONG for `trades` bars (orders to log), then it raises with a message that carries the
    venue's secret key and a channel URL, holding the key in a local variable as well: what a
    careless strategy does, and what must never reach Sentry or a log line."""

    name = "leaky_raiser"
    warmup = 1

    def __init__(self, trades=3):
        self.trades = trades
        self.bars = 0

    def on_bar(self, window):
        self.bars += 1
        if self.bars <= self.trades:
            return Signal(target=Target.LONG if self.bars % 2 else Target.FLAT, bar_ts=window.last.ts,
                          reason="warming up")
        api_key = os.environ.get("ALPACA_SECRET_KEY", "")
        raise RuntimeError(f"could not alert {CHANNEL_URL} using {api_key}")


class NotASignal:
    """Returns a string instead of a Signal after `good` bars: the safe wrapper passes it on and
    the cycle fails on it outside the wrapper. The defect ends the session: the CLI's crash path."""

    name = "not_a_signal"
    warmup = 1

    def __init__(self, good=6):
        self.good = good
        self.bars = 0

    def on_bar(self, window):
        self.bars += 1
        if self.bars <= self.good:
            return Signal(target=Target.FLAT, bar_ts=window.last.ts, reason="flat")
        return "LONG"
