"""`quantshift doctor` and `quantshift data download` against the fake Alpaca and Coinbase
venues, through the real SDKs (the CLI in process: these check what the commands say)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.test_paper_alpaca import alpaca_config, open_market
from tests.e2e.test_paper_coinbase import coinbase_config
from tests.fakes.alpaca_venue import FakeAlpaca
from tests.fakes.coinbase_venue import FakeCoinbase

pytestmark = pytest.mark.e2e

DAY = datetime(2025, 3, 3, tzinfo=timezone.utc)


@pytest.fixture
def alpaca(cli: Cli):
    with FakeAlpaca() as fake:
        cli.env.update({"ALPACA_API_KEY": fake.api_key, "ALPACA_SECRET_KEY": fake.secret_key})
        yield fake, str(alpaca_config(cli, fake))


@pytest.fixture
def coinbase(cli: Cli, tmp_path):
    (tmp_path / "venue").mkdir()
    fake = FakeCoinbase.start(tmp_path / "venue")
    cli.env.update({"COINBASE_API_KEY": fake.key.name, "COINBASE_API_SECRET": fake.key.secret})
    try:
        yield fake, str(coinbase_config(cli, fake))
    finally:
        fake.stop()


def test_doctor_passes_a_healthy_alpaca_account_and_names_what_is_wrong(cli: Cli, alpaca):
    fake, config = alpaca
    cli.invoke("--help")  # the CLI's first import, before the venue's (fixed) clock is set
    open_market(fake)
    healthy = cli.invoke("doctor", "--venue", "alpaca", "--config", config, "--json")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    checks = {c["check"]: c for c in json.loads(healthy.stdout)["alpaca"]}
    assert {c["verdict"] for c in checks.values()} == {"ok"}
    assert checks["symbols"]["detail"] == "SPY tradable"
    fake.account_fields = {"trading_blocked": True}
    blocked = cli.invoke("doctor", "--venue", "alpaca", "--config", config, "--json")
    assert blocked.returncode == 1
    account = {c["check"]: c for c in json.loads(blocked.stdout)["alpaca"]}["account"]
    assert account["verdict"] == "fail" and "trading blocked" in account["detail"]
    cli.env["ALPACA_SECRET_KEY"] = "wrong"
    refused = cli.invoke("doctor", "--venue", "alpaca", "--config", config, "--json")
    assert refused.returncode == 1
    connectivity = {c["check"]: c for c in json.loads(refused.stdout)["alpaca"]}["connectivity"]
    assert connectivity["verdict"] == "fail" and "key" in connectivity["detail"].lower()


def test_doctor_checks_coinbase_keys_permissions_and_products(cli: Cli, coinbase):
    fake, config = coinbase
    healthy = cli.invoke("doctor", "--venue", "coinbase", "--sandbox", "--config", config, "--json")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    fake.permissions["can_trade"] = False
    view_only = cli.invoke("doctor", "--venue", "coinbase", "--sandbox", "--config", config, "--json")
    assert view_only.returncode == 1
    permissions = {c["check"]: c for c in json.loads(view_only.stdout)["coinbase"]}["permissions"]
    assert permissions["verdict"] == "fail" and "may not trade" in permissions["detail"]


def test_data_download_writes_alpaca_history_for_a_backtest(cli: Cli, alpaca):
    fake, config = alpaca
    fake.add_bars("SPY", [(DAY + timedelta(days=k), 100 + k, 101 + k, 99 + k, 100.5 + k, 1000) for k in range(5)])
    out = cli.tmp / "history"
    done = cli.invoke("data", "download", "--source", "alpaca", "--symbols", "SPY", "--start", "2025-03-03",
                      "--end", "2025-03-08", "--timeframe", "1d", "--out", str(out), "--config", config)
    assert done.returncode == 0, done.stderr
    assert f"{out / 'SPY.csv'}: 5 bars" in done.stdout
    lines = (out / "SPY.csv").read_text().splitlines()
    assert lines[0] == "timestamp,open,high,low,close,volume" and lines[1].startswith("2025-03-03T00:00:00+00:00,100")
    assert not list(out.glob("*.partial"))
    backtest = cli.invoke("backtest", "--data", str(out / "SPY.csv"), "--strategy", "ma_crossover", "--param",
                          "fast=2", "--param", "slow=3", "--json")
    assert backtest.returncode == 0 and json.loads(backtest.stdout)["bars"] == 5
    unsupported = cli.invoke("data", "download", "--source", "alpaca", "--symbols", "SPY", "--start", "2025-03-03",
                             "--end", "2025-03-08", "--timeframe", "2d", "--out", str(out), "--config", config,
                             "--force")
    assert unsupported.returncode == 2 and "unsupported bar interval 2 days" in unsupported.stderr


def test_data_download_writes_coinbase_candles(cli: Cli, coinbase):
    fake, config = coinbase
    for k in range(4):
        fake.add_rest_candle("BTC-USD", granularity="ONE_HOUR", start=DAY + timedelta(hours=k), open="100",
                             high="105", low="99", close=str(101 + k), volume="5")
    out = cli.tmp / "crypto"
    done = cli.invoke("data", "download", "--source", "coinbase", "--sandbox", "--symbols", "BTC-USD", "--start",
                      "2025-03-03", "--end", "2025-03-03T04:00:00+00:00", "--timeframe", "1h", "--out", str(out),
                      "--config", config)
    assert done.returncode == 0, done.stderr
    rows = (out / "BTC-USD.csv").read_text().splitlines()[1:]
    assert [r.split(",")[4] for r in rows] == ["101", "102", "103", "104"]
    # A candle that is not a bar (close above its high) stops the download, named; the file
    # already written stays as it was.
    fake.add_rest_candle("BTC-USD", granularity="ONE_HOUR", start=DAY + timedelta(hours=2), open="100",
                         high="102", low="99", close="108", volume="5")
    bad = cli.invoke("data", "download", "--source", "coinbase", "--sandbox", "--symbols", "BTC-USD", "--start",
                     "2025-03-03", "--end", "2025-03-03T04:00:00+00:00", "--timeframe", "1h", "--out", str(out),
                     "--config", config, "--force")  # without it, the file already there is refused
    assert bad.returncode == 4 and "candle BTC-USD ONE_HOUR at 2025-03-03T02:00:00+00:00" in bad.stderr
    assert (out / "BTC-USD.csv").read_text().splitlines()[1:] == rows
