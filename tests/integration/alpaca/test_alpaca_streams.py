"""Alpaca's websockets through the REAL alpaca-py stream clients against loopback fakes:
trade updates with reconnect + REST resync, and the one shared market data stream."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.errors import ConfigurationError
from domain.orders.events import OrderFilled
from domain.accounting.market import Bar
from domain.orders.order import OrderType
from tests.fakes.alpaca_fixtures import order
from tests.support.events import events_for, poll_until
from tests.support.waiting import wait_until

T0 = datetime(2024, 3, 5, 14, 30, tzinfo=timezone.utc)


def fills_of(events):
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def test_a_fill_while_the_stream_is_down_is_told_once_after_the_reconnect(fake_alpaca, alpaca):
    alpaca.broker.submit(order("qs-ws", order_type=OrderType.LIMIT, limit="100"))
    assert wait_until(lambda: fake_alpaca.trading_stream.listening() == 1)
    events_for(alpaca.broker, seconds=0.2)  # the first connection's resync is done
    resyncs = alpaca.broker.resyncs

    fake_alpaca.drop_streams()
    fake_alpaca.set_price("AAPL", "99.5")  # fills while nobody listens: the update is lost
    assert fake_alpaca.order("qs-ws").status == "filled"
    fake_alpaca.restore_streams()

    events = poll_until(alpaca.broker, lambda seen: fills_of(seen), timeout=5, settle=0.5)
    (fill,) = fills_of(events)
    assert fill.fill_id == f"{fake_alpaca.order('qs-ws').id}:3" and fill.price == Decimal("99.5")
    assert alpaca.broker.resyncs > resyncs and alpaca.broker.stream_connections >= 2
    # Told once in the session, and the same id as reconciliation reads over REST.
    assert [f.fill_id for f in alpaca.broker.fills()] == [fill.fill_id]


def test_a_fill_seen_on_the_stream_is_not_told_again_by_the_resync(fake_alpaca, alpaca):
    fake_alpaca.set_price("AAPL", "10")
    alpaca.broker.submit(order("qs-both"))
    first = fills_of(poll_until(alpaca.broker, lambda seen: fills_of(seen)))
    fake_alpaca.drop_streams()
    fake_alpaca.restore_streams()
    assert wait_until(lambda: alpaca.broker.stream_connections >= 2)
    again = events_for(alpaca.broker, seconds=0.5)
    assert len(first) == 1 and fills_of(again) == []


def test_stream_bars_become_domain_bars_stamped_with_their_open_time(fake_alpaca, alpaca):
    feed = alpaca.market_data(["AAPL"], timedelta(minutes=1))
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})

    fake_alpaca.data_stream.push_bar(symbol="AAPL", ts=T0, open=190.1, high=190.5, low=189.9, close=190.25,
                                     volume=1200)
    fake_alpaca.data_stream.push_bar(symbol="MSFT", ts=T0, open=1, high=1, low=1, close=1)  # not subscribed

    bars = feed.poll(timeout=2)
    assert bars == [Bar(symbol="AAPL", ts=T0, open=Decimal("190.1"), high=Decimal("190.5"),
                        low=Decimal("189.9"), close=Decimal("190.25"), volume=Decimal(1200))]
    assert feed.poll(timeout=0.05) == []


def test_quotes_give_the_latest_quote(fake_alpaca, alpaca):
    feed = alpaca.market_data(["SPY"])
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"SPY"})
    fake_alpaca.data_stream.push_quote(symbol="SPY", ts=T0, bid=500.1, ask=500.3)
    assert wait_until(lambda: feed.latest_quote("SPY") is not None)
    quote = feed.latest_quote("SPY")
    assert (quote.bid, quote.ask, quote.ts) == (Decimal("500.1"), Decimal("500.3"), T0)
    assert feed.latest_quote("AAPL") is None


def test_a_second_subscription_shares_the_one_data_websocket_of_the_key(fake_alpaca, alpaca):
    first = alpaca.market_data(["AAPL"])
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})
    second = alpaca.market_data(["MSFT", "AAPL"])
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL", "MSFT"})

    fake_alpaca.data_stream.push_bar(symbol="MSFT", ts=T0, open=400, high=401, low=399, close=400.5)
    assert [b.symbol for b in second.poll(timeout=2)] == ["MSFT"]
    assert first.poll(timeout=0.1) == []
    assert fake_alpaca.data_stream.accepted == 1 and fake_alpaca.data_stream.refused_second_connection == 0


def test_longer_intervals_are_aggregated_from_minute_bars(fake_alpaca, alpaca):
    feed = alpaca.market_data(["AAPL"], timedelta(minutes=5))
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})
    for minute, (o, h, l, c) in enumerate([(10, 11, 9, 10.5), (10.5, 12, 10, 11), (11, 11, 8, 9),
                                           (9, 10, 9, 9.5), (9.5, 9.8, 9.1, 9.7)]):
        fake_alpaca.data_stream.push_bar(symbol="AAPL", ts=T0 + timedelta(minutes=minute), open=o, high=h, low=l,
                                         close=c, volume=10)
    bars = []
    assert wait_until(lambda: bars.extend(feed.poll(timeout=0.05)) or bars)
    assert bars == [Bar(symbol="AAPL", ts=T0, open=Decimal(10), high=Decimal(12), low=Decimal(8),
                        close=Decimal("9.7"), volume=Decimal(50), interval=timedelta(minutes=5))]


def test_a_bad_stream_bar_is_dropped_and_later_bars_still_flow(fake_alpaca, alpaca):
    feed = alpaca.market_data(["AAPL"])
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})
    fake_alpaca.data_stream.push_bar(symbol="AAPL", ts=T0, open=10, high=9, low=11, close=10)  # high < low
    fake_alpaca.data_stream.push_bar(symbol="AAPL", ts=T0 + timedelta(minutes=1), open=10, high=10, low=10,
                                     close=10)
    bars = []
    assert wait_until(lambda: bars.extend(feed.poll(timeout=0.05)) or bars)
    assert [b.ts for b in bars] == [T0 + timedelta(minutes=1)]
    assert wait_until(lambda: alpaca._hub.rejected_messages == 1)


def test_the_data_stream_reconnects_after_a_drop(fake_alpaca, alpaca):
    feed = alpaca.market_data(["AAPL"])
    assert wait_until(lambda: fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})
    fake_alpaca.drop_streams()
    fake_alpaca.restore_streams()
    assert wait_until(lambda: alpaca.market_data_connections >= 2 and
                      fake_alpaca.data_stream.subscribed_bars() == {"AAPL"})
    fake_alpaca.data_stream.push_bar(symbol="AAPL", ts=T0, open=5, high=5, low=5, close=5)
    assert [b.close for b in feed.poll(timeout=2)] == [Decimal(5)]


def test_unsupported_stream_intervals_are_refused(alpaca):
    with pytest.raises(ConfigurationError):
        alpaca.market_data(["AAPL"], timedelta(seconds=30))


def test_close_stops_both_stream_threads_without_a_false_error_line(fake_alpaca, alpaca, caplog):
    caplog.set_level(logging.INFO, logger="alpaca")
    alpaca.market_data(["AAPL"])
    alpaca.broker.poll_events()
    assert wait_until(lambda: fake_alpaca.data_stream.live_connections() == 1
                      and fake_alpaca.trading_stream.live_connections() == 1)
    alpaca.close()
    assert wait_until(lambda: fake_alpaca.data_stream.live_connections() == 0
                      and fake_alpaca.trading_stream.live_connections() == 0)
    import threading
    assert not [t for t in threading.enumerate() if t.name.startswith("alpaca-")]
    # The SDK's "websocket error, restarting" on our own close would tell the user of a fault there is not.
    said = [r.getMessage() for r in caplog.records if r.name.startswith("alpaca.")]
    assert not [m for m in said if "websocket error, restarting" in m], said
