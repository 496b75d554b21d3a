from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from domain.accounting.instrument import crypto, equity
from domain.accounting.market import Bar, Quote
from domain.risk.sanity import BarSanityGate
from domain.risk.sizing import FixedFraction
from domain.strategies.ma_crossover import MovingAverageCrossover
from domain.strategy import BarWindow, Target

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=timezone.utc)


def bar(price, minute=0, symbol="SPY", **overrides) -> Bar:
    c = Decimal(str(price))
    fields = dict(symbol=symbol, ts=T0 + timedelta(minutes=minute), open=c, high=c, low=c, close=c, volume=Decimal(100))
    fields.update(overrides)
    return Bar(**fields)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"close": Decimal("NaN"), "high": Decimal("NaN")}, "is not finite"),
        ({"open": Decimal("Infinity")}, "open is not finite"),
        ({"low": Decimal(0)}, "low must be positive"),
        ({"high": Decimal(-1)}, "high must be positive"),
        ({"high": Decimal(5)}, "high 5 is below"),
        ({"volume": Decimal(-1)}, "volume"),
        ({"ts": datetime(2025, 1, 2)}, "timezone-aware"),
        ({"close": 10.0, "high": 10.0}, "must be a Decimal"),
    ],
)
def test_bad_bars_are_refused_with_a_reason(overrides, message):
    with pytest.raises(ValueError, match=message):
        bar(10, **overrides)


def test_crossed_quote_refused():
    with pytest.raises(ValueError, match="crossed"):
        Quote(symbol="X", ts=T0, bid=Decimal(2), ask=Decimal(1), last=Decimal(1))


def test_sanity_gate_refuses_duplicates_out_of_order_and_future_bars():
    gate = BarSanityGate()
    now = T0 + timedelta(hours=1)
    assert gate.check(bar(10, 1), now=now).ok
    assert "duplicate" in gate.check(bar(10, 1), now=now).reason
    assert "out-of-order" in gate.check(bar(10, 0), now=now).reason
    assert gate.check(bar(10, 0, symbol="AAPL"), now=now).ok  # per symbol
    assert "future" in gate.check(bar(10, 120), now=now).reason
    assert gate.check(bar(10, 2), now=now).ok


def test_bar_window_is_bounded_and_read_only():
    window = BarWindow(capacity=5)
    for i in range(23):
        window.append(bar(100 + i, i))
    assert len(window) == 5
    assert list(window.closes) == [118, 119, 120, 121, 122]
    with pytest.raises(ValueError):
        window.closes[0] = 1.0


def test_ma_crossover_targets():
    strategy = MovingAverageCrossover(fast=2, slow=4, entry="level")
    window = BarWindow(capacity=10)
    signals = []
    for i, close in enumerate([10, 10, 10, 10, 11, 12, 13, 12, 10, 8]):
        window.append(bar(close, i))
        signals.append(strategy.on_bar(window))
    assert signals[:3] == [None, None, None]
    targets = [s.target for s in signals[3:]]
    assert targets == [Target.FLAT, Target.LONG, Target.LONG, Target.LONG, Target.LONG, Target.FLAT, Target.FLAT]
    assert signals[4].bar_ts == T0 + timedelta(minutes=4) and "fast_sma" in signals[4].values
    with pytest.raises(ValueError, match="slow"):
        MovingAverageCrossover(fast=5, slow=5)


def test_fixed_fraction_sizing_rounds_down_to_lots():
    sized = FixedFraction(fraction=Decimal("0.5")).size(instrument=equity("SPY"), equity=Decimal(10_000), price=Decimal(333))
    assert sized.quantity == 15 and "15" in sized.arithmetic
    coins = FixedFraction(fraction=Decimal("0.5")).size(instrument=crypto("BTC-USD"), equity=Decimal(10_000), price=Decimal(60_000))
    assert coins.quantity == Decimal("0.08333333")
    assert FixedFraction(fraction=Decimal(1)).size(instrument=equity("SPY"), equity=Decimal(0), price=Decimal(1)).quantity == 0
    with pytest.raises(ValueError):
        FixedFraction(fraction=Decimal("1.5"))


def test_indicator_sma():
    from domain.indicators import sma

    out = sma(np.array([1.0, 2, 3, 4]), 2)
    assert np.isnan(out[0]) and list(out[1:]) == [1.5, 2.5, 3.5]
