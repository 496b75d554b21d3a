"""Rounding at any magnitude, the one symbol rule, and the future-bar rule with "now" passed in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.accounting.instrument import AssetClass, crypto, equity
from domain.numbers import round_to_increment
from domain.risk.sanity import future_bar_reason
from domain.symbols import asset_class_of, check_symbol


def test_rounding_is_exact_however_large_the_value():
    # 1e300 / 0.00000001 has 309 whole digits: at Decimal's default 28 this raised InvalidOperation.
    huge = Decimal("1e300") / Decimal(60000)
    quantity = crypto("BTC-USD").round_quantity_down(huge)
    assert quantity <= huge and huge - quantity < Decimal("0.00000001")
    assert equity("SPY").round_quantity_down(Decimal("1e40") + Decimal("0.7")) == Decimal("1e40")
    assert round_to_increment(Decimal("2.99999999999999999999999999999999"), Decimal("0.01"), down=True) == Decimal("2.99")
    assert round_to_increment(Decimal("1.005"), Decimal("0.01")) == Decimal("1.00")  # half-even, as before
    with pytest.raises(ValueError, match="cannot round NaN"):
        round_to_increment(Decimal("NaN"), Decimal("0.01"))


@pytest.mark.parametrize(("symbol", "asset_class"), [("SPY", AssetClass.EQUITY), ("BRK.B", AssetClass.EQUITY),
                                                     ("BTC-USD", AssetClass.CRYPTO), ("1INCH-USD", AssetClass.CRYPTO),
                                                     ("ETH-USDC", AssetClass.CRYPTO)])
def test_symbols_of_each_asset_class(symbol, asset_class):
    assert asset_class_of(symbol) is asset_class and check_symbol(symbol, asset_class=asset_class) == symbol


@pytest.mark.parametrize(("symbol", "asset_class", "says"), [
    ("spy; drop table", None, "is not a symbol"), ("../../etc/x", None, "is not a symbol"), ("", None, "is not a symbol"),
    ("BTC/USD", None, "is not a symbol"), ("spy", None, "write it in upper case: 'SPY'"), (3, None, "is not a symbol"),
    ("BTC-USD", AssetClass.EQUITY, "is a crypto pair, not an equity symbol"),
    ("SPY", AssetClass.CRYPTO, "is an equity symbol, not a crypto pair"),
])
def test_what_is_not_a_symbol_says_why(symbol, asset_class, says):
    with pytest.raises(ValueError, match=says):
        check_symbol(symbol, asset_class=asset_class)


def test_a_bar_ending_after_now_is_in_the_future():
    now = datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc)
    start = now - timedelta(minutes=15)
    assert future_bar_reason(ts=start, end=now, now=now) is None
    assert future_bar_reason(ts=start, end=now + timedelta(seconds=5), now=now) is None  # clock skew
    reason = future_bar_reason(ts=now, end=now + timedelta(minutes=15), now=now)
    assert reason == ("bar at 2026-01-05T15:00:00+00:00 ends 2026-01-05T15:15:00+00:00, in the future "
                      "(now 2026-01-05T15:00:00+00:00)")
