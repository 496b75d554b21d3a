"""Coinbase account, clock, instruments, permissions, history, funding, streams, pacing and
authentication through the real SDK against the loopback fake venue."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.coinbase import build_coinbase_venue
from application.venues.request_governor import Priority, RateLimit, RequestGovernor
from application.venues.ports import FundingUnsupported
from domain.errors import ConfigurationError
from domain.accounting.instrument import AssetClass
from tests.fakes.coinbase_fixtures import NOW, connect
from tests.support.waiting import wait_until
from tests.fakes.coinbase_keys import make_key


@pytest.fixture
def rest_only(fake, clock):
    built = connect(fake, clock, user_stream=False)
    yield built
    built.close()


def test_account_balances_and_equity_at_the_best_bid(fake, rest_only):
    fake.book.set_balance("BTC", "2", hold="0.5")
    fake.book.set_balance("USD", "1000", hold="100")
    snapshot = rest_only.account.account()
    assert snapshot.venue == "coinbase" and snapshot.is_active and snapshot.currency == "USD"
    assert snapshot.cash == Decimal(1000) and snapshot.buying_power == Decimal(1000)
    assert snapshot.balances == {"BTC": Decimal(2), "USD": Decimal(1000)}
    assert snapshot.equity == Decimal(1100) + Decimal("2.5") * Decimal("99.9")


def test_clock_calendar_instruments_and_permissions(fake, rest_only):
    venue_clock = rest_only.account.clock()
    assert venue_clock.is_open and venue_clock.next_open is None and venue_clock.next_close is None
    assert abs(venue_clock.ts - datetime.now(timezone.utc)) < timedelta(minutes=5)
    days = rest_only.account.calendar(start=date(2025, 1, 1), end=date(2025, 1, 3))
    assert [d.day for d in days] == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    assert days[0].close - days[0].open == timedelta(days=1)
    (eth,) = rest_only.account.instruments(["ETH/USD"]).values()
    assert (eth.symbol, eth.asset_class, eth.tradable) == ("ETH/USD", AssetClass.CRYPTO, True)
    assert (eth.price_increment, eth.size_increment, eth.min_size) == (Decimal("0.01"), Decimal("0.0001"),
                                                                      Decimal("0.001"))
    with pytest.raises(ConfigurationError, match="DOGE-USD"):
        rest_only.account.instruments(["DOGE-USD"])
    permissions = rest_only.account.permissions()
    assert permissions.can_read and permissions.can_trade
    fake.permissions["can_trade"] = False
    assert rest_only.account.permissions().can_trade is False


def test_wrong_key_is_a_configuration_error_naming_the_venue_and_key(fake, clock):
    other = make_key(fake.key.name)  # the right name, a key the venue does not know
    built = build_coinbase_venue(api_key=other.name, api_secret=other.secret, clock=clock, rest_host=fake.rest_host,
                                 ca_bundle=fake.ca_file, user_stream=False, retry_wait=0.01)
    try:
        with pytest.raises(ConfigurationError, match="coinbase.*key"):
            built.account.permissions()
        with pytest.raises(ConfigurationError, match="coinbase.*key"):
            built.account.account()
    finally:
        built.close()
    assert fake.count("key_permissions") == 1  # refused, not retried


def test_default_hosts_are_coinbase_s_own_and_nothing_is_contacted(clock):
    key = make_key()
    live = build_coinbase_venue(api_key=key.name, api_secret=key.secret, clock=clock, user_stream=False)
    sandbox = build_coinbase_venue(api_key=key.name, api_secret=key.secret, clock=clock, sandbox=True,
                                   user_stream=False)
    assert (live.rest.host, sandbox.rest.host) == ("api.coinbase.com", "api-sandbox.coinbase.com")
    live.close()
    sandbox.close()


def test_candles_are_paged_by_350_oldest_first_and_half_open(fake, rest_only):
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    bars = rest_only.history.history(symbol="BTC/USD", start=start, end=start + timedelta(minutes=800),
                                     interval=timedelta(minutes=1))
    assert len(bars) == 800 and fake.count("candles") == 3
    assert bars[0].ts == start and bars[-1].ts == start + timedelta(minutes=799)
    assert all(a.ts < b.ts for a, b in zip(bars, bars[1:]))
    assert bars[0].symbol == "BTC/USD" and bars[0].interval == timedelta(minutes=1)
    granularities = {r.query["granularity"][0] for r in fake.requests if r.op == "candles"}
    assert granularities == {"ONE_MINUTE"}
    daily = rest_only.history.history(symbol="ETH-USD", start=start, end=start + timedelta(days=3),
                                      interval=timedelta(days=1))
    assert [b.ts.day for b in daily] == [1, 2, 3]
    with pytest.raises(ConfigurationError, match="interval"):
        rest_only.history.history(symbol="BTC-USD", start=start, end=start + timedelta(hours=1),
                                  interval=timedelta(minutes=3))
    with pytest.raises(ConfigurationError, match="DOGE-USD"):
        rest_only.history.history(symbol="DOGE-USD", start=start, end=start + timedelta(hours=1),
                                  interval=timedelta(minutes=1))


def test_funding_rates_with_and_without_perpetuals(fake, rest_only):
    with pytest.raises(FundingUnsupported, match="no perpetual"):
        rest_only.funding.funding_rates(["BTC-USD"])
    fake.enable_perpetuals(rate="0.000125")
    (rate,) = rest_only.funding.funding_rates(["BTC-USD"])
    assert rate.symbol == "BTC-USD" and rate.rate == Decimal("0.000125")
    with pytest.raises(FundingUnsupported, match="ETH-USD"):
        rest_only.funding.funding_rates(["ETH-USD"])


def test_governor_paces_a_burst_and_lets_cancels_use_the_headroom(fake, clock):
    virtual = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        virtual[0] += seconds

    governor = RequestGovernor(limit=RateLimit(requests=5, per_seconds=1.0, headroom=0.8),
                               monotonic=lambda: virtual[0], sleep=sleep)
    built = connect(fake, clock, governor=governor, user_stream=False)
    try:
        for _ in range(12):
            built.account.clock()
        # 4 ordinary requests per virtual second: 12 requests need at least 2 more seconds.
        assert fake.count("time") == 12 and virtual[0] >= 2.0 and governor.waited_seconds >= 2.0
        assert governor.in_window() == 4
        before = virtual[0]
        governor.acquire(priority=Priority.CANCEL)  # the fifth slot is the cancels' headroom
        assert virtual[0] == before
    finally:
        built.close()


def test_ticker_quotes_and_five_minute_candles_from_the_websocket(fake, clock):
    built = connect(fake, clock, user_stream=False)
    stream = built.market_data(["BTC/USD"], timedelta(minutes=5))
    try:
        wait_until(lambda: fake.ws.subscribers("candles") == 1 and fake.ws.subscribers("ticker") == 1)
        fake.push_ticker("BTC-USD", price="100.5", bid="100.4", ask="100.6")
        wait_until(lambda: stream.latest_quote("BTC-USD") is not None)
        quote = stream.latest_quote("BTC/USD")
        assert (quote.symbol, quote.bid, quote.ask, quote.last) == ("BTC/USD", Decimal("100.4"), Decimal("100.6"),
                                                                  Decimal("100.5"))
        t0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
        fake.push_candle("BTC-USD", start=t0, open="100", high="101", low="99", close="100.5", volume="3")
        fake.push_candle("BTC-USD", start=t0, open="100", high="102", low="99", close="101", volume="4")
        assert stream.poll(timeout=0.05) == []  # still forming
        fake.push_candle("BTC-USD", start=t0 + timedelta(minutes=5), open="101", high="101", low="101",
                         close="101", volume="1")
        (bar,) = stream.poll(timeout=5)
        assert (bar.symbol, bar.ts, bar.high, bar.close, bar.volume, bar.interval) == (
            "BTC/USD", t0, Decimal(102), Decimal(101), Decimal(4), timedelta(minutes=5))
    finally:
        built.close()


def test_fifteen_minute_bars_aggregate_closed_candles(fake, clock):
    built = connect(fake, clock, user_stream=False)
    stream = built.market_data(["BTC-USD"], timedelta(minutes=15))
    try:
        wait_until(lambda: fake.ws.subscribers("candles") == 1)
        t0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
        for i, close in enumerate(["101", "103", "99", "100"]):
            start = t0 + timedelta(minutes=5 * i)
            fake.push_candle("BTC-USD", start=start, open="100", high="104" if i == 1 else close, low="98",
                             close=close, volume="2")
        (bar,) = stream.poll(timeout=5)
        assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            t0, Decimal(100), Decimal(104), Decimal(98), Decimal(99), Decimal(6))
    finally:
        built.close()


def test_one_minute_bars_are_built_from_market_trades(fake, clock):
    built = connect(fake, clock, user_stream=False)
    stream = built.market_data(["ETH-USD"], timedelta(minutes=1))
    try:
        assert not stream.uses_candles
        wait_until(lambda: fake.ws.subscribers("market_trades") == 1)
        t0 = NOW + timedelta(hours=1)
        clock.set(t0 + timedelta(seconds=61))  # inside the second minute, before the first one's grace ends
        fake.push_trade("ETH-USD", trade_id="1", price="10", size="1", at=t0 + timedelta(seconds=1))
        fake.push_trade("ETH-USD", trade_id="2", price="12", size="2", at=t0 + timedelta(seconds=30))
        fake.push_trade("ETH-USD", trade_id="2", price="12", size="2", at=t0 + timedelta(seconds=30))  # a repeat
        fake.push_trade("ETH-USD", trade_id="3", price="11", size="1", at=t0 + timedelta(seconds=59))
        fake.push_trade("ETH-USD", trade_id="4", price="13", size="1", at=t0 + timedelta(seconds=61))
        (bar,) = stream.poll(timeout=5)
        assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            t0, Decimal(10), Decimal(12), Decimal(10), Decimal(11), Decimal(4))
        clock.set(t0 + timedelta(minutes=2, seconds=5))  # the next bucket closes on time, without a trade
        late_bars: list = []
        wait_until(lambda: late_bars.extend(stream.poll(timeout=0.01)) or late_bars)
        (late,) = late_bars
        assert late.ts == t0 + timedelta(minutes=1) and late.close == Decimal(13)
    finally:
        built.close()


def test_market_stream_reconnects_after_a_drop(fake, clock):
    built = connect(fake, clock, user_stream=False)
    stream = built.market_data(["BTC-USD"], timedelta(minutes=5))
    try:
        wait_until(lambda: fake.ws.subscribers("ticker") == 1)
        fake.ws.drop()
        fake.ws.restore()
        wait_until(lambda: fake.ws.subscribers("ticker") == 1)
        fake.push_ticker("BTC-USD", price="7", bid="6.9", ask="7.1")
        wait_until(lambda: stream.latest_quote("BTC-USD") is not None)
        assert stream.latest_quote("BTC-USD").last == Decimal(7)
    finally:
        built.close()
