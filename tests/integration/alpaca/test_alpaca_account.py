"""The Alpaca account, clock, calendar, assets and history through the REAL alpaca-py
clients against the loopback fake venue."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from application.venues.ports import MarketClock, TradingDay
from domain.errors import ConfigurationError, InvalidMarketData, VenueUnavailable
from domain.accounting.instrument import AssetClass

UTC = timezone.utc


def test_account_snapshot_maps_every_figure(fake_alpaca, alpaca):
    fake_alpaca.account_fields = {"cash": "1234.56", "equity": "2000.10", "buying_power": "4000.2",
                                  "daytrading_buying_power": "8000.4", "initial_margin": "10.5",
                                  "maintenance_margin": "7.25"}
    snapshot = alpaca.account.account()
    assert (snapshot.venue, snapshot.status, snapshot.currency) == ("alpaca", "ACTIVE", "USD")
    assert (snapshot.cash, snapshot.equity, snapshot.buying_power) == (
        Decimal("1234.56"), Decimal("2000.10"), Decimal("4000.2"))
    assert (snapshot.daytrading_buying_power, snapshot.initial_margin, snapshot.maintenance_margin) == (
        Decimal("8000.4"), Decimal("10.5"), Decimal("7.25"))
    assert snapshot.is_active and alpaca.account.permissions().can_trade


@pytest.mark.parametrize(("fields", "reason"), [
    ({"trading_blocked": True}, "blocked"),
    ({"account_blocked": True}, "blocked"),
    ({"status": "ACCOUNT_UPDATED"}, "ACCOUNT_UPDATED"),
])
def test_a_blocked_account_cannot_trade_and_says_why(fake_alpaca, alpaca, fields, reason):
    fake_alpaca.account_fields = fields
    permissions = alpaca.account.permissions()
    assert permissions.can_read and not permissions.can_trade and reason in permissions.detail
    assert not alpaca.account.account().is_active


def test_the_clock_is_the_venues_in_utc(alpaca):
    assert alpaca.account.clock() == MarketClock(
        ts=datetime(2024, 3, 5, 15, 15, 0, 123456, tzinfo=UTC), is_open=True,
        next_open=datetime(2024, 3, 6, 14, 30, tzinfo=UTC), next_close=datetime(2024, 3, 5, 21, 0, tzinfo=UTC))


def test_the_calendar_converts_new_york_times_to_utc_across_dst_and_early_closes(fake_alpaca, alpaca):
    fake_alpaca.early_closes[date(2024, 11, 29)] = "13:00"
    fake_alpaca.holidays.add(date(2024, 11, 28))

    days = alpaca.account.calendar(start=date(2024, 11, 27), end=date(2024, 11, 29))
    summer = alpaca.account.calendar(start=date(2024, 7, 1), end=date(2024, 7, 1))

    assert days == [
        TradingDay(day=date(2024, 11, 27), open=datetime(2024, 11, 27, 14, 30, tzinfo=UTC),
                   close=datetime(2024, 11, 27, 21, 0, tzinfo=UTC)),
        TradingDay(day=date(2024, 11, 29), open=datetime(2024, 11, 29, 14, 30, tzinfo=UTC),
                   close=datetime(2024, 11, 29, 18, 0, tzinfo=UTC)),
    ]
    assert (summer[0].open, summer[0].close) == (datetime(2024, 7, 1, 13, 30, tzinfo=UTC),
                                                 datetime(2024, 7, 1, 20, 0, tzinfo=UTC))


def test_assets_become_instruments_and_an_unknown_symbol_is_a_configuration_error(alpaca):
    found = alpaca.account.instruments(["AAPL", "GME"])
    assert found["AAPL"].asset_class is AssetClass.EQUITY and found["AAPL"].fractionable
    assert found["AAPL"].tradable and found["AAPL"].shortable and found["AAPL"].price_increment == Decimal("0.01")
    assert found["AAPL"].size_increment < 1
    assert (found["GME"].size_increment, found["GME"].fractionable, found["GME"].shortable) == (Decimal(1), False, False)
    with pytest.raises(ConfigurationError, match="ZZZZ"):
        alpaca.account.instruments(["AAPL", "ZZZZ"])


def test_crypto_assets_carry_the_venues_increments(alpaca):
    btc = alpaca.account.instruments(["BTC/USD"])["BTC/USD"]
    assert btc.asset_class is AssetClass.CRYPTO
    assert (btc.price_increment, btc.size_increment, btc.min_size) == (
        Decimal(1), Decimal("0.000000001"), Decimal("0.0001"))


def _minute_rows(start: datetime, count: int, *, price: float = 100.0) -> list[tuple]:
    return [(start + timedelta(minutes=i), price + i * 0.01, price + i * 0.01 + 0.05, price + i * 0.01 - 0.05,
             price + i * 0.01 + 0.02, 100 + i) for i in range(count)]


def test_history_reads_every_page_as_utc_bars_of_start_inclusive_end_exclusive(fake_alpaca, alpaca):
    start = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    fake_alpaca.add_bars("AAPL", _minute_rows(start, 130))
    fake_alpaca.bars_page_size = 50

    bars = alpaca.history.history(symbol="AAPL", start=start, end=start + timedelta(minutes=120),
                                  interval=timedelta(minutes=1))

    assert len(bars) == 120 and bars[0].ts == start and bars[-1].ts == start + timedelta(minutes=119)
    assert bars[1].open == Decimal("100.01") and bars[1].close == Decimal("100.03")
    assert all(b.interval == timedelta(minutes=1) for b in bars)
    requests = fake_alpaca.requests_to("GET", "/v2/stocks/bars")
    assert len(requests) == 3 and requests[0].query["timeframe"] == "1Min" and requests[0].query["feed"] == "iex"


@pytest.mark.parametrize(("interval", "wire"), [
    (timedelta(minutes=5), "5Min"), (timedelta(minutes=15), "15Min"), (timedelta(hours=1), "1Hour"),
    (timedelta(days=1), "1Day"),
])
def test_history_intervals_map_to_alpaca_timeframes(fake_alpaca, alpaca, interval, wire):
    start = datetime(2024, 3, 4, tzinfo=UTC)
    fake_alpaca.add_bars("SPY", [(start, 500, 501, 499, 500.5, 1000)])
    (bar,) = alpaca.history.history(symbol="SPY", start=start, end=start + interval, interval=interval)
    assert bar.interval == interval
    assert fake_alpaca.requests_to("GET", "/v2/stocks/bars")[-1].query["timeframe"] == wire


@pytest.mark.parametrize("interval", [timedelta(seconds=30), timedelta(minutes=90), timedelta(days=2)])
def test_unsupported_history_intervals_are_configuration_errors(alpaca, interval):
    with pytest.raises(ConfigurationError, match="interval"):
        alpaca.history.history(symbol="AAPL", start=datetime(2024, 3, 4, tzinfo=UTC),
                               end=datetime(2024, 3, 5, tzinfo=UTC), interval=interval)


def test_a_bad_history_bar_is_invalid_market_data_naming_symbol_and_time(fake_alpaca, alpaca):
    start = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    fake_alpaca.add_bars("AAPL", _minute_rows(start, 3))
    fake_alpaca.add_bars("AAPL", [(start + timedelta(minutes=3), 10, 9, 11, 10, 5)])  # high below low
    with pytest.raises(InvalidMarketData, match=r"AAPL bar at 2024-03-05T14:33"):
        alpaca.history.history(symbol="AAPL", start=start, end=start + timedelta(minutes=10),
                               interval=timedelta(minutes=1))


def test_a_duplicated_history_bar_fails_the_sanity_gate(fake_alpaca, alpaca):
    start = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    fake_alpaca.add_bars("AAPL", _minute_rows(start, 2) + _minute_rows(start + timedelta(minutes=1), 1))
    with pytest.raises(InvalidMarketData, match="duplicate"):
        alpaca.history.history(symbol="AAPL", start=start, end=start + timedelta(minutes=10),
                               interval=timedelta(minutes=1))


def test_history_retries_then_names_the_call(fake_alpaca, alpaca):
    fake_alpaca.fail_next(method="GET", path="/v2/stocks/bars", status=500, times=3)
    with pytest.raises(VenueUnavailable, match="alpaca history"):
        alpaca.history.history(symbol="AAPL", start=datetime(2024, 3, 4, tzinfo=UTC),
                               end=datetime(2024, 3, 5, tzinfo=UTC), interval=timedelta(minutes=1))


def test_a_bar_still_forming_is_not_history_yet(fake_alpaca, alpaca):
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    fake_alpaca.add_bars("SPY", [(yesterday, 500, 501, 499, 500.5, 1000), (today, 500, 502, 498, 501, 10)])
    bars = alpaca.history.history(symbol="SPY", start=yesterday, end=today + timedelta(days=1),
                                  interval=timedelta(days=1))
    assert [b.ts for b in bars] == [yesterday]
