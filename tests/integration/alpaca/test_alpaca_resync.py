"""The market data stream's REST backfill after a reconnect, through the REAL alpaca-py data
stream and historical client against the loopback fake: minutes missed while the websocket
was down come back once, in order, before any bar streamed after them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.alpaca import AlpacaVenue, build_alpaca_venue
from domain.accounting.market import Bar
from tests.fakes.alpaca_fixtures import FAST
from tests.support.waiting import wait_until
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.clock import FixedClock

T0 = datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)
BARS = "/v2/stocks/bars"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(2) + timedelta(seconds=5))


@pytest.fixture
def venue(fake_alpaca: FakeAlpaca, clock: FixedClock) -> Iterator[AlpacaVenue]:
    built = build_alpaca_venue(**fake_alpaca.connection(), clock=clock, **FAST)
    yield built
    built.close()


def push(fake: FakeAlpaca, symbol: str, minute: int, price: float) -> None:
    fake.data_stream.push_bar(symbol=symbol, ts=at(minute), open=price, high=price + 1, low=price - 1,
                              close=price, volume=100)


def row(minute: int, price: float) -> tuple:
    return (at(minute), price, price + 1, price - 1, price, 100)


def collect(feed, count: int, *, timeout: float = 5.0, settle: float = 0.3) -> list[Bar]:
    """Poll until `count` bars came (or the timeout), then `settle` more seconds so a
    duplicate or a late bar would be caught."""
    bars: list[Bar] = []
    deadline = time.monotonic() + timeout
    while len(bars) < count and time.monotonic() < deadline:
        bars += feed.poll(timeout=0.05)
    end = time.monotonic() + settle
    while time.monotonic() < end:
        bars += feed.poll(timeout=0.05)
    return bars


def keys(bars: list[Bar]) -> list[tuple[datetime, str]]:
    return [(b.ts, b.symbol) for b in bars]


def streaming(fake: FakeAlpaca, venue: AlpacaVenue, symbols: set[str], *, connections: int) -> bool:
    return wait_until(lambda: venue.market_data_connections >= connections
                      and fake.data_stream.subscribed_bars() == symbols)


def test_minutes_missed_while_the_data_stream_was_down_come_back_once_in_order(fake_alpaca, venue, clock):
    feed = venue.market_data(["AAPL", "MSFT"])
    assert streaming(fake_alpaca, venue, {"AAPL", "MSFT"}, connections=1)
    for minute in (0, 1):
        push(fake_alpaca, "AAPL", minute, 100 + minute)
        push(fake_alpaca, "MSFT", minute, 400 + minute)
    before = collect(feed, 4, settle=0)
    assert keys(before) == [(at(0), "AAPL"), (at(0), "MSFT"), (at(1), "AAPL"), (at(1), "MSFT")]

    fake_alpaca.drop_streams()
    clock.set(at(5) + timedelta(seconds=30))  # down from minute 2 to the middle of minute 5
    fake_alpaca.add_bars("AAPL", [row(1, 101), row(2, 102), row(3, 103), row(4, 104),
                                  row(5, 999)])  # minute 5 is still forming: REST shows it half made
    fake_alpaca.add_bars("MSFT", [row(1, 401), row(2, 402), row(4, 404)])  # no trade in minute 3
    # The backfill's answer comes late: the minute-5 bar is streamed while it is still running.
    fake_alpaca.delay_next(method="GET", path=BARS, seconds=0.3)
    fake_alpaca.restore_streams()
    assert streaming(fake_alpaca, venue, {"AAPL", "MSFT"}, connections=2)
    assert wait_until(lambda: fake_alpaca.count("GET", BARS) == 1)
    push(fake_alpaca, "AAPL", 5, 105)  # the finished minute 5

    after = collect(feed, 6)

    assert keys(before + after) == [
        (at(0), "AAPL"), (at(0), "MSFT"), (at(1), "AAPL"), (at(1), "MSFT"),
        (at(2), "AAPL"), (at(2), "MSFT"), (at(3), "AAPL"), (at(4), "AAPL"), (at(4), "MSFT"),
        (at(5), "AAPL")]
    assert [b.close for b in after] == [Decimal(102), Decimal(402), Decimal(103), Decimal(104), Decimal(404),
                                        Decimal(105)]  # minute 5 as streamed, never the half-made REST bar
    (request,) = fake_alpaca.requests_to("GET", BARS)  # the first connection had nothing to read back
    assert request.query["symbols"] == "AAPL,MSFT" and request.query["timeframe"] == "1Min"
    assert datetime.fromisoformat(request.query["start"]).replace(tzinfo=timezone.utc) == at(2)
    assert venue._hub.backfills == 2


def test_a_failed_backfill_is_retried_before_the_next_streamed_bar_and_replays_are_dropped(
        fake_alpaca, venue, clock):
    feed = venue.market_data(["AAPL"], timedelta(minutes=5))
    assert streaming(fake_alpaca, venue, {"AAPL"}, connections=1)
    push(fake_alpaca, "AAPL", 0, 100)
    push(fake_alpaca, "AAPL", 1, 101)
    assert wait_until(lambda: venue._hub.backfills == 1 and fake_alpaca.data_stream.live_connections() == 1)

    fake_alpaca.drop_streams()
    clock.set(at(3) + timedelta(seconds=30))
    fake_alpaca.add_bars("AAPL", [row(2, 102), row(3, 103)])
    fake_alpaca.fail_next(method="GET", path=BARS, status=503, times=3)  # every attempt of the first backfill
    fake_alpaca.restore_streams()
    assert streaming(fake_alpaca, venue, {"AAPL"}, connections=2)
    assert wait_until(lambda: fake_alpaca.count("GET", BARS) == 3)
    clock.set(at(4) + timedelta(seconds=2))
    push(fake_alpaca, "AAPL", 3, 103)  # minute 3 closed after the reconnect: the stream sends it, REST has it too
    push(fake_alpaca, "AAPL", 4, 104)

    (bar,) = collect(feed, 1)

    # Minutes 0-4 make one 5-minute bar: each minute counted once (the volume says so).
    assert bar == Bar(symbol="AAPL", ts=T0, open=Decimal(100), high=Decimal(105), low=Decimal(99),
                      close=Decimal(104), volume=Decimal(500), interval=timedelta(minutes=5))
    assert venue._hub.replayed_bars == 1 and venue._hub.backfills == 2
    assert fake_alpaca.count("GET", BARS) == 4
