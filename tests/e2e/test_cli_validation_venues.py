"""`quantshift validation reset` on the real venues' paper accounts, as a user runs it: real
processes and the real SDKs against the loopback fakes. The bot's resting orders are cancelled
at the venue and every position gets a market exit there before the new epoch; the exit fills
at the venue afterwards (Alpaca: at the next open, when the market was closed) and the next paper
session records that fill once. Missing paper keys are named; a live account is never traded."""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.sqlite import SqliteStore
from application.golive.validation_clock import ensure_epoch
from application.records import AuditEntry, AuditKind
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.e2e.conftest import Cli
from tests.e2e.test_paper_alpaca import STRATEGIES, open_market
from tests.e2e.test_paper_coinbase import coinbase_config
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.coinbase_venue import FakeCoinbase
from tests.support.configs import alpaca_section
from tests.support.validation_records import fingerprint
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _equity_bot(cli: Cli, fake: FakeAlpaca, *, extra: str = "") -> Path:
    # AlwaysLong buys once and holds; the fixed stop rests at Alpaca as a stop order.
    return cli.config(alpaca_section(fake) + extra + f"""
[[bots]]
name = "eq"
asset_class = "equity"
symbols = ["SPY"]
capital = 10000
position_fraction = 0.2
stop = "fixed"
strategy = "{STRATEGIES}:AlwaysLong"
""")


def _close_market(fake: FakeAlpaca) -> None:
    now = datetime.now(timezone.utc)
    fake.clock_fields = {"timestamp": now.isoformat(), "is_open": False,
                         "next_open": (now + timedelta(hours=12)).isoformat(),
                         "next_close": (now + timedelta(hours=18)).isoformat()}


def _epoch(cli: Cli, bot: str, config: Path) -> dict:
    result = cli.invoke("validation", "status", "--bot", bot, "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    return row["epoch"]


def _terminate(process, *, timeout: float = 30) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return err


def _flatten_orders(cli: Cli, account: str) -> list[tuple[str, str]]:
    return cli.query("SELECT client_order_id, status FROM orders WHERE account=? AND strategy='flatten' "
                     "ORDER BY created_at", account)


def test_reset_on_alpaca_paper_cancels_the_stop_sends_the_exit_and_the_next_session_records_its_fill(cli: Cli):
    with FakeAlpaca() as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key})
        config = _equity_bot(cli, fake)
        open_market(fake)
        fake.set_price("SPY", "100")
        paper = cli.start("paper", "--broker", "alpaca", "--config", str(config), "--duration", "60")
        try:
            wait_until(lambda: "SPY" in fake.data_stream.subscribed_bars(), timeout=30, message="the bar subscription",
                       process=paper)
            bar_ts = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=3)
            fake.data_stream.push_bar(symbol="SPY", ts=bar_ts, open=100, high=101, low=99, close=100, volume=10_000)
            wait_until(lambda: cli.query("SELECT count(*) FROM fills WHERE account='alpaca-paper'")[0][0] == 1,
                       timeout=20, message="the entry filled and recorded", process=paper)
        finally:
            err = _terminate(paper)
        assert "validation: bot eq starts epoch 1 on alpaca-paper" in err
        # The session's end left the position's protective stop resting at the venue.
        [stop] = [o for o in fake.book.orders.values() if o.open]
        assert (stop.type, stop.side, stop.qty) == ("stop", "sell", Decimal(20))
        assert fake.book.positions["SPY"][0] == 20

        # The venue refuses the exit: nothing restarts, and the user is told why.
        fake.reject_next_order("market orders are not accepted at this time")
        refused = cli.invoke("validation", "reset", "--bot", "eq", "--reason", "tighter stop", "--config", str(config))
        assert refused.returncode == 2
        assert ("alpaca-paper refused the exit of SPY (alpaca refused the order: market orders are not accepted at "
                "this time); 1 open order(s) were cancelled, the position is still held. The clock was not reset"
                ) in refused.stderr
        assert stop.status == "canceled"
        assert _epoch(cli, "eq", config)["epoch"] == 1
        assert [status for _, status in _flatten_orders(cli, "alpaca-paper")] == ["rejected"]

        # Market closed: Alpaca takes the exit and queues it for the next open.
        _close_market(fake)
        deletes = fake.count("DELETE", f"/v2/orders/{stop.id}")
        reset = cli.run("validation", "reset", "--bot", "eq", "--reason", "tighter stop", "--config", str(config))
        assert "bot eq starts epoch 2 on alpaca-paper now (reset: tighter stop" in reset.stdout
        assert "0 open order(s) cancelled; exits sent for SPY" in reset.stdout
        assert "they fill at alpaca (one sent while the market is closed waits there for the next open)" in reset.stdout
        assert "the next `quantshift paper --broker alpaca` session records the fills" in reset.stdout
        assert fake.count("DELETE", f"/v2/orders/{stop.id}") == deletes == 1  # cancelled once, by the first reset
        exit_body = fake.requests_to("POST", "/v2/orders")[-1].body
        assert {k: exit_body[k] for k in ("symbol", "side", "qty", "type", "time_in_force")} == {
            "symbol": "SPY", "side": "sell", "qty": "20", "type": "market", "time_in_force": "day"}
        [(_, rejected), (exit_id, working)] = _flatten_orders(cli, "alpaca-paper")
        assert exit_body["client_order_id"] == exit_id and working == "accepted"
        assert fake.order(exit_id).status == "accepted" and fake.book.positions["SPY"][0] == 20  # queued
        epoch = _epoch(cli, "eq", config)
        assert (epoch["epoch"], epoch["account"], epoch["reason"]) == (2, "alpaca-paper", "reset: tighter stop")

        # The market opens: the venue fills the exit with nobody listening. The next session records it, once.
        open_market(fake)
        fake.set_price("SPY", "101")
        assert fake.order(exit_id).status == "filled" and fake.book.positions["SPY"][0] == 0
        after = cli.run("paper", "--broker", "alpaca", "--config", str(config), "--duration", "2")
        assert "LIVE: paper trading eq on alpaca" in after.stderr
        [(side, quantity, price)] = cli.query("SELECT side, quantity, price FROM fills WHERE client_order_id=?",
                                              exit_id)
        assert (side, Decimal(quantity), Decimal(price)) == ("sell", 20, 101)
        assert _flatten_orders(cli, "alpaca-paper")[-1] == (exit_id, "filled")
        held = cli.query("SELECT quantity FROM positions WHERE account='alpaca-paper' AND symbol='SPY'")
        assert [Decimal(str(q)) for (q,) in held] in ([], [Decimal(0)])
        assert cli.query("SELECT count(*) FROM fills WHERE account='alpaca-paper'")[0][0] == 2
        assert _epoch(cli, "eq", config)["epoch"] == 2  # the session carries on the reset's epoch


def _resting_buy(cli: Cli, fake: FakeCoinbase) -> str:
    """A limit buy of the bot resting at the venue, known to the store as the venue has it (the
    bot's own orders are market orders, which never rest on Coinbase)."""
    coid = "qs-resting-limit-buy-of-btc"
    venue_id = fake.add_foreign_order(client_order_id=coid, size="0.1", limit="50")
    now = datetime.now(timezone.utc)
    store = SqliteStore(path=cli.db)
    with store() as uow:
        uow.orders.add(Order(client_order_id=coid, account="coinbase-sandbox", bot="btc", strategy="flip_flop",
                             symbol="BTC-USD", side=OrderSide.BUY, order_type=OrderType.LIMIT,
                             quantity=Decimal("0.1"), limit_price=Decimal(50), created_at=now, signal_ts=now,
                             status=OrderStatus.ACCEPTED, venue_order_id=venue_id, submitted_at=now, updated_at=now))
        uow.commit()
    return venue_id


def test_reset_on_coinbase_sandbox_cancels_the_resting_order_and_sends_the_exit(cli: Cli, tmp_path):
    (tmp_path / "venue").mkdir()
    fake = FakeCoinbase.start(tmp_path / "venue")
    try:
        cli.env.update({"COINBASE_API_KEY": fake.key.name, "COINBASE_API_SECRET": fake.key.secret})
        config = coinbase_config(cli, fake)
        paper = cli.start("paper", "--broker", "coinbase", "--sandbox", "--config", str(config), "--duration", "60")
        try:
            wait_until(lambda: fake.ws.subscribers("candles") > 0, timeout=30, message="the candle subscription",
                       process=paper)
            first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
            first -= timedelta(minutes=first.minute % 5)
            for k in range(3):  # a candle closes when the next starts: FlipFlop is FLAT, then buys on the second
                fake.push_candle("BTC-USD", start=first + timedelta(minutes=5 * k), open="100", high="101",
                                 low="99", close="100", volume="50")
            wait_until(lambda: cli.query("SELECT count(*) FROM fills WHERE account='coinbase-sandbox'")[0][0] == 1,
                       timeout=20, message="the entry filled and recorded", process=paper)
        finally:
            _terminate(paper)
        held = fake.book.balances["BTC"][0]
        assert held == 20
        resting = _resting_buy(cli, fake)

        reset = cli.run("validation", "reset", "--bot", "btc", "--reason", "new sizing", "--config", str(config))
        assert "bot btc starts epoch 2 on coinbase-sandbox now (reset: new sizing" in reset.stdout
        # The exit (a market IOC) filled at once, and the adapter reads an order back after sending it:
        # the fill is recorded by the reset, and the reconciliation after it does not record it again.
        assert "1 open order(s) cancelled; exits sent for BTC-USD (filled already: BTC-USD)" in reset.stdout
        cancels = [r.body for r in fake.requests if r.op == "cancel"]
        assert cancels == [{"order_ids": [resting]}]
        wait_until(lambda: fake.book.orders[resting].status == "CANCELLED", timeout=5, message="the venue's cancel")
        [sell] = [o for o in fake.book.orders.values() if o.side == "SELL"]
        assert (sell.kind, sell.size) == ("market_market_ioc", held)
        [(exit_id, _)] = _flatten_orders(cli, "coinbase-sandbox")
        assert sell.client_order_id == exit_id and fake.count("create_order") == 2  # the entry, the exit
        assert cli.query("SELECT status FROM orders WHERE client_order_id='qs-resting-limit-buy-of-btc'") == [
            ("cancelled",)]
        epoch = _epoch(cli, "btc", config)
        assert (epoch["epoch"], epoch["account"]) == (2, "coinbase-sandbox")
        check = cli.run("reconcile", "--broker", "coinbase", "--sandbox", "--config", str(config), check=False)
        assert check.returncode == 0 and "reconciliation of coinbase-sandbox: OK" in check.stdout, check.stdout
        assert cli.query("SELECT count(*) FROM fills WHERE client_order_id=?", exit_id) == [(1,)]
        assert fake.book.balances["BTC"][0] == 0
    finally:
        fake.stop()


def _seed_epoch(cli: Cli, *, bot: str, account: str) -> None:
    """The bot's current epoch on `account`, as the audit trail holds it."""
    store = SqliteStore(path=cli.db)
    store.migrate()
    now = datetime.now(timezone.utc) - timedelta(days=1)
    with store() as uow:
        if account in ("alpaca-paper", "coinbase-sandbox"):
            ensure_epoch(uow, fingerprint=fingerprint(bot), account=account, now=now, actor="test")
        else:  # no code path writes one on a live account: a store edited by hand, or an older version
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.VALIDATION, account=account, bot=bot,
                                        message=f"validation epoch 1 of bot {bot} started on {account}",
                                        data={"event": "epoch_started", "epoch": 1, "fingerprint": "f" * 64,
                                              "ingredients": {}, "changed": [], "reason": "first run"}))
        uow.commit()


def test_reset_without_the_paper_keys_names_them_and_contacts_nothing(cli: Cli):
    with FakeAlpaca() as fake:
        cli.env.update({"ALPACA_API_KEY": "", "ALPACA_SECRET_KEY": "",
                        "ALPACA_LIVE_API_KEY": fake.api_key, "ALPACA_LIVE_SECRET_KEY": fake.secret_key})
        config = _equity_bot(cli, fake)
        _seed_epoch(cli, bot="eq", account="alpaca-paper")
        result = cli.invoke("validation", "reset", "--bot", "eq", "--reason", "x", "--config", str(config))
        assert result.returncode == 2, result.stdout
        assert "alpaca: set ALPACA_API_KEY and ALPACA_SECRET_KEY in the environment" in result.stderr
        assert "Traceback" not in result.stderr and fake.requests == []
        assert _epoch(cli, "eq", config)["epoch"] == 1


@pytest.mark.parametrize("account", ["alpaca-live", "coinbase"])
def test_reset_of_an_epoch_on_a_live_account_is_refused_before_any_venue(cli: Cli, account: str):
    with FakeAlpaca(live=True) as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key,
                        "ALPACA_LIVE_API_KEY": fake.api_key, "ALPACA_LIVE_SECRET_KEY": fake.secret_key})
        config = _equity_bot(cli, fake)
        _seed_epoch(cli, bot="eq", account=account)
        result = cli.invoke("validation", "reset", "--bot", "eq", "--reason", "x", "--config", str(config))
        assert result.returncode == 2, result.stdout
        assert (f"validation reset of bot eq: its epoch is on {account}, which is not a paper account (validation "
                "is paper only: paper, alpaca-paper, coinbase-sandbox); a reset never trades a live account"
                ) in result.stderr
        assert fake.requests == []


def test_reset_is_refused_when_the_configuration_points_alpaca_at_live_money(cli: Cli):
    with FakeAlpaca(live=True) as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key})
        # [alpaca] paper = false: the paper epoch's venue would be the live endpoint.
        config = _equity_bot(cli, fake, extra="paper = false\n")
        _seed_epoch(cli, bot="eq", account="alpaca-paper")
        result = cli.invoke("validation", "reset", "--bot", "eq", "--reason", "x", "--config", str(config))
        assert result.returncode == 2, result.stdout
        assert ("its epoch is on alpaca-paper, but the configuration points alpaca at its live endpoint "
                "([alpaca] paper = false); a reset only trades the paper account") in result.stderr
        assert fake.requests == [] and _epoch(cli, "eq", config)["epoch"] == 1
