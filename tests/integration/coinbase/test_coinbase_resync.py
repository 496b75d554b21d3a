"""Market-data resync after a websocket drop: the bars missed while it was down come from the
REST candles endpoint (through the real SDK, against the loopback fake venue), each exactly
once, in time order, before any newer streamed bar, and never while still forming."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal

from tests.fakes.coinbase_fixtures import NOW, connect
from tests.support.waiting import wait_until

D = Decimal


def collect(stream, count: int, *, timeout: float = 5.0) -> list:
    bars: list = []
    deadline = time.monotonic() + timeout
    while len(bars) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} bars, got {bars}")
        bars.extend(stream.poll(timeout=0.02))
    return bars


def ohlcv(bar) -> tuple:
    return (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)


def at(minutes: int, seconds: int = 0) -> datetime:
    return NOW + timedelta(minutes=minutes, seconds=seconds)


def drop_until_noticed(fake, stream) -> None:
    fake.ws.drop()
    wait_until(lambda: stream.resyncing)


def heard(stream, push) -> None:
    """Push, then wait until the stream's socket has the message: the test's clock may only
    move once the trade was handled at the time the test meant."""
    before = stream._socket.received
    push()
    wait_until(lambda: stream._socket.received > before)


def test_candles_missed_during_a_drop_are_backfilled_once_in_order_before_newer_streamed_bars(fake, clock):
    venue = connect(fake, clock, user_stream=False, resync_retry=0.05)
    stream = venue.market_data(["BTC/USD"], timedelta(minutes=5))
    emitted: list = []
    try:
        wait_until(lambda: fake.ws.subscribers("candles") == 1)
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(0), open="100", high="101", low="99",
                                               close="100", volume="1"))
        clock.set(at(5, 1))
        # A partial 12:05 candle: the stream sees only its start before the drop.
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(5), open="100", high="100", low="100",
                                               close="100", volume="1"))
        emitted += collect(stream, 1)
        assert [b.ts for b in emitted] == [at(0)]

        clock.set(at(7))
        drop_until_noticed(fake, stream)
        for minute, close in ((5, "104"), (10, "106"), (15, "103")):
            fake.add_rest_candle("BTC-USD", granularity="FIVE_MINUTE", start=at(minute), open="100", high="107",
                                 low="98", close=close, volume="7")
        # Still forming when the stream comes back: REST serves it, it must not come out yet.
        fake.add_rest_candle("BTC-USD", granularity="FIVE_MINUTE", start=at(20), open="103", high="103",
                             low="103", close="103", volume="1")
        fake.fault("candles", "500", times=3)  # the first backfill attempt fails all its retries
        clock.set(at(23))
        fake.ws.restore()
        wait_until(lambda: fake.ws.subscribers("candles") == 1)

        backfilled = collect(stream, 3)
        assert [ohlcv(b) for b in backfilled] == [
            (at(5), D(100), D(107), D(98), D(104), D(7)),  # REST's complete candle, not the partial one
            (at(10), D(100), D(107), D(98), D(106), D(7)),
            (at(15), D(100), D(107), D(98), D(103), D(7))]
        assert fake.count("candles") >= 4  # 3 failed attempts, then the one that answered
        assert stream.poll(timeout=0.1) == []  # 12:20 is still forming
        emitted += backfilled

        # The stream's own 12:20 bar started before the subscription came back: partial.
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(20), open="103", high="103", low="103",
                                               close="103", volume="1"))
        clock.set(at(25, 1))  # 12:20 ended, but not `close_grace` ago: REST may not be final yet
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(25), open="105", high="106", low="104",
                                               close="105", volume="2"))
        assert stream.poll(timeout=0.1) == []
        fake.add_rest_candle("BTC-USD", granularity="FIVE_MINUTE", start=at(20), open="103", high="108",
                             low="101", close="105", volume="9")
        clock.set(at(25, 3))
        (rest_bar,) = collect(stream, 1)
        assert ohlcv(rest_bar) == (at(20), D(103), D(108), D(101), D(105), D(9))
        assert not stream.resyncing
        emitted.append(rest_bar)

        clock.set(at(30, 1))
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(30), open="105", high="105", low="105",
                                               close="105", volume="1"))
        (streamed,) = collect(stream, 1)
        assert ohlcv(streamed) == (at(25), D(105), D(106), D(104), D(105), D(2))
        emitted.append(streamed)
        assert stream.poll(timeout=0.05) == []

        assert [b.ts for b in emitted] == [at(m) for m in (0, 5, 10, 15, 20, 25)]
        assert {b.symbol for b in emitted} == {"BTC/USD"}
        granularities = {r.query["granularity"][0] for r in fake.requests if r.op == "candles"}
        assert granularities == {"FIVE_MINUTE"}
        # The venue's `end` is inclusive: no request reached into a bucket still forming.
        ends = [int(r.query["end"][0]) for r in fake.requests if r.op == "candles"]
        assert max(ends) < int(at(25).timestamp())
    finally:
        venue.close()


def test_bars_built_from_trades_are_backfilled_from_one_minute_candles_aggregated(fake, clock):
    venue = connect(fake, clock, user_stream=False)
    stream = venue.market_data(["ETH-USD"], timedelta(minutes=2))
    try:
        assert not stream.uses_candles
        wait_until(lambda: fake.ws.subscribers("market_trades") == 1)
        clock.set(at(0, 30))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="1", price="10", size="1", at=at(0, 10)))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="2", price="11", size="1", at=at(1, 50)))
        clock.set(at(2, 10))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="3", price="12", size="1", at=at(2, 5)))
        (first,) = collect(stream, 1)
        assert ohlcv(first) == (at(0), D(10), D(11), D(10), D(11), D(2))

        drop_until_noticed(fake, stream)
        minutes = {2: ("12", "13", "11", "12"), 3: ("12", "15", "12", "14"), 4: ("14", "14", "9", "10"),
                   5: ("10", "11", "10", "11"), 6: ("11", "12", "11", "12")}  # no trade in 12:07: no candle
        for minute, (o, h, low, c) in minutes.items():
            fake.add_rest_candle("ETH-USD", granularity="ONE_MINUTE", start=at(minute), open=o, high=h, low=low,
                                 close=c, volume="2")
        clock.set(at(7, 30))  # back during 12:06-12:08: that bar overlapped the outage
        fake.ws.restore()
        wait_until(lambda: fake.ws.subscribers("market_trades") == 1)

        backfilled = collect(stream, 2)
        assert [ohlcv(b) for b in backfilled] == [(at(2), D(12), D(15), D(11), D(14), D(4)),
                                                  (at(4), D(14), D(14), D(9), D(11), D(4))]
        assert all(b.interval == timedelta(minutes=2) and b.symbol == "ETH-USD" for b in backfilled)

        # 12:06, seen in part
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="4", price="20", size="5", at=at(7, 40)))
        clock.set(at(8, 5))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="5", price="21", size="1", at=at(8, 1)))
        (overlapped,) = collect(stream, 1)
        assert ohlcv(overlapped) == (at(6), D(11), D(12), D(11), D(12), D(2))  # REST's, not the stream's
        clock.set(at(10, 3))  # 12:08 closes on time, from the stream
        (streamed,) = collect(stream, 1)
        assert ohlcv(streamed) == (at(8), D(21), D(21), D(21), D(21), D(1))
        assert stream.poll(timeout=0.05) == []
        assert {r.query["granularity"][0] for r in fake.requests if r.op == "candles"} == {"ONE_MINUTE"}
    finally:
        venue.close()


def test_an_interval_no_candle_divides_reports_the_gap_and_streams_on(fake, clock, caplog):
    venue = connect(fake, clock, user_stream=False)
    stream = venue.market_data(["ETH-USD"], timedelta(seconds=30))
    try:
        wait_until(lambda: fake.ws.subscribers("market_trades") == 1)
        clock.set(at(0, 40))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="1", price="10", size="1", at=at(0, 5)))
        heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="2", price="11", size="1", at=at(0, 35)))
        assert [b.ts for b in collect(stream, 1)] == [at(0)]
        drop_until_noticed(fake, stream)
        clock.set(at(3, 10))
        with caplog.at_level(logging.WARNING, logger="adapters.coinbase.streams"):
            fake.ws.restore()
            wait_until(lambda: fake.ws.subscribers("market_trades") == 1)
            heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="3", price="12", size="1",
                                                  at=at(3, 15)))  # overlapped: partial
            clock.set(at(3, 40))
            heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="4", price="13", size="1", at=at(3, 31)))
            clock.set(at(4, 5))
            heard(stream, lambda: fake.push_trade("ETH-USD", trade_id="5", price="14", size="1", at=at(4, 1)))
            (bar,) = collect(stream, 1)
        assert ohlcv(bar) == (at(3, 30), D(13), D(13), D(13), D(13), D(1))
        assert "no granularity that divides 0:00:30" in caplog.text
        assert fake.count("candles") == 0
    finally:
        venue.close()


def test_a_lost_candle_update_is_seen_as_a_gap_and_its_bar_comes_from_rest(fake, clock):
    venue = connect(fake, clock, user_stream=False, resync_retry=0.05)
    stream = venue.market_data(["BTC-USD"], timedelta(minutes=5))
    try:
        wait_until(lambda: fake.ws.subscribers("candles") == 1)
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(0), open="100", high="101", low="99",
                                               close="100", volume="1"))
        fake.ws.lose(1, channel="candles")  # the update that took the 12:00 candle to 105 never arrives
        fake.push_candle("BTC-USD", start=at(0), open="100", high="105", low="99", close="104", volume="3")
        wait_until(lambda: fake.ws.lost == 1)
        fake.add_rest_candle("BTC-USD", granularity="FIVE_MINUTE", start=at(0), open="100", high="105", low="99",
                             close="104", volume="3")
        clock.set(at(5, 1))
        heard(stream, lambda: fake.push_candle("BTC-USD", start=at(5), open="104", high="104", low="104",
                                               close="104", volume="1"))
        clock.set(at(5, 3))  # 12:00 ended `close_grace` ago: REST has it whole
        (bar,) = collect(stream, 1)
        assert ohlcv(bar) == (at(0), D(100), D(105), D(99), D(104), D(3))  # REST's, not the stream's partial one
        assert stream.gaps == 1
        assert stream.poll(timeout=0.05) == []
    finally:
        venue.close()
