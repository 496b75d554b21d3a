"""`quantshift live` in real processes beyond test_live.py's first trade: on Coinbase production
(the loopback FakeCoinbase, no sandbox), the probation cap on the quantity the venue receives,
and hot standby on Postgres, where the standby takes over the live bot and carries on its
probation instead of starting another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_live import CONFIRM, STRATEGIES, certify, live_config, live_fake  # noqa: F401 - a fixture
from tests.e2e.test_postgres_cli import pg
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.coinbase_venue import FakeCoinbase
from tests.support.configs import coinbase_section
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

PROBATION = Decimal("0.10")  # [golive] probation_fraction's default: the configs here leave it out
CAPITAL = Decimal(10000)  # live_config's capital


def whole(quantity: Decimal) -> Decimal:
    return quantity.to_integral_value(rounding=ROUND_FLOOR)


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then its stderr once it ended."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return err


def minute_bars(fake: FakeAlpaca):
    """push(minute): SPY's minute bar closing at 100 + minute (OddCloseLong: LONG on odd closes)."""
    first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=8)

    def push(minute: int) -> None:
        price = Decimal(100 + minute)
        fake.set_price("SPY", price)
        fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=minute), open=price, high=price + 1,
                                  low=price - 1, close=price, volume=10_000)
    return push


def probations(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e.get("event") == "probation_started"]


def test_live_trades_a_certified_crypto_bot_on_coinbase_production(cli: Cli, tmp_path):
    from tests.fakes.coinbase_keys import make_key

    (tmp_path / "venue").mkdir()
    fake = FakeCoinbase.start(tmp_path / "venue")  # production: the config sets no sandbox
    try:
        sandbox = make_key("organizations/test-org/apiKeys/sandbox-key")  # unknown to production
        cli.env.update({"COINBASE_LIVE_API_KEY": fake.key.name, "COINBASE_LIVE_API_SECRET": fake.key.secret,
                        "COINBASE_API_KEY": sandbox.name, "COINBASE_API_SECRET": sandbox.secret})
        config = cli.config('\n[engine]\ntimeframe = "5m"\nheartbeat_seconds = 0.5\n' + coinbase_section(fake) + f"""
[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 10000
position_fraction = 0.2
strategy = "{STRATEGIES}:OddCloseLong"
""")
        certify(cli, config, bot="btc", broker="coinbase")
        live = cli.start("live", "--config", str(config), "--broker", "coinbase", CONFIRM, "--duration", "60")
        filled = "SELECT count(*) FROM orders WHERE account='coinbase' AND status='filled'"
        try:
            wait_until(lambda: fake.ws.subscribers("candles") > 0, timeout=30, message="the candle subscription",
                       process=live)
            first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
            first -= timedelta(minutes=first.minute % 5)
            # OddCloseLong on closes 100, 101, 102: FLAT, LONG (a buy), FLAT (a sell). A candle is
            # complete when the next one starts, so the fourth closes the third.
            for k in range(4):
                price = Decimal(100 + k)
                fake.book.set_price("BTC-USD", price)
                fake.push_candle("BTC-USD", start=first + timedelta(minutes=5 * k), open=str(price),
                                 high=str(price + 1), low=str(price - 1), close=str(price), volume="50")
                if k >= 2:
                    wait_until(lambda k=k: cli.query(filled)[0][0] == k - 1, timeout=20,
                               message=f"the order of candle {k - 1} filled", process=live)
        finally:
            err = stop(live)
        assert live.returncode == 0, err
        assert "REAL MONEY: live trading btc on coinbase (coinbase)" in err
        stored = [coid for (coid,) in cli.query(
            "SELECT client_order_id FROM orders WHERE account='coinbase' AND submitted_at IS NOT NULL")]
        assert len(stored) == len(set(stored)) == 2 and all(fake.orders_with(coid) == 1 for coid in stored)
        created = [r.body for r in fake.requests if r.op == "create_order"]
        assert sorted(b["client_order_id"] for b in created) == sorted(stored)
        assert [b["side"] for b in created] == ["BUY", "SELL"]
        assert cli.query("SELECT DISTINCT account FROM orders WHERE account NOT LIKE '%shadow%'") == [("coinbase",)]
    finally:
        fake.stop()


def test_live_probation_caps_the_entry_the_venue_receives(cli: Cli, live_fake):
    fake = live_fake
    # position_fraction 1: at full size the bot buys with all its capital, so the probation's
    # cap (10 % of capital) is also 10 % of the full size.
    config = live_config(cli, fake, fraction="1")
    certify(cli, config)
    push = minute_bars(fake)
    live = cli.start("live", "--config", str(config), "--broker", "alpaca", CONFIRM, "--duration", "60")
    try:
        wait_until(lambda: "SPY" in fake.data_stream.subscribed_bars(), timeout=30, message="the bar subscription",
                   process=live)
        push(0)  # FLAT at 100
        push(1)  # LONG at 101: the entry
        wait_until(lambda: fake.count("POST", "/v2/orders") == 1, timeout=20, message="the entry sent", process=live)
    finally:
        err = stop(live)
    assert live.returncode == 0, err
    price = Decimal(101)
    full = whole(CAPITAL * 1 / price)  # 99 shares: what the config sizes without probation
    capped = whole(CAPITAL * PROBATION / price)  # 9 shares: 10 % of the capital
    assert capped < full and capped == whole(full * PROBATION)
    (entry,) = fake.requests_to("POST", "/v2/orders")
    assert (entry.body["side"], Decimal(entry.body["qty"])) == ("buy", capped)
    assert Decimal(str(fake.book.positions["SPY"][0])) == capped
    # The risk trail names both figures: the sized quantity and the one the cap let through.
    (checks,) = [json.loads(d)["checks"] for (d,) in cli.query(
        "SELECT data FROM audit_log WHERE kind='order' AND account='alpaca-live' AND message LIKE 'intent buy%'")]
    (cap,) = [c for c in checks if c["check"] == "probation"]
    assert cap["passed"] and f"resized from {full} to {capped}" in cap["detail"], cap
    golive = [json.loads(d) for (d,) in cli.query("SELECT data FROM audit_log WHERE kind='golive' AND bot='eq'")]
    (certificate,) = [g["certificate_id"] for g in golive if g["event"] == "certificate"]
    (started,) = probations(golive)
    assert (Decimal(started["fraction"]), started["certificate_id"]) == (PROBATION, certificate)


class Leaders:
    """Samples the lease holder of the live bot and the instances marked LIVE, until stopped."""

    def __init__(self, cli: Cli) -> None:
        self.cli, self.seen, self._stop = cli, [], threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            try:
                holders = pg(self.cli, "SELECT holder FROM leases WHERE account='alpaca-live' AND bot='eq'")
            except Exception:  # noqa: BLE001 - the schema is not there yet
                continue
            if holders and (not self.seen or self.seen[-1] != holders[0][0]):
                self.seen.append(holders[0][0])

    def __enter__(self) -> Leaders:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_live_hot_standby_on_postgres_takes_over_and_carries_on_the_probation(pg_cli: Cli, live_fake):
    fake, cli = live_fake, pg_cli
    config = live_config(cli, fake)
    cli.config(config.read_text().replace("heartbeat_seconds = 0.5\n", "heartbeat_seconds = 0.5\nlease_seconds = 1.5\n"))
    certify(cli, config)
    push = minute_bars(fake)
    args = ("live", "--config", str(config), "--broker", "alpaca", CONFIRM, "--duration", "90")
    filled = "SELECT count(*) FROM orders WHERE account='alpaca-live' AND status='filled'"
    first = cli.start(*args)
    second = None
    with Leaders(cli) as leaders:
        try:
            wait_until(lambda: len(fake.data_stream.subscribe_messages) >= 1, timeout=30,
                       message="the leader's bar subscription", process=first)
            second = cli.start(*args)
            wait_until(lambda: dict(pg(cli, "SELECT pid, role FROM instances")) == {
                first.pid: "live", second.pid: "standby"}, timeout=30, message="one LIVE, one STANDBY",
                process=second)
            push(0)  # FLAT at 100
            push(1)  # LONG at 101: the leader buys
            wait_until(lambda: pg(cli, filled)[0][0] == 1, timeout=20, message="the leader's entry", process=first)
            subscribed = len(fake.data_stream.subscribe_messages)
            killed = time.monotonic()
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            wait_until(lambda: len(fake.data_stream.subscribe_messages) > subscribed, timeout=30,
                       message="the standby leading and subscribed", process=second)
            print(f"takeover: {time.monotonic() - killed:.2f} s from SIGKILL to the new leader's subscription")
            push(2)  # FLAT at 102: the new leader sells
            push(3)  # LONG at 103: and buys again, still on probation
            wait_until(lambda: pg(cli, filled)[0][0] == 3, timeout=20, message="the new leader's orders",
                       process=second)
        finally:
            err = stop(second) if second is not None else ""
            if first.poll() is None:
                stop(first)
    assert second.returncode == 0, err
    assert "STANDBY: eq led by another instance" in err and "REAL MONEY: live trading eq" in err
    # One leader at a time: the lease went from the first to the second, once, and never back.
    assert [h.split("@")[0] for h in leaders.seen] == [str(first.pid), str(second.pid)], leaders.seen
    # Every order once at the venue, each by one intent.
    posted = [r.body for r in fake.requests_to("POST", "/v2/orders")]
    coids = [b["client_order_id"] for b in posted]
    assert len(coids) == len(set(coids)) == 3
    assert sorted(coids) == sorted(c for (c,) in pg(cli, "SELECT client_order_id FROM orders "
                                                        "WHERE account='alpaca-live' AND submitted_at IS NOT NULL"))
    # The probation carried on: one probation_started (the first leader's), and the new leader's
    # entry capped by it as the first one was: 10 % of the capital, 9 shares at 101 and at 103.
    golive = [json.loads(d) for (d,) in pg(cli, "SELECT data::text FROM audit_log WHERE kind='golive' AND bot='eq'")]
    assert len(probations(golive)) == 1
    assert [(b["side"], Decimal(b["qty"])) for b in posted] == [
        ("buy", whole(CAPITAL * PROBATION / 101)), ("sell", whole(CAPITAL * PROBATION / 101)),
        ("buy", whole(CAPITAL * PROBATION / 103))]
