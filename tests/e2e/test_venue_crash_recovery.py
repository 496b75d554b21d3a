"""The crash drills of the order path, against the fake Alpaca and Coinbase venues through
their real SDKs: the bot process SIGKILLs itself after committing an intent, after sending it
before storing the answer, or after the venue filled before the fill is stored. A restart
reconciles with the venue: each intent reached the venue at most once, and the store, the
venue and `reconcile --broker` agree on orders, fills and positions."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.e2e.conftest import QUANTSHIFT, Cli
from tests.e2e.test_paper_alpaca import alpaca_config, open_market
from tests.e2e.test_paper_coinbase import coinbase_config
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.coinbase_venue import FakeCoinbase
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

POINTS = ("after_intent_commit", "after_submit_before_ack", "after_fill_before_record")


class AlpacaDrill:
    account = "alpaca-paper"
    args = ("--broker", "alpaca")

    def __init__(self, cli: Cli, tmp_path) -> None:
        self.fake = FakeAlpaca().__enter__()
        cli.env.update({"ALPACA_API_KEY": self.fake.api_key, "ALPACA_SECRET_KEY": self.fake.secret_key})
        self.config = alpaca_config(cli, self.fake)
        open_market(self.fake)
        self.fake.set_price("SPY", "100")

    def subscribed(self) -> bool:
        return "SPY" in self.fake.data_stream.subscribed_bars()

    def push_bars(self) -> None:  # FlipFlop: FLAT then LONG, the buy goes out on the second bar
        first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)
        for k in range(2):
            self.fake.data_stream.push_bar(symbol="SPY", ts=first + timedelta(minutes=k), open=100, high=101,
                                           low=99, close=100, volume=10_000)

    def venue_orders(self) -> list[str]:
        return [r.body["client_order_id"] for r in self.fake.requests_to("POST", "/v2/orders")]

    def venue_position(self) -> Decimal:
        return self.fake.book.positions.get("SPY", (Decimal(0), Decimal(0)))[0]

    def close(self) -> None:
        self.fake.__exit__(None, None, None)


class CoinbaseDrill:
    account = "coinbase-sandbox"
    args = ("--broker", "coinbase", "--sandbox")

    def __init__(self, cli: Cli, tmp_path) -> None:
        (tmp_path / "venue").mkdir()
        self.fake = FakeCoinbase.start(tmp_path / "venue")
        cli.env.update({"COINBASE_API_KEY": self.fake.key.name, "COINBASE_API_SECRET": self.fake.key.secret})
        self.config = coinbase_config(cli, self.fake)

    def subscribed(self) -> bool:
        return self.fake.ws.subscribers("candles") > 0

    def push_bars(self) -> None:  # two complete 5-minute candles (the third closes the second)
        first = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=1)
        first -= timedelta(minutes=first.minute % 5)
        for k in range(3):
            self.fake.push_candle("BTC-USD", start=first + timedelta(minutes=5 * k), open="100", high="101",
                                  low="99", close="100", volume="50")

    def venue_orders(self) -> list[str]:
        with self.fake.book.lock:
            created = [o.client_order_id for o in self.fake.book.orders.values()]
        assert self.fake.count("create_order") == len(created)  # every create request made one order
        return created

    def venue_position(self) -> Decimal:
        return self.fake.book.balances.get("BTC", [Decimal(0)])[0]

    def close(self) -> None:
        self.fake.stop()


# Coinbase's submit reads the order back, so a market order's fill comes with the answer to
# the submit (after_submit_before_ack covers it); a fill arriving later, between bars, is Alpaca's
# way (its trade-updates stream), where after_fill_before_record is reached.
DRILLS = [pytest.param(AlpacaDrill, point, id=f"alpaca-{point}") for point in POINTS] + [
    pytest.param(CoinbaseDrill, point, id=f"coinbase-{point}") for point in POINTS[:2]]


@pytest.mark.parametrize(("drill_class", "point"), DRILLS)
def test_a_kill_on_the_order_path_neither_duplicates_nor_loses_at_a_real_venue(cli: Cli, tmp_path, drill_class,
                                                                               point):
    drill = drill_class(cli, tmp_path)
    try:
        config = str(drill.config)
        crashing = subprocess.Popen(
            [QUANTSHIFT, "paper", *drill.args, "--config", config, "--duration", "60"],
            env={**cli.env, "QUANTSHIFT_CRASH_AT": point}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(drill.subscribed, timeout=30, message="the subscription", process=crashing)
        drill.push_bars()
        crashing.wait(timeout=30)
        died_at = time.monotonic()
        assert crashing.returncode == -signal.SIGKILL, crashing.stderr.read()
        sent_before = drill.venue_orders()
        assert len(sent_before) <= 1
        if point != "after_intent_commit":
            assert len(sent_before) == 1  # the kill came after the venue had the order

        # A restart is refused while the dead process's heartbeat is fresh (two intervals of 0.5 s).
        time.sleep(max(0.0, died_at + 2 * 0.5 + 0.2 - time.monotonic()))
        restarted = cli.start("paper", *drill.args, "--config", config, "--duration", "60")
        try:
            # The crashed process reconciled at its start too: the restart's is the second.
            wait_until(lambda: cli.query("SELECT count(*) FROM audit_log WHERE message LIKE 'reconciliation OK%'"
                                         )[0][0] >= 2, timeout=30, message="the start-up reconciliation",
                       process=restarted)
        finally:
            restarted.send_signal(signal.SIGTERM)
            _, err = restarted.communicate(timeout=30)
        assert restarted.returncode == 0, err
        # Never a second order for the intent, after the crash or after the restart.
        assert drill.venue_orders() == sent_before
        held = cli.query("SELECT quantity FROM positions WHERE account=?", drill.account)
        stored = sum((Decimal(str(row[0])) for row in held), Decimal(0))
        assert stored == drill.venue_position()
        fills = cli.query("SELECT count(*) FROM fills WHERE account=?", drill.account)[0][0]
        assert fills == (0 if point == "after_intent_commit" else 1)
        check = cli.run("reconcile", *drill.args, "--config", config, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        drill.close()
