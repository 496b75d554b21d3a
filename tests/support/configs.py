"""Pieces of bot configuration (TOML) that the end-to-end drills share."""

from __future__ import annotations

from pathlib import Path

# The order throttle opened up, so that only what a drill does stops a bot that trades on every bar.
NO_ORDER_THROTTLE = """
[risk]
max_orders_per_symbol_per_minute = 100000
max_orders_per_bot_per_minute = 100000
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
