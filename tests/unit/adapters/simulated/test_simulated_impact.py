"""Square-root market impact on the simulated venue: the larger an order's share of the bar's
volume, the worse its price, on top of the fixed slippage; limits (makers) pay none."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.simulated import MarketFill, NoCommission, SimulatedBrokerConfig, build_simulated_broker
from adapters.simulated.fill_model import FillModel
from domain.accounting.instrument import Instrument, AssetClass
from domain.accounting.market import Bar
from domain.orders.events import OrderFilled
from domain.orders.order import Order, OrderSide, OrderType

XYZ = Instrument(symbol="XYZ", asset_class=AssetClass.EQUITY, tick_size=Decimal("0.0001"), lot_size=Decimal(1))
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=timezone.utc)


def bar(i: int, price: str, volume: int) -> Bar:
    p = Decimal(price)
    return Bar(symbol="XYZ", ts=T0 + timedelta(minutes=i), open=p, high=p, low=p, close=p, volume=Decimal(volume),
               interval=timedelta(minutes=1))


def order(coid: str, side: OrderSide, quantity: int, order_type=OrderType.MARKET, limit=None) -> Order:
    return Order(client_order_id=coid, account="a", bot="b", strategy="s", symbol="XYZ", side=side,
                 order_type=order_type, quantity=Decimal(quantity), created_at=T0, signal_ts=T0, limit_price=limit)


def fill_price(*, quantity: int, side=OrderSide.BUY, coefficient="0.1", slippage="0") -> Decimal:
    venue = build_simulated_broker(config=SimulatedBrokerConfig(
        market_fill=MarketFill.NEXT_OPEN, slippage_bps=Decimal(slippage), max_volume_share=None,
        impact_coefficient=Decimal(coefficient), equity_commission=NoCommission()), instruments={"XYZ": XYZ})
    venue.on_bar(bar(0, "100", 10_000))
    venue.submit(order("o1", side, quantity))
    venue.on_bar(bar(1, "100", 10_000))
    [filled] = [e for e in venue.poll_events() if isinstance(e, OrderFilled)]
    return filled.fill.price


def test_impact_grows_with_the_square_root_of_the_volume_share():
    # 1,000 of 10,000 (10 %): 0.1 x sqrt(0.1) = 316.23 bps -> 103.1623 (a buy rounds up to the tick).
    assert fill_price(quantity=1000) == Decimal("103.1623")
    # 10 of 10,000: 0.1 x sqrt(0.001) = 31.62 bps -> 100.3163; a sell pays it downwards.
    assert fill_price(quantity=10) == Decimal("100.3163")
    assert fill_price(quantity=10, side=OrderSide.SELL) == Decimal("99.6837")
    # On top of the fixed slippage: 5 + 31.62 bps.
    assert fill_price(quantity=10, slippage="5") == Decimal("100.3663")
    assert fill_price(quantity=1000, coefficient="0") == Decimal(100)


def test_a_resting_limit_is_a_maker_and_pays_no_impact():
    venue = build_simulated_broker(config=SimulatedBrokerConfig(
        max_volume_share=None, impact_coefficient=Decimal("0.5"), equity_commission=NoCommission()),
        instruments={"XYZ": XYZ})
    venue.on_bar(bar(0, "100", 10_000))
    venue.submit(order("l1", OrderSide.BUY, 5000, OrderType.LIMIT, limit=Decimal(100)))
    venue.on_bar(bar(1, "100", 10_000))
    [filled] = [e for e in venue.poll_events() if isinstance(e, OrderFilled)]
    assert filled.fill.price == Decimal(100) and filled.fill.liquidity == "maker"


def test_a_negative_impact_coefficient_is_refused():
    with pytest.raises(ValueError, match="impact_coefficient"):
        FillModel(impact_coefficient=Decimal(-1))
