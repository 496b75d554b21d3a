from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from domain.accounting.instrument import crypto, equity
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderType
from domain.risk.risk import Approved, Denied, RiskContext, RiskEngine, RiskLimits
from domain.risk.trading_state import TradingState

NOW = datetime(2025, 1, 2, 15, 0, tzinfo=timezone.utc)


def intent(**overrides) -> OrderIntent:
    fields = dict(account="a", bot="b", strategy="s", instrument=equity("SPY"), side=OrderSide.BUY,
                  quantity=Decimal(10), order_type=OrderType.MARKET, signal_ts=NOW, reference_price=Decimal(100),
                  reduces_risk=False)
    fields.update(overrides)
    return OrderIntent(**fields)


def context(**overrides) -> RiskContext:
    fields = dict(now=NOW, trading_state=TradingState.ACTIVE, last_price=Decimal(100), last_price_at=NOW,
                  open_orders_for_symbol=0, recent_submissions_symbol=(), recent_submissions_bot=(),
                  equity=Decimal(100_000), cash=Decimal(100_000), gross_exposure=Decimal(0),
                  position_quantity=Decimal(0))
    fields.update(overrides)
    return RiskContext(**fields)


ENGINE = RiskEngine.standard(RiskLimits(max_order_quantity=Decimal(1000), max_order_notional=Decimal(50_000)))


def test_a_plain_order_is_approved_with_every_check_recorded():
    decision = ENGINE.evaluate(intent(), context())
    assert isinstance(decision, Approved)
    assert len(decision.checks) == len(ENGINE.policies) and all(c.passed for c in decision.checks)


def denied_by(decision) -> str:
    assert isinstance(decision, Denied), decision
    return decision.check


def test_each_limit_denies_with_its_figures():
    assert denied_by(ENGINE.evaluate(intent(quantity=Decimal(1001)), context(cash=Decimal(10**9), equity=Decimal(10**9)))) == "max_order_quantity"
    decision = ENGINE.evaluate(intent(quantity=Decimal(600)), context())
    assert denied_by(decision) == "max_order_notional" and "60000.00 vs limit 50000" in decision.reason
    collar = ENGINE.evaluate(intent(order_type=OrderType.LIMIT, limit_price=Decimal(106)), context())
    assert denied_by(collar) == "price_collar" and "6.0000%" in collar.reason
    wider = ENGINE.evaluate(intent(instrument=crypto("BTC-USD"), order_type=OrderType.LIMIT, limit_price=Decimal(106)), context())
    assert isinstance(wider, Approved)  # crypto's collar is wider
    assert denied_by(ENGINE.evaluate(intent(), context(cash=Decimal(999)))) == "buying_power"
    assert denied_by(ENGINE.evaluate(intent(), context(open_orders_for_symbol=1))) == "pending_order"
    assert denied_by(ENGINE.evaluate(intent(), context(gross_exposure=Decimal(99_500)))) == "gross_exposure"
    stale = ENGINE.evaluate(intent(), context(last_price_at=NOW - timedelta(hours=2)))
    assert denied_by(stale) == "fresh_data"
    assert isinstance(ENGINE.evaluate(intent(reduces_risk=True, side=OrderSide.SELL), context(last_price_at=NOW - timedelta(hours=2))), Approved)


def test_trading_states_gate_submissions():
    assert denied_by(ENGINE.evaluate(intent(), context(trading_state=TradingState.HALTED))) == "trading_state"
    assert denied_by(ENGINE.evaluate(intent(reduces_risk=True), context(trading_state=TradingState.HALTED))) == "trading_state"
    assert denied_by(ENGINE.evaluate(intent(), context(trading_state=TradingState.REDUCING))) == "trading_state"
    assert isinstance(ENGINE.evaluate(intent(reduces_risk=True, side=OrderSide.SELL), context(trading_state=TradingState.REDUCING)), Approved)


def test_rate_throttle_halts_and_wins_over_other_denials():
    stamps = tuple(NOW - timedelta(seconds=s) for s in range(1, 11))
    decision = ENGINE.evaluate(intent(quantity=Decimal(10**6)), context(recent_submissions_symbol=stamps))
    assert isinstance(decision, Denied) and decision.halt and decision.check == "order_rate_symbol"
    old = tuple(NOW - timedelta(seconds=61 + s) for s in range(50))
    assert isinstance(ENGINE.evaluate(intent(), context(recent_submissions_symbol=old, recent_submissions_bot=old)), Approved)


@given(st.integers(min_value=0, max_value=100), st.integers(min_value=1, max_value=30))
def test_throttle_property(count, limit):
    engine = RiskEngine.standard(RiskLimits(max_orders_per_symbol_per_minute=limit))
    stamps = tuple(NOW - timedelta(milliseconds=100 * (i + 1)) for i in range(count))
    decision = engine.evaluate(intent(), context(recent_submissions_symbol=stamps))
    assert decision.approved == (count < limit)
    if not decision.approved:
        assert decision.halt


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10_000), places=2),
       st.integers(min_value=1, max_value=10_000))
def test_notional_limit_property(price, quantity):
    decision = ENGINE.evaluate(intent(quantity=Decimal(quantity), reference_price=price),
                               context(last_price=price, cash=Decimal(10**12), equity=Decimal(10**12)))
    too_big = Decimal(quantity) > 1000 or Decimal(quantity) * price > 50_000
    assert decision.approved == (not too_big)


def test_limits_validate():
    import pytest

    with pytest.raises(ValueError, match="max_order_notional"):
        RiskLimits(max_order_notional=Decimal(0))
    with pytest.raises(ValueError, match="max_orders_per_bot_per_minute"):
        attrs.evolve(RiskLimits(), max_orders_per_bot_per_minute=0)


def test_buying_power_counts_a_flips_closing_leg_before_the_new_one():
    from domain.risk.risk import BuyingPower

    # Long 100 at 100 with 0 cash: selling 200 closes 100 (10,000 in) and shorts 100 against it.
    flip = intent(side=OrderSide.SELL, quantity=Decimal(200))
    result = BuyingPower().check(flip, context(cash=Decimal(0), position_quantity=Decimal(100)))
    assert result.passed and result.detail == "new leg 10000.00 vs cash 10000.00 (after closing 100 at 100)"
    too_far = intent(side=OrderSide.SELL, quantity=Decimal(201))
    assert not BuyingPower().check(too_far, context(cash=Decimal(0), position_quantity=Decimal(100))).passed
    # Short 100 with 20,000 cash (the sale's proceeds in): buying 200 covers for 10,000 first.
    cover = intent(side=OrderSide.BUY, quantity=Decimal(200))
    result = BuyingPower().check(cover, context(cash=Decimal(20_000), position_quantity=Decimal(-100)))
    assert result.passed and "vs cash 10000.00" in result.detail
