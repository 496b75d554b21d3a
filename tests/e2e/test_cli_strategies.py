"""`quantshift strategies` after a multi-strategy paper session with capital allocation."""

from __future__ import annotations

from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

CONFIG = """
[allocation]
method = "fixed"
weights = { equity = 3, crypto = 1 }
performance_tilt = 0
min_weight = 0.1
max_weight = 0.9
rebalance_every = "5d"

[[bots]]
name = "equity"
asset_class = "equity"
symbols = ["SPY"]
capital = 50000
params = { fast = 5, slow = 20 }

[[bots]]
name = "crypto"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 50000
params = { fast = 12, slow = 48 }
"""


def test_strategies_shows_each_sleeves_weight_and_performance_after_a_session(cli):
    config = cli.config(CONFIG)
    cli.run("paper", "--days", "10", "--config", str(config))
    report = cli.json("strategies", "--config", str(config), "--json")
    assert report["account"] == "sim-0001"
    rows = {r["bot"]: r for r in report["strategies"]}
    assert set(rows) == {"equity", "crypto"}
    assert (rows["equity"]["weight"], rows["crypto"]["weight"]) == ("0.750000", "0.250000")
    assert rows["equity"]["strategy"] == "ma_crossover"
    # The first rebalance moved 25,000 from crypto to equity; neither counts it as P&L.
    total = Decimal(rows["equity"]["equity"]) + Decimal(rows["crypto"]["equity"])
    pnl = Decimal(rows["equity"]["net_pnl"]) + Decimal(rows["crypto"]["net_pnl"])
    assert abs(total - Decimal(100_000) - pnl) <= Decimal("0.02")
    assert abs(pnl) < Decimal(20_000)
    moved = cli.query("SELECT bot, transfer FROM allocations WHERE account = 'sim-0001' ORDER BY id LIMIT 2")
    assert sorted(moved) == [("crypto", "-25000.00"), ("equity", "25000.00")]
    text = cli.run("strategies", "--config", str(config)).stdout
    assert "Strategies (sim-0001)" in text and "last rebalance" in text


def test_a_bad_allocation_setting_names_its_key(cli):
    config = cli.config(CONFIG.replace("crypto = 1 }", "crypto = 1, nobody = 2 }"))
    result = cli.run("paper", "--days", "2", "--config", str(config), check=False)
    assert result.returncode == 2
    assert "[allocation]" in result.stderr and "nobody" in result.stderr
