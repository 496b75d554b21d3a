"""What a symbol may look like, checked wherever one enters (configuration, CLI options, file names).

One rule for everything a person types: an equity ticker (SPY, BRK.B) or a crypto pair
(BTC-USD), upper case. A symbol also names files (SPY.csv) and goes into SQL parameters and
venue requests, so nothing else may pass: no path separators, spaces, quotes or semicolons.
Venue wire symbols (Alpaca's BTC/USD) are the adapters' business and never come through here.
"""

from __future__ import annotations

import re

from domain.accounting.instrument import AssetClass

_EQUITY = re.compile(r"[A-Z][A-Z0-9]{0,9}(?:\.[A-Z0-9]{1,3})?")  # SPY, AAPL, BRK.B
_CRYPTO = re.compile(r"[A-Z0-9]{2,10}-[A-Z0-9]{2,10}")  # BTC-USD, ETH-USDC, 1INCH-USD
_EXAMPLES = "an equity ticker like SPY or BRK.B, or a crypto pair like BTC-USD"


def asset_class_of(symbol: str) -> AssetClass | None:
    """The asset class a well-formed symbol belongs to; None if it is not a symbol."""
    if _CRYPTO.fullmatch(symbol):
        return AssetClass.CRYPTO
    if _EQUITY.fullmatch(symbol):
        return AssetClass.EQUITY
    return None


def check_symbol(symbol: object, *, asset_class: AssetClass | None = None) -> str:
    """`symbol` itself if it is a symbol (of `asset_class`, when given); otherwise ValueError
    saying why, with the value as it was written (the caller adds where it came from)."""
    if not isinstance(symbol, str):
        raise ValueError(f"{symbol!r} is not a symbol: expected {_EXAMPLES}")
    found = asset_class_of(symbol)
    if found is None:
        hint = f" (write it in upper case: {symbol.upper()!r})" if asset_class_of(symbol.upper()) else ""
        raise ValueError(f"{symbol!r} is not a symbol: expected {_EXAMPLES}{hint}")
    if asset_class is AssetClass.EQUITY and found is AssetClass.CRYPTO:
        raise ValueError(f"{symbol!r} is a crypto pair, not an equity symbol")
    if asset_class is AssetClass.CRYPTO and found is AssetClass.EQUITY:
        raise ValueError(f"{symbol!r} is an equity symbol, not a crypto pair like BTC-USD")
    return symbol
