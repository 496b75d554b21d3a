"""`quantshift paper --broker coinbase --sandbox` as a user runs it: a real process, the real
coinbase-advanced-py SDK over TLS (a throwaway CA) to the loopback fake venue, driven by
streamed candles; orders and fills recorded once, and the venue and the store agree."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_paper_alpaca import STRATEGIES
from tests.fakes.coinbase_venue import FakeCoinbase
from tests.support.configs import coinbase_section
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def coinbase_config(cli: Cli, fake: FakeCoinbase) -> Path:
    return cli.config("""
[engine]
timeframe = "5m"
heartbeat_seconds = 0.5
""" + coinbase_section(fake) + f"""
[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
position_fraction = 0.2
strategy = "{STRATEGIES}:FlipFlop"
""")


def filled(cli: Cli) -> int:
    return cli.query("SELECT count(*) FROM orders WHERE account='coinbase-sandbox' AND status='filled'")[0][0]


def test_paper_trades_coinbase_sandbox_through_the_sdk_on_streamed_candles_and_reconciles(cli: Cli, tmp_path):
    (tmp_path / "venue").mkdir()
    fake = FakeCoinbase.start(tmp_path / "venue")
    try:
        cli.env.update({"COINBASE_API_KEY": fake.key.name, "COINBASE_API_SECRET": fake.key.secret})
        config = coinbase_config(cli, fake)
        refused = cli.run("paper", "--broker", "coinbase", "--config", str(config), "--duration", "1", check=False)
        assert refused.returncode == 2 and "Coinbase has no paper account; use --sandbox" in refused.stderr
        paper = cli.start("paper", "--broker", "coinbase", "--sandbox", "--config", str(config), "--duration", "60")
        try:
            wait_until(lambda: fake.ws.subscribers("candles") > 0, timeout=30, message="the candle subscription",
                       process=paper)
            first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
            first -= timedelta(minutes=first.minute % 5)
            # FlipFlop: FLAT, LONG, FLAT, LONG, FLAT, LONG -> 3 buys, 2 sells. A candle is complete
            # when the next one starts, so the 7th closes the 6th.
            for k in range(7):
                price = Decimal(100 + k)
                fake.book.set_price("BTC-USD", price)
                fake.push_candle("BTC-USD", start=first + timedelta(minutes=5 * k), open=str(price),
                                 high=str(price + 1), low=str(price - 1), close=str(price), volume="50")
                if k >= 2:  # candle k-1 closed: its order (from bar 2 on) filled and recorded
                    wait_until(lambda k=k: filled(cli) >= k - 1, timeout=20,
                               message=f"the order of candle {k - 1} filled and recorded", process=paper)
        finally:
            paper.send_signal(signal.SIGTERM)
            out, err = paper.communicate(timeout=30)
        assert paper.returncode == 0, err
        assert "LIVE: paper trading btc on coinbase" in err
        stored = sorted(row[0] for row in cli.query(
            "SELECT client_order_id FROM orders WHERE account='coinbase-sandbox' AND submitted_at IS NOT NULL"))
        assert len(stored) == 5 and all(fake.orders_with(coid) == 1 for coid in stored)
        assert fake.count("create_order") == 5
        sides = [row[0] for row in cli.query("SELECT side FROM fills WHERE account='coinbase-sandbox' ORDER BY ts")]
        assert sides == ["buy", "sell", "buy", "sell", "buy"]
        # What the venue charged, fill by fill (commission and maker/taker from its List Fills).
        charged = sorted((f"{row['order_id']}:{row['size']}", Decimal(row["commission"]),
                          row["liquidity_indicator"].lower()) for row in fake.book.fills)
        recorded = sorted((fill_id, Decimal(str(commission)), liquidity) for fill_id, commission, liquidity in cli.query(
            "SELECT fill_id, commission, liquidity FROM fills WHERE account='coinbase-sandbox'"))
        assert recorded == charged and all(c > 0 for _, c, _ in recorded)
        held = Decimal(str(cli.query(
            "SELECT quantity FROM positions WHERE account='coinbase-sandbox' AND symbol='BTC-USD'")[0][0]))
        assert held == fake.book.balances["BTC"][0] > 0
        check = cli.run("reconcile", "--broker", "coinbase", "--sandbox", "--config", str(config), check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "reconciliation of coinbase-sandbox: OK" in check.stdout
    finally:
        fake.stop()
