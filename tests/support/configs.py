"""Pieces of bot configuration (TOML) that the end-to-end drills share."""

from __future__ import annotations

from pathlib import Path

# The order throttle opened up, so that only what a drill does stops a bot that trades on every bar.
NO_ORDER_THROTTLE = """
[risk]
max_orders_per_symbol_per_minute = 100000
max_orders_per_bot_per_minute = 100000
"""

# Every risk limit the go-live checklist asks for, explicit and passing (the example of
# docs/golive.md "Risk management items" opens with it).
GOLIVE_RISK_TABLE = """\
[risk]
max_heat = 0.10
drawdown_warning = 0.05
drawdown_limit = 0.10
daily_loss_percent = 0.03
max_order_quantity = 1000
max_order_notional = 100000
max_gross_exposure = 1.0
"""


def flipflop_bot(strategies: Path, *, name: str = "btc", symbol: str = "BTC-USD", capital: object = 10000,
                 position_fraction: object | None = None) -> str:
    """One crypto [[bots]] table running the user strategy FlipFlop of `strategies` (an order on
    every bar: LONG, FLAT, LONG, ...)."""
    fraction = "" if position_fraction is None else f"position_fraction = {position_fraction}\n"
    return f'''
[[bots]]
name = "{name}"
asset_class = "crypto"
symbols = ["{symbol}"]
capital = {capital}
{fraction}strategy = "{strategies}:FlipFlop"
'''


def alpaca_section(fake: object) -> str:
    """[engine] at 1-minute bars and 0.5 s heartbeats, and [alpaca] pointed at a FakeAlpaca
    (tests/fakes/alpaca_venue.py), paper or live."""
    return '''
[engine]
timeframe = "1m"
heartbeat_seconds = 0.5
''' + alpaca_table(fake)


def alpaca_table(fake: object) -> str:
    """[alpaca] alone, pointed at a FakeAlpaca, for a config that writes its own [engine]."""
    return f'''
[alpaca]
trading_url = "{fake.url}"
data_url = "{fake.url}"
trading_stream_url = "{fake.trading_stream.url}"
data_stream_url = "{fake.data_stream.url}"
timeout_seconds = 2
'''  # type: ignore[attr-defined]


def coinbase_section(fake: object) -> str:
    """[coinbase] pointed at a FakeCoinbase (tests/fakes/coinbase_venue.py), over its TLS CA."""
    return f'''
[coinbase]
rest_host = "{fake.rest_host}"
ws_url = "{fake.ws_url}"
ws_user_url = "{fake.ws_url}"
ca_bundle = "{fake.ca_file}"
timeout_seconds = 2
'''  # type: ignore[attr-defined]
