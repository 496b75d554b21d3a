"""`quantshift paper --days` on the simulated venue ends with every position's stop resting
(issue 13, Venues): a thin market (max_volume_share) keeps orders filling in parts, so the
session ends while one still works. In process (the CLI's runner), the store read with SQL."""

from __future__ import annotations

from decimal import Decimal

CONFIG = """
[engine]
timeframe = "15m"
max_volume_share = 0.00002
{on_stop}

[[bots]]
name = "btc"
asset_class = "crypto"
symbols = ["BTC-USD"]
capital = 100000
params = {{ fast = 5, slow = 20 }}
position_fraction = 0.5
stop = "fixed"
"""


def _paper(cli, on_stop: str) -> None:
    config = cli.config(CONFIG.format(on_stop=f'on_stop = "{on_stop}"' if on_stop else ""))
    result = cli.invoke("paper", "--days", "3", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr


def _open_orders(cli) -> list[tuple[str, str, Decimal]]:
    return [(strategy, side, Decimal(quantity) - Decimal(filled)) for strategy, side, quantity, filled in cli.query(
        "SELECT strategy, side, quantity, filled_quantity FROM orders"
        " WHERE status IN ('initialized', 'submitted', 'accepted', 'partially_filled', 'pending_cancel')")]


def _held(cli) -> Decimal:
    return sum((Decimal(q) for (q,) in cli.query("SELECT quantity FROM positions WHERE symbol = 'BTC-USD'")), Decimal(0))


def _ended(cli) -> str:
    [(message,)] = cli.query("SELECT message FROM audit_log WHERE kind = 'session' AND message LIKE '%session stopped%'")
    return message


def test_the_session_ends_with_the_position_protected_and_nothing_else_working(cli):
    _paper(cli, "")  # the default, cancel_entries; the last exit was still filling at the end
    held = _held(cli)
    assert held > 0
    assert _open_orders(cli) == [("protective_stop", "sell", held)]
    assert "on_stop = cancel_entries: 1 order(s) cancelled" in _ended(cli)
    assert "stops resting for btc/BTC-USD" in _ended(cli)


def test_leave_keeps_the_exit_working_and_names_the_position_it_keeps_the_stop_from(cli):
    _paper(cli, "leave")
    held = _held(cli)
    assert held > 0
    assert _open_orders(cli) == [("ma_crossover", "sell", held)]  # the exit closes it; no stop beside it
    assert "on_stop = leave: 0 order(s) cancelled; NO resting stop for btc/BTC-USD" in _ended(cli)


def test_cancel_all_leaves_nothing_working_and_says_the_position_has_no_stop(cli):
    _paper(cli, "cancel_all")
    assert _held(cli) > 0 and _open_orders(cli) == []
    assert "NO resting stop for btc/BTC-USD" in _ended(cli)
