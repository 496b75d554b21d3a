"""`quantshift paper --broker alpaca` as a user runs it: a real process, the real alpaca-py
SDK, driven by bars streamed from the loopback fake venue; orders and fills recorded once,
the venue and the store agree, and `reconcile --broker alpaca` says so."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.support.configs import alpaca_section
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

STRATEGIES = Path(__file__).with_name("user_strategies.py")


def alpaca_config(cli: Cli, fake: FakeAlpaca) -> Path:
    return cli.config(alpaca_section(fake) + f"""
[[bots]]
name = "eq"
asset_class = "equity"
symbols = ["SPY"]
capital = 10000
position_fraction = 0.2
strategy = "{STRATEGIES}:FlipFlop"

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 5000
""")


def open_market(fake: FakeAlpaca) -> None:
    """The venue's clock says the market is open now (trading hours come from it)."""
    now = datetime.now(timezone.utc)
    fake.clock_fields = {"timestamp": now.isoformat(), "is_open": True,
                         "next_open": (now + timedelta(days=1)).isoformat(),
                         "next_close": (now + timedelta(hours=6)).isoformat()}


def test_paper_trades_alpaca_through_the_sdk_on_streamed_bars_and_reconciles(cli: Cli):
    with FakeAlpaca() as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key})
        config = alpaca_config(cli, fake)
        open_market(fake)
        fake.set_price("SPY", "100")
        paper = cli.start("paper", "--broker", "alpaca", "--config", str(config), "--duration", "60")
        try:
            wait_until(lambda: "SPY" in fake.data_stream.subscribed_bars(), timeout=30, message="the bar subscription",
                       process=paper)
            first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=8)
            for minute in range(6):  # FlipFlop: FLAT, LONG, FLAT, LONG, FLAT, LONG -> 3 buys, 2 sells
                price = Decimal(100 + minute)
                fake.set_price("SPY", price)
                fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=minute), open=price,
                                          high=price + 1, low=price - 1, close=price, volume=10_000)
                wait_until(lambda n=minute: cli.query(
                    "SELECT count(*) FROM orders WHERE account='alpaca-paper' AND status='filled'")[0][0] >= (n + 1) // 2,
                    timeout=20, message=f"the order of bar {minute} filled and recorded", process=paper)
            wait_until(lambda: cli.query("SELECT count(*) FROM fills WHERE account='alpaca-paper'")[0][0] == 5,
                       timeout=20, message="five fills recorded", process=paper)
        finally:
            paper.send_signal(signal.SIGTERM)
            out, err = paper.communicate(timeout=30)
        assert paper.returncode == 0, err
        assert "LIVE: paper trading eq on alpaca" in err  # the crypto bot is not Alpaca's
        assert "no perpetual futures there; funding rates are not monitored" in err
        # Each intent went to the venue once, under its own id; the store holds what the venue did.
        posted = [r.body["client_order_id"] for r in fake.requests_to("POST", "/v2/orders")]
        stored = [row[0] for row in cli.query(
            "SELECT client_order_id FROM orders WHERE account='alpaca-paper' AND submitted_at IS NOT NULL")]
        assert len(posted) == len(set(posted)) == 5 and sorted(posted) == sorted(stored)
        sides = [row[0] for row in cli.query(
            "SELECT side FROM fills WHERE account='alpaca-paper' ORDER BY ts")]
        assert sides == ["buy", "sell", "buy", "sell", "buy"]
        held = cli.query("SELECT quantity FROM positions WHERE account='alpaca-paper' AND symbol='SPY'")[0][0]
        assert Decimal(str(held)) == fake.book.positions["SPY"][0] > 0
        check = cli.run("reconcile", "--broker", "alpaca", "--config", str(config), check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "reconciliation of alpaca-paper: OK" in check.stdout


def test_no_order_goes_out_while_the_venue_clock_says_the_market_is_closed(cli: Cli):
    with FakeAlpaca() as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key})
        config = alpaca_config(cli, fake)
        now = datetime.now(timezone.utc)
        # The local clock is inside what would be NYSE hours or not: only the venue's clock counts.
        fake.clock_fields = {"timestamp": now.isoformat(), "is_open": False,
                             "next_open": (now + timedelta(hours=12)).isoformat(),
                             "next_close": (now + timedelta(hours=18)).isoformat()}
        fake.set_price("SPY", "100")
        paper = cli.start("paper", "--broker", "alpaca", "--config", str(config), "--duration", "60")
        try:
            wait_until(lambda: "SPY" in fake.data_stream.subscribed_bars(), timeout=30, message="the bar subscription",
                       process=paper)
            first = now.replace(second=0, microsecond=0) - timedelta(minutes=5)
            for minute in range(4):
                fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=minute), open=100, high=101,
                                          low=99, close=100, volume=10_000)
            # Every bar evaluated (an equity point each): FlipFlop wanted in on the second and fourth.
            wait_until(lambda: cli.query("SELECT count(*) FROM equity WHERE account='alpaca-paper'")[0][0] >= 4,
                       timeout=20, message="the bars evaluated", process=paper)
        finally:
            paper.send_signal(signal.SIGTERM)
            _, err = paper.communicate(timeout=30)
        assert paper.returncode == 0, err
        assert fake.count("GET", "/v2/clock") >= 1  # it asked the venue
        assert fake.count("POST", "/v2/orders") == 0
        assert cli.query("SELECT count(*) FROM orders WHERE account='alpaca-paper'")[0][0] == 0
