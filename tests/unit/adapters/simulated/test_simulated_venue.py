"""The simulated venue: matching engine, fill model and the SimulatedBroker port.

Prices are chosen so that rounding to the tick matters (a plain round-half-even would
give a different answer from rounding against the trader), and every expectation is an
exact Decimal, id, status or event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.simulated import (
    FillModel,
    MakerTaker,
    MarketFill,
    MatchingEngine,
    NoCommission,
    PerShare,
    SimulatedBroker,
    SimulatedBrokerConfig,
    build_simulated_broker,
)
from application.records import VenueOrderState
from application.venues.ports import BarListener, Broker
from domain.accounting.instrument import AssetClass, Instrument, crypto, equity
from domain.accounting.market import Bar
from domain.errors import InvalidMarketData
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

T0 = datetime(2025, 1, 2, 15, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
SPY = equity("SPY")
BTC = crypto("BTC-USD")
INSTRUMENTS = {"SPY": SPY, "BTC-USD": BTC}
BUY, SELL = OrderSide.BUY, OrderSide.SELL
D = Decimal


# -- builders ---------------------------------------------------------------------------


def at(i: int) -> datetime:
    return T0 + i * MINUTE


def make_bar(i: int, o, h, l, c, volume=100_000, *, symbol: str = "SPY") -> Bar:  # noqa: E741
    return Bar(symbol=symbol, ts=at(i), open=D(str(o)), high=D(str(h)), low=D(str(l)), close=D(str(c)),
               volume=D(str(volume)))


def make_order(coid: str = "c1", *, side: OrderSide = BUY, order_type: OrderType = OrderType.MARKET, quantity=10,
               limit=None, stop=None, symbol: str = "SPY", created_at: datetime = T0) -> Order:
    return Order(
        client_order_id=coid, account="acct", bot="bot", strategy="strat", symbol=symbol, side=side,
        order_type=order_type, quantity=D(str(quantity)), created_at=created_at, signal_ts=created_at,
        limit_price=None if limit is None else D(str(limit)), stop_price=None if stop is None else D(str(stop)),
    )


def limit_order(coid: str = "c1", *, side: OrderSide = BUY, limit, quantity=10, symbol: str = "SPY") -> Order:
    return make_order(coid, side=side, order_type=OrderType.LIMIT, limit=limit, quantity=quantity, symbol=symbol)


def stop_order(coid: str = "c1", *, side: OrderSide = BUY, stop, quantity=10, symbol: str = "SPY") -> Order:
    return make_order(coid, side=side, order_type=OrderType.STOP, stop=stop, quantity=quantity, symbol=symbol)


def make_engine(*, market_fill: MarketFill = MarketFill.NEXT_OPEN, slippage_bps="1", share="1",
                equity_fees=None, crypto_fees=None) -> MatchingEngine:
    return MatchingEngine(
        instruments=INSTRUMENTS,
        fill_model=FillModel(market_fill=market_fill, slippage_bps=D(slippage_bps), max_volume_share=D(share)),
        commissions={AssetClass.EQUITY: equity_fees or NoCommission(), AssetClass.CRYPTO: crypto_fees or NoCommission()},
    )


def fills_of(events) -> list[Fill]:
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def venue_id(engine: MatchingEngine, coid: str) -> str:
    state = engine.find(coid)
    assert state is not None
    return state.venue_order_id


def filled(engine: MatchingEngine, coid: str, *, quantity, price, ts: datetime, n: int = 1, side: OrderSide = BUY,
           liquidity: str = "taker", symbol: str = "SPY", commission=D(0)) -> OrderFilled:
    """The exact event the venue must emit for the n-th fill of `coid`."""
    return OrderFilled(fill=Fill(
        fill_id=f"{venue_id(engine, coid)}-{n}", client_order_id=coid, symbol=symbol, side=side,
        quantity=D(str(quantity)), price=D(str(price)), commission=D(str(commission)), ts=ts, liquidity=liquidity,
    ))


# -- FillModel ----------------------------------------------------------------------------


@pytest.mark.parametrize("slippage", ["-0.0001", "-1", "NaN", "Infinity"])
def test_fill_model_refuses_negative_or_non_finite_slippage(slippage):
    with pytest.raises(ValueError, match="slippage_bps"):
        FillModel(slippage_bps=D(slippage))


@pytest.mark.parametrize("share", ["0", "-0.1", "1.0001", "2", "NaN", "Infinity"])
def test_fill_model_refuses_a_volume_share_outside_zero_one(share):
    with pytest.raises(ValueError, match="max_volume_share"):
        FillModel(max_volume_share=D(share))


def test_fill_model_accepts_the_edges_and_has_realistic_defaults():
    FillModel(slippage_bps=D(0), max_volume_share=D(1))
    FillModel(max_volume_share=D("0.00001"))
    default = FillModel()
    assert (default.market_fill, default.slippage_bps, default.max_volume_share) == (
        MarketFill.NEXT_OPEN, D(1), D("0.1"))


@pytest.mark.parametrize(
    ("bps", "price", "side", "expected"),
    [
        ("1", "100.37", BUY, "100.39"),  # 100.380037 -> up to the tick (half-even would give 100.38)
        ("1", "100.37", SELL, "100.35"),  # 100.359963 -> down to the tick (half-even would give 100.36)
        ("10", "250.00", BUY, "250.25"),
        ("10", "250.00", SELL, "249.75"),
        ("0", "100.37", BUY, "100.37"),  # already on the tick: no extra tick against the trader
        ("0", "100.37", SELL, "100.37"),
        ("0", "100.371", BUY, "100.38"),
        ("0", "100.379", SELL, "100.37"),
        ("1", "0.01", SELL, "0.01"),  # never rounded down to a zero price
    ],
)
def test_taker_price_moves_and_rounds_against_the_trader(bps, price, side, expected):
    model = FillModel(slippage_bps=D(bps))
    result = model.taker_price(D(price), side=side, instrument=SPY)
    assert result == D(expected)
    assert result % SPY.tick_size == 0


@pytest.mark.parametrize(
    ("instrument", "volume", "share", "expected"),
    [(SPY, "305", "0.1", "30"), (SPY, "9", "0.1", "0"), (SPY, "77", "1", "77"),
     (BTC, "1.23456789", "0.1", "0.12345678"), (BTC, "0", "0.5", "0")],
)
def test_volume_cap_is_whole_lots_rounded_down(instrument, volume, share, expected):
    cap = FillModel(max_volume_share=D(share)).volume_cap(D(volume), instrument=instrument)
    assert cap == D(expected)


# -- market orders ------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "price"), [(BUY, "100.39"), (SELL, "100.35")])
def test_next_open_market_order_fills_at_the_next_bars_open_with_slippage(side, price):
    engine = make_engine(slippage_bps="1")
    engine.on_bar(make_bar(0, 101, 102, 100, "101.23"))
    accepted = engine.submit(make_order("m1", side=side, quantity=10))
    assert accepted == [OrderAccepted(client_order_id="m1", venue_order_id=venue_id(engine, "m1"), ts=at(1))]
    assert engine.find("m1") == VenueOrderState(client_order_id="m1", venue_order_id=venue_id(engine, "m1"),
                                                status=OrderStatus.ACCEPTED, filled_quantity=D(0))

    events = engine.on_bar(make_bar(1, "100.37", 103, 99, 102))

    assert events == [filled(engine, "m1", quantity=10, price=price, ts=at(1), side=side)]
    state = engine.find("m1")
    assert state is not None and (state.status, state.filled_quantity) == (OrderStatus.FILLED, D(10))
    assert engine.open_orders() == []
    assert engine.on_bar(make_bar(2, 100, 100, 100, 100)) == []  # a filled order never fills again


def test_next_open_market_order_before_any_bar_fills_at_the_first_open_and_is_acked_at_creation():
    engine = make_engine(slippage_bps="10")
    created = T0 - timedelta(hours=1)
    accepted = engine.submit(make_order("m1", quantity=3, created_at=created))
    assert accepted == [OrderAccepted(client_order_id="m1", venue_order_id=venue_id(engine, "m1"), ts=created)]
    assert engine.on_bar(make_bar(0, 250, 251, 249, 250)) == [
        filled(engine, "m1", quantity=3, price="250.25", ts=at(0))]


@pytest.mark.parametrize(("side", "price"), [(BUY, "101.25"), (SELL, "101.21")])
def test_this_close_market_order_fills_at_once_at_the_last_close(side, price):
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE, slippage_bps="1")
    engine.on_bar(make_bar(0, 100, 102, 99, "101.23"))

    events = engine.submit(make_order("m1", side=side, quantity=7))

    vid = venue_id(engine, "m1")
    assert events == [
        OrderAccepted(client_order_id="m1", venue_order_id=vid, ts=at(1)),  # the last bar's end
        filled(engine, "m1", quantity=7, price=price, ts=at(1), side=side),
    ]
    assert engine.find("m1") == VenueOrderState(client_order_id="m1", venue_order_id=vid,
                                                status=OrderStatus.FILLED, filled_quantity=D(7))
    assert engine.open_orders() == []
    assert engine.on_bar(make_bar(1, 100, 100, 100, 100)) == []  # nothing left resting


def test_this_close_market_order_before_any_bar_rests_and_fills_at_the_next_open():
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE, slippage_bps="1")
    accepted = engine.submit(make_order("m1", side=SELL, quantity=4))
    assert accepted == [OrderAccepted(client_order_id="m1", venue_order_id=venue_id(engine, "m1"), ts=T0)]
    assert [o.client_order_id for o in engine.open_orders()] == ["m1"]

    events = engine.on_bar(make_bar(0, "100.37", 101, 99, 100))

    assert events == [filled(engine, "m1", quantity=4, price="100.35", ts=at(0), side=SELL)]


def test_this_close_uses_the_last_bar_of_the_orders_own_symbol():
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE, slippage_bps="0")
    engine.on_bar(make_bar(0, 100, 100, 100, 100, symbol="SPY"))
    engine.on_bar(make_bar(5, 40000, "40000.5", 40000, "40000.5", symbol="BTC-USD"))
    events = engine.submit(make_order("b1", symbol="BTC-USD", quantity="0.5"))
    assert fills_of(events) == [filled(engine, "b1", quantity="0.5", price="40000.50", ts=at(6),
                                       symbol="BTC-USD").fill]


# -- limit orders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bar", "price"),
    [
        (make_bar(1, 100, "100.5", "99.4", 100), "99.50"),  # trades through the limit: at the limit
        (make_bar(1, 100, "100.5", "99.50", 100), "99.50"),  # touches the limit exactly
        (make_bar(1, 99, "99.8", "98.5", "99.2"), "99"),  # gaps down below it: the better open
        (make_bar(1, "99.50", "99.9", "99.1", "99.7"), "99.50"),  # opens at it
    ],
)
def test_limit_buy_fills_at_the_limit_or_the_better_open_as_maker(bar, price):
    engine = make_engine(slippage_bps="10")  # slippage never applies to a resting limit
    engine.on_bar(make_bar(0, 100, 100, 100, 100))
    engine.submit(limit_order("l1", limit="99.50", quantity=5))

    events = engine.on_bar(bar)

    assert events == [filled(engine, "l1", quantity=5, price=price, ts=at(1), liquidity="maker")]
    assert events[0].fill.price <= D("99.50")


def test_limit_buy_does_not_fill_while_the_low_stays_above_the_limit():
    engine = make_engine()
    engine.submit(limit_order("l1", limit="99.50", quantity=5))
    assert engine.on_bar(make_bar(0, 100, 101, "99.51", 100)) == []
    assert engine.on_bar(make_bar(1, "99.6", 101, "99.51", 100)) == []
    state = engine.find("l1")
    assert state is not None and (state.status, state.filled_quantity) == (OrderStatus.ACCEPTED, D(0))
    assert engine.on_bar(make_bar(2, "99.6", 101, "99.49", 100)) == [
        filled(engine, "l1", quantity=5, price="99.50", ts=at(2), liquidity="maker")]


@pytest.mark.parametrize(
    ("bar", "price"),
    [
        (make_bar(1, 100, "101.5", 99, 100), "101"),
        (make_bar(1, 100, "101.00", 99, 100), "101"),
        (make_bar(1, 102, 103, "101.5", 102), "102"),  # gaps up above it: the better open
    ],
)
def test_limit_sell_is_the_mirror(bar, price):
    engine = make_engine(slippage_bps="10")
    engine.submit(limit_order("l1", side=SELL, limit="101", quantity=5))
    events = engine.on_bar(bar)
    assert events == [filled(engine, "l1", quantity=5, price=price, ts=at(1), side=SELL, liquidity="maker")]
    assert events[0].fill.price >= D(101)


def test_limit_sell_does_not_fill_while_the_high_stays_below_the_limit():
    engine = make_engine()
    engine.submit(limit_order("l1", side=SELL, limit="101", quantity=5))
    assert engine.on_bar(make_bar(0, 100, "100.99", 99, 100)) == []
    assert [o.client_order_id for o in engine.open_orders()] == ["l1"]


@pytest.mark.parametrize(
    ("side", "limit", "price"),
    [
        (BUY, "100.05", "100.05"),  # close + 10 bps is 100.10: capped at the limit
        (BUY, "101", "100.10"),  # the slipped price is inside the limit
        (SELL, "99.95", "99.95"),  # close - 10 bps is 99.90: capped at the limit
        (SELL, "99", "99.90"),
        (BUY, "100", "100"),  # a limit at the close is marketable
        (SELL, "100", "100"),
    ],
)
def test_this_close_marketable_limit_fills_at_once_as_taker_capped_at_the_limit(side, limit, price):
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE, slippage_bps="10")
    engine.on_bar(make_bar(0, 99, 101, 98, 100))

    events = engine.submit(limit_order("l1", side=side, limit=limit, quantity=3))

    assert events == [
        OrderAccepted(client_order_id="l1", venue_order_id=venue_id(engine, "l1"), ts=at(1)),
        filled(engine, "l1", quantity=3, price=price, ts=at(1), side=side, liquidity="taker"),
    ]
    assert engine.open_orders() == []


def test_this_close_non_marketable_limit_rests_and_later_fills_as_maker():
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE, slippage_bps="10")
    engine.on_bar(make_bar(0, 99, 101, 98, 100))
    events = engine.submit(limit_order("l1", limit="99", quantity=3))
    assert events == [OrderAccepted(client_order_id="l1", venue_order_id=venue_id(engine, "l1"), ts=at(1))]
    assert engine.on_bar(make_bar(1, "99.5", 100, "98.9", 99)) == [
        filled(engine, "l1", quantity=3, price="99", ts=at(1), liquidity="maker")]


def test_next_open_marketable_limit_waits_for_the_next_bar():
    engine = make_engine(market_fill=MarketFill.NEXT_OPEN, slippage_bps="10")
    engine.on_bar(make_bar(0, 99, 101, 98, 100))
    assert engine.submit(limit_order("l1", limit="101", quantity=3)) == [
        OrderAccepted(client_order_id="l1", venue_order_id=venue_id(engine, "l1"), ts=at(1))]
    assert engine.on_bar(make_bar(1, "100.2", 101, 100, 100)) == [
        filled(engine, "l1", quantity=3, price="100.2", ts=at(1), liquidity="maker")]


# -- stop orders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bar", "price"),
    [
        (make_bar(1, 100, "101.5", 99, 101), "101.02"),  # 101 * 1.0001 = 101.0101 -> up
        (make_bar(1, 100, "101.00", 99, 101), "101.02"),  # the high touches the stop
        (make_bar(1, 102, 103, "101.5", 102), "102.02"),  # gaps above the stop: from the open
    ],
)
def test_stop_buy_triggers_on_the_high_and_fills_from_max_of_stop_and_open_as_taker(bar, price):
    engine = make_engine(slippage_bps="1")
    engine.submit(stop_order("s1", stop=101, quantity=10))
    assert engine.on_bar(bar) == [filled(engine, "s1", quantity=10, price=price, ts=at(1))]


@pytest.mark.parametrize(
    ("bar", "price"),
    [
        (make_bar(1, 100, 101, "98.5", 99), "98.99"),  # 99 * 0.9999 = 98.9901 -> down
        (make_bar(1, 100, 101, "99.00", 99), "98.99"),
        (make_bar(1, 98, "98.5", 97, 98), "97.99"),  # gaps below the stop: from the open
    ],
)
def test_stop_sell_is_the_mirror(bar, price):
    engine = make_engine(slippage_bps="1")
    engine.submit(stop_order("s1", side=SELL, stop=99, quantity=10))
    assert engine.on_bar(bar) == [filled(engine, "s1", quantity=10, price=price, ts=at(1), side=SELL)]


def test_stops_do_not_trigger_before_the_price_reaches_them():
    engine = make_engine()
    engine.submit(stop_order("up", stop=101))
    engine.submit(stop_order("down", side=SELL, stop=99))
    assert engine.on_bar(make_bar(0, 100, "100.99", "99.01", 100)) == []
    assert sorted(o.client_order_id for o in engine.open_orders()) == ["down", "up"]


def test_a_triggered_stop_keeps_filling_its_remainder_as_a_market_order():
    engine = make_engine(slippage_bps="1", share="0.1")
    engine.submit(stop_order("s1", stop=101, quantity=100))
    first = engine.on_bar(make_bar(0, 100, 102, 100, 101, volume=500))  # capacity 50
    assert first == [filled(engine, "s1", quantity=50, price="101.02", ts=at(0))]

    # The stop has been elected: the rest is a market order and fills at the next open.
    second = engine.on_bar(make_bar(1, 99, 100, 98, 99, volume=1000))

    assert second == [filled(engine, "s1", quantity=50, price="99.01", ts=at(1), n=2)]


# -- partial fills and shared capacity ------------------------------------------------------


def test_an_order_larger_than_the_bar_capacity_fills_over_several_bars():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("big", quantity=70))
    vid = venue_id(engine, "big")

    first = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=305))  # 30.5 -> 30 whole shares
    assert first == [filled(engine, "big", quantity=30, price=100, ts=at(0), n=1)]
    assert engine.find("big") == VenueOrderState(client_order_id="big", venue_order_id=vid,
                                                 status=OrderStatus.PARTIALLY_FILLED, filled_quantity=D(30))
    assert [o.client_order_id for o in engine.open_orders()] == ["big"]

    assert engine.on_bar(make_bar(1, 101, 101, 101, 101, volume=0)) == []  # no volume, no fill
    assert engine.find("big") == VenueOrderState(client_order_id="big", venue_order_id=vid,
                                                 status=OrderStatus.PARTIALLY_FILLED, filled_quantity=D(30))
    assert engine.on_bar(make_bar(2, 101, 101, 101, 101, volume=9)) == []  # 0.9 shares: no whole lot

    second = engine.on_bar(make_bar(3, 102, 102, 102, 102, volume=300))
    assert second == [filled(engine, "big", quantity=30, price=102, ts=at(3), n=2)]

    third = engine.on_bar(make_bar(4, 103, 103, 103, 103, volume=300))
    assert third == [filled(engine, "big", quantity=10, price=103, ts=at(4), n=3)]  # only what is left

    assert engine.find("big") == VenueOrderState(client_order_id="big", venue_order_id=vid,
                                                 status=OrderStatus.FILLED, filled_quantity=D(70))
    all_fills = fills_of(first + second + third)
    assert sum(f.quantity for f in all_fills) == D(70)
    assert [f.fill_id for f in all_fills] == [f"{vid}-1", f"{vid}-2", f"{vid}-3"]
    assert engine.open_orders() == []
    assert engine.on_bar(make_bar(5, 103, 103, 103, 103, volume=300)) == []


def test_crypto_partial_fills_are_in_satoshi_lots():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("b1", symbol="BTC-USD", quantity="0.2"))
    first = engine.on_bar(make_bar(0, 40000, 40000, 40000, 40000, volume="1.23456789", symbol="BTC-USD"))
    second = engine.on_bar(make_bar(1, 40001, 40001, 40001, 40001, volume="1.23456789", symbol="BTC-USD"))
    assert first == [filled(engine, "b1", quantity="0.12345678", price=40000, ts=at(0), symbol="BTC-USD")]
    assert second == [filled(engine, "b1", quantity="0.07654322", price=40001, ts=at(1), symbol="BTC-USD", n=2)]
    state = engine.find("b1")
    assert state is not None and (state.status, state.filled_quantity) == (OrderStatus.FILLED, D("0.2"))


def test_capacity_is_shared_across_resting_orders_in_submission_order():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("a", quantity=25))
    engine.submit(make_order("b", side=SELL, quantity=25))
    engine.submit(make_order("c", quantity=5))

    first = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=300))  # capacity 30
    assert first == [
        filled(engine, "a", quantity=25, price=100, ts=at(0)),
        filled(engine, "b", quantity=5, price=100, ts=at(0), side=SELL),
    ]
    second = engine.on_bar(make_bar(1, 100, 100, 100, 100, volume=300))
    assert second == [
        filled(engine, "b", quantity=20, price=100, ts=at(1), side=SELL, n=2),
        filled(engine, "c", quantity=5, price=100, ts=at(1)),
    ]
    assert [(s.client_order_id, s.status) for s in map(engine.find, "abc") if s] == [
        ("a", OrderStatus.FILLED), ("b", OrderStatus.FILLED), ("c", OrderStatus.FILLED)]


def test_submission_order_decides_who_gets_the_capacity_first():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("late-name", quantity=20))
    engine.submit(make_order("early-name", quantity=20))
    events = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=300))
    assert [(f.client_order_id, f.quantity) for f in fills_of(events)] == [("late-name", D(20)), ("early-name", D(10))]


def test_an_order_that_does_not_match_uses_none_of_the_capacity():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(limit_order("far", limit=50, quantity=30))
    engine.submit(make_order("mkt", quantity=30))
    events = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=300))
    assert events == [filled(engine, "mkt", quantity=30, price=100, ts=at(0))]
    far = engine.find("far")
    assert far is not None and (far.status, far.filled_quantity) == (OrderStatus.ACCEPTED, D(0))


def test_capacity_is_per_symbol():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("spy", quantity=10))
    engine.submit(make_order("btc", symbol="BTC-USD", quantity="0.1"))
    spy_events = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=100))
    assert spy_events == [filled(engine, "spy", quantity=10, price=100, ts=at(0))]
    btc = engine.find("btc")
    assert btc is not None and btc.filled_quantity == 0
    btc_events = engine.on_bar(make_bar(0, 40000, 40000, 40000, 40000, volume=1, symbol="BTC-USD"))
    assert btc_events == [filled(engine, "btc", quantity="0.1", price=40000, ts=at(0), symbol="BTC-USD")]


def test_zero_volume_bar_fills_nothing_even_for_a_marketable_order():
    engine = make_engine(share="1")
    engine.submit(make_order("m1"))
    engine.submit(limit_order("l1", limit=200))
    assert engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=0)) == []
    assert sorted(o.client_order_id for o in engine.open_orders()) == ["l1", "m1"]


# -- cancel -------------------------------------------------------------------------------


def test_cancel_of_a_resting_order_removes_it():
    engine = make_engine()
    engine.submit(limit_order("l1", limit="99"))
    engine.on_bar(make_bar(0, 100, 101, "99.5", 100))

    assert engine.cancel("l1") == [OrderCancelled(client_order_id="l1", reason="cancelled by request", ts=at(1))]
    assert engine.find("l1") == VenueOrderState(client_order_id="l1", venue_order_id=venue_id(engine, "l1"),
                                                status=OrderStatus.CANCELLED, filled_quantity=D(0))
    assert engine.open_orders() == []
    assert engine.on_bar(make_bar(1, 98, 99, 97, 98)) == []  # would have filled
    assert engine.cancel("l1") == []  # already cancelled


def test_cancel_before_any_bar_is_stamped_with_the_orders_creation_time():
    engine = make_engine()
    engine.submit(make_order("m1", created_at=T0 - MINUTE))
    assert engine.cancel("m1") == [OrderCancelled(client_order_id="m1", reason="cancelled by request",
                                                  ts=T0 - MINUTE)]
    assert engine.on_bar(make_bar(0, 100, 100, 100, 100)) == []


def test_cancel_of_a_partially_filled_order_keeps_its_fills_and_stops_the_rest():
    engine = make_engine(slippage_bps="0", share="0.1")
    engine.submit(make_order("big", quantity=50))
    engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=200))
    assert engine.cancel("big") == [OrderCancelled(client_order_id="big", reason="cancelled by request", ts=at(1))]
    assert engine.find("big") == VenueOrderState(client_order_id="big", venue_order_id=venue_id(engine, "big"),
                                                 status=OrderStatus.CANCELLED, filled_quantity=D(20))
    assert engine.on_bar(make_bar(1, 100, 100, 100, 100, volume=10_000)) == []


def test_cancel_of_an_unknown_filled_or_rejected_order_returns_nothing():
    engine = make_engine(market_fill=MarketFill.THIS_CLOSE)
    engine.on_bar(make_bar(0, 100, 100, 100, 100))
    engine.submit(make_order("done"))
    engine.submit(make_order("bad", symbol="NOPE"))
    assert engine.find("done") is not None and engine.find("done").status is OrderStatus.FILLED
    assert engine.cancel("never-seen") == []
    assert engine.cancel("done") == []
    assert engine.cancel("bad") == []
    assert engine.find("done").status is OrderStatus.FILLED


def test_cancelling_one_order_keeps_the_others_resting_in_order():
    engine = make_engine(slippage_bps="0", share="0.1")
    for coid in ("a", "b", "c"):
        engine.submit(make_order(coid, quantity=10))
    engine.cancel("b")
    events = engine.on_bar(make_bar(0, 100, 100, 100, 100, volume=150))
    assert [(f.client_order_id, f.quantity) for f in fills_of(events)] == [("a", D(10)), ("c", D(5))]


# -- idempotency and ids ---------------------------------------------------------------------


def test_the_same_client_order_id_submitted_500_times_makes_one_order():
    broker = build_simulated_broker(config=SimulatedBrokerConfig(), instruments=INSTRUMENTS)
    order = make_order("qs-dup", quantity=10)

    results = [broker.submit(order) for _ in range(500)]

    vid = broker.find_order("qs-dup").venue_order_id
    assert results[0] == [OrderAccepted(client_order_id="qs-dup", venue_order_id=vid, ts=T0)]
    assert all(r == [] for r in results[1:])
    assert broker.submit_calls == 500
    assert broker.submitted_client_order_ids() == ["qs-dup"]
    assert broker.open_orders() == [VenueOrderState(client_order_id="qs-dup", venue_order_id=vid,
                                                    status=OrderStatus.ACCEPTED, filled_quantity=D(0))]
    broker.on_bar(make_bar(0, 100, 100, 100, 100, volume=1_000_000))
    events = broker.poll_events()
    assert [(e.fill.client_order_id, e.fill.quantity, e.fill.fill_id) for e in events] == [
        ("qs-dup", D(10), f"{vid}-1")]


def test_a_resubmit_with_other_terms_is_still_the_first_order():
    engine = make_engine(slippage_bps="0", share="1")
    engine.submit(make_order("c1", quantity=10))
    assert engine.submit(make_order("c1", side=SELL, quantity=99)) == []
    assert engine.on_bar(make_bar(0, 100, 100, 100, 100)) == [filled(engine, "c1", quantity=10, price=100, ts=at(0))]
    assert engine.submit(make_order("c1", quantity=10)) == []  # a finished order is not reopened either
    assert engine.on_bar(make_bar(1, 100, 100, 100, 100)) == []


def test_venue_ids_are_derived_from_the_client_order_id():
    one, two = make_engine(), make_engine()  # two runs, or a venue restart
    one.submit(make_order("coid-A"))
    one.submit(make_order("coid-B"))
    two.submit(make_order("".join(["coid-", "A"])))  # an equal id, but not the same str object
    assert venue_id(one, "coid-A") == venue_id(two, "coid-A")
    assert venue_id(one, "coid-A") != venue_id(one, "coid-B")
    assert venue_id(one, "coid-A").startswith("SIM-")

    bar = make_bar(0, 100, 100, 100, 100)
    fill_one, fill_two = fills_of(one.on_bar(bar))[0], fills_of(two.on_bar(bar))[0]
    assert fill_one.fill_id == fill_two.fill_id == f"{venue_id(one, 'coid-A')}-1"


def test_a_restarted_venue_does_not_reuse_ids_of_other_orders():
    first = make_engine()
    first.submit(make_order("before-restart"))
    restarted = make_engine()
    restarted.submit(make_order("after-restart"))
    assert venue_id(first, "before-restart") != venue_id(restarted, "after-restart")
    bar = make_bar(0, 100, 100, 100, 100)
    ids = {f.fill_id for f in fills_of(first.on_bar(bar)) + fills_of(restarted.on_bar(bar))}
    assert len(ids) == 2


# -- rejections ---------------------------------------------------------------------------


def test_unknown_symbol_is_rejected_with_a_reason_and_remembered():
    broker = build_simulated_broker(config=SimulatedBrokerConfig(), instruments=INSTRUMENTS)
    events = broker.submit(make_order("r1", symbol="AAPL"))
    assert events == [OrderRejected(client_order_id="r1", reason="unknown symbol AAPL", ts=T0)]
    assert broker.submit(make_order("r1", symbol="AAPL")) == []
    assert broker.submit(make_order("r1", symbol="SPY")) == []  # a rejected id never becomes an order
    assert broker.find_order("r1") is None
    assert broker.open_orders() == []
    assert broker.submitted_client_order_ids() == ["r1"]
    assert broker.submit_calls == 3


@pytest.mark.parametrize(("symbol", "quantity"), [("SPY", "1.5"), ("SPY", "0.001"), ("BTC-USD", "0.000000015")])
def test_quantity_off_the_lot_size_is_rejected(symbol, quantity):
    engine = make_engine()
    engine.on_bar(make_bar(0, 100, 100, 100, 100, symbol=symbol))
    events = engine.submit(make_order("r1", symbol=symbol, quantity=quantity))
    lot = INSTRUMENTS[symbol].lot_size
    assert events == [OrderRejected(
        client_order_id="r1", reason=f"quantity {D(quantity)} is not a multiple of the lot size {lot}", ts=at(1))]
    assert engine.submit(make_order("r1", symbol=symbol, quantity=1)) == []
    assert engine.find("r1") is None
    assert engine.on_bar(make_bar(1, 100, 100, 100, 100, symbol=symbol)) == []


def test_fractional_equity_accepts_fractional_lots():
    engine = MatchingEngine(instruments={"SPY": equity("SPY", fractional=True)}, fill_model=FillModel(),
                            commissions={AssetClass.EQUITY: NoCommission()})
    events = engine.submit(make_order("f1", quantity="1.5"))
    assert [type(e) for e in events] == [OrderAccepted]


# -- market data ordering --------------------------------------------------------------------


@pytest.mark.parametrize("i", [0, -1])
def test_a_bar_not_after_the_previous_one_raises(i):
    engine = make_engine(slippage_bps="0")
    engine.on_bar(make_bar(0, 100, 100, 100, 100))
    engine.submit(make_order("m1"))
    with pytest.raises(InvalidMarketData, match="SPY"):
        engine.on_bar(make_bar(i, 50, 50, 50, 50))
    # the refused bar matched nothing and did not move the clock
    state = engine.find("m1")
    assert state is not None and state.status is OrderStatus.ACCEPTED
    assert engine.on_bar(make_bar(1, 101, 101, 101, 101)) == [filled(engine, "m1", quantity=10, price=101,
                                                                      ts=at(1))]


def test_bar_order_is_checked_per_symbol():
    engine = make_engine()
    engine.on_bar(make_bar(5, 100, 100, 100, 100, symbol="SPY"))
    engine.on_bar(make_bar(0, 100, 100, 100, 100, symbol="BTC-USD"))  # earlier, but another symbol
    with pytest.raises(InvalidMarketData):
        engine.on_bar(make_bar(0, 100, 100, 100, 100, symbol="BTC-USD"))


# -- the SimulatedBroker port ------------------------------------------------------------------


def test_broker_queues_bar_events_and_poll_drains_oldest_first():
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(slippage_bps=D(0), max_volume_share=D("0.1"), equity_commission=NoCommission()),
        instruments=INSTRUMENTS,
    )
    accepted = broker.submit(make_order("m1", quantity=30))
    assert [type(e) for e in accepted] == [OrderAccepted]
    assert broker.poll_events() == []  # submit answered directly, nothing queued

    assert broker.on_bar(make_bar(0, 100, 100, 100, 100, volume=100)) is None
    broker.on_bar(make_bar(1, 101, 101, 101, 101, volume=100))
    broker.on_bar(make_bar(2, 102, 102, 102, 102, volume=200))

    events = broker.poll_events()
    assert [(e.fill.fill_id.rsplit("-", 1)[1], e.fill.quantity, e.fill.price, e.ts) for e in events] == [
        ("1", D(10), D(100), at(0)), ("2", D(10), D(101), at(1)), ("3", D(10), D(102), at(2))]
    assert broker.poll_events() == []
    assert broker.find_order("m1").status is OrderStatus.FILLED


def test_broker_cancel_answers_directly_and_queues_nothing():
    broker = build_simulated_broker(config=SimulatedBrokerConfig(), instruments=INSTRUMENTS)
    broker.submit(limit_order("l1", limit=1))
    broker.on_bar(make_bar(0, 100, 100, 100, 100))
    assert broker.cancel("l1") == [OrderCancelled(client_order_id="l1", reason="cancelled by request", ts=at(1))]
    assert broker.poll_events() == []
    assert broker.cancel("l1") == []
    assert broker.open_orders() == []


def test_broker_this_close_submit_returns_the_fill_and_queues_nothing():
    broker = build_simulated_broker(config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE),
                                    instruments=INSTRUMENTS)
    broker.on_bar(make_bar(0, 100, 100, 100, 100))
    assert broker.poll_events() == []
    events = broker.submit(make_order("m1"))
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    assert broker.poll_events() == []


def test_broker_config_defaults_charge_equity_per_share_and_crypto_maker_taker():
    broker = build_simulated_broker(config=SimulatedBrokerConfig(slippage_bps=D(0), max_volume_share=D(1)),
                                    instruments=INSTRUMENTS)
    config = SimulatedBrokerConfig()
    assert config.equity_commission == PerShare(rate=D("0.005"), minimum=D("1.00"), maximum_fraction=D("0.01"))
    assert config.crypto_commission == MakerTaker(maker_bps=D(40), taker_bps=D(60))
    assert config.fill_model() == FillModel()

    broker.submit(make_order("small", quantity=10))  # 0.05 -> the 1.00 minimum
    broker.submit(make_order("large", quantity=1000))  # 5.00
    broker.submit(make_order("btc-taker", symbol="BTC-USD", quantity="0.5"))  # 20000 * 60 bps
    broker.submit(limit_order("btc-maker", symbol="BTC-USD", limit=40000, quantity="0.25"))  # 10000 * 40 bps
    broker.on_bar(make_bar(0, 100, 100, 100, 100, volume=10_000))
    broker.on_bar(make_bar(0, 40000, 40000, 40000, 40000, volume=10, symbol="BTC-USD"))

    commissions = {e.fill.client_order_id: (e.fill.commission, e.fill.liquidity) for e in broker.poll_events()}
    assert commissions == {
        "small": (D("1.00"), "taker"), "large": (D("5.00"), "taker"),
        "btc-taker": (D(120), "taker"), "btc-maker": (D(40), "maker"),
    }
    assert all(c.as_tuple().exponent == -8 for c, _ in commissions.values())


def test_broker_has_every_method_of_the_broker_and_bar_listener_ports():
    port_methods = {name for port in (Broker, BarListener) for name, value in vars(port).items()
                    if callable(value) and not name.startswith("_")}
    assert port_methods >= {"submit", "cancel", "find_order", "open_orders", "poll_events", "on_bar"}
    broker = SimulatedBroker(engine=make_engine())
    for name in port_methods:
        assert callable(getattr(broker, name)), name
    assert broker.find_order("nothing") is None
    assert broker.open_orders() == [] and broker.poll_events() == []
    assert broker.submitted_client_order_ids() == []
    assert broker.submit_calls == 0


# -- properties ---------------------------------------------------------------------------


@st.composite
def bar_sequences(draw, instrument: Instrument):
    n = draw(st.integers(min_value=1, max_value=8))
    tick = instrument.tick_size
    bars = []
    for i in range(n):
        o = draw(st.integers(min_value=9_000, max_value=11_000)) * tick
        c = draw(st.integers(min_value=9_000, max_value=11_000)) * tick
        high = max(o, c) + draw(st.integers(min_value=0, max_value=300)) * tick
        low = min(o, c) - draw(st.integers(min_value=0, max_value=300)) * tick
        if instrument.lot_size == 1:
            volume = D(draw(st.integers(min_value=0, max_value=2_000)))
        else:
            volume = D(draw(st.integers(min_value=0, max_value=10**9))) * instrument.lot_size
        gap = draw(st.integers(min_value=1, max_value=3))
        ts = (bars[-1].ts if bars else T0) + gap * MINUTE
        bars.append(Bar(symbol=instrument.symbol, ts=ts, open=o, high=high, low=low, close=c, volume=volume))
    return bars


@st.composite
def order_specs(draw, instrument: Instrument, n_bars: int):
    specs = []
    for k in range(draw(st.integers(min_value=1, max_value=8))):
        order_type = draw(st.sampled_from(list(OrderType)))
        side = draw(st.sampled_from(list(OrderSide)))
        if instrument.lot_size == 1:
            quantity = D(draw(st.integers(min_value=1, max_value=500)))
        else:
            quantity = D(draw(st.integers(min_value=1, max_value=10**9))) * instrument.lot_size
        price = draw(st.integers(min_value=8_700, max_value=11_300)) * instrument.tick_size
        specs.append(dict(
            before_bar=draw(st.integers(min_value=0, max_value=n_bars)),
            order=make_order(
                f"p{k}", side=side, order_type=order_type, quantity=quantity, symbol=instrument.symbol,
                limit=price if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
                stop=price if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
            ),
        ))
    return specs


@st.composite
def scenarios(draw):
    instrument = draw(st.sampled_from([SPY, BTC]))
    bars = draw(bar_sequences(instrument))
    return dict(
        instrument=instrument, bars=bars, orders=draw(order_specs(instrument, len(bars))),
        market_fill=draw(st.sampled_from(list(MarketFill))),
        slippage=D(draw(st.integers(min_value=0, max_value=50))),
        share=draw(st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D(1)])),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_fills_never_exceed_orders_respect_limits_and_have_unique_lot_sized_quantities(scenario):
    instrument: Instrument = scenario["instrument"]
    model = FillModel(market_fill=scenario["market_fill"], slippage_bps=scenario["slippage"],
                      max_volume_share=scenario["share"])
    engine = MatchingEngine(instruments={instrument.symbol: instrument}, fill_model=model,
                            commissions={instrument.asset_class: MakerTaker(maker_bps=D(10), taker_bps=D(20))})
    orders = {spec["order"].client_order_id: spec["order"] for spec in scenario["orders"]}
    all_fills: list[Fill] = []

    def submit_due(index: int) -> None:
        for spec in scenario["orders"]:
            if spec["before_bar"] == index:
                events = engine.submit(spec["order"])
                assert isinstance(events[0], OrderAccepted)
                all_fills.extend(fills_of(events))

    for index, bar in enumerate(scenario["bars"]):
        submit_due(index)
        bar_fills = fills_of(engine.on_bar(bar))
        assert sum(f.quantity for f in bar_fills) <= model.volume_cap(bar.volume, instrument=instrument)
        assert all(f.ts == bar.ts for f in bar_fills)
        all_fills.extend(bar_fills)
    submit_due(len(scenario["bars"]))

    per_order: dict[str, list[Fill]] = defaultdict(list)
    for fill in all_fills:
        per_order[fill.client_order_id].append(fill)
        order = orders[fill.client_order_id]
        assert fill.quantity > 0 and fill.quantity % instrument.lot_size == 0
        assert fill.price > 0 and fill.price % instrument.tick_size == 0
        assert fill.side is order.side and fill.symbol == instrument.symbol
        if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            assert order.limit_price is not None
            if order.side is OrderSide.BUY:
                assert fill.price <= order.limit_price
            else:
                assert fill.price >= order.limit_price
        else:
            assert fill.liquidity == "taker"

    assert len({f.fill_id for f in all_fills}) == len(all_fills)
    for coid, order in orders.items():
        state = engine.find(coid)
        assert state is not None
        mine = per_order.get(coid, [])
        total = sum((f.quantity for f in mine), D(0))
        assert total <= order.quantity
        assert state.filled_quantity == total
        assert [f.fill_id for f in mine] == [f"{state.venue_order_id}-{n}" for n in range(1, len(mine) + 1)]
        expected = (OrderStatus.FILLED if total == order.quantity
                    else OrderStatus.PARTIALLY_FILLED if total else OrderStatus.ACCEPTED)
        assert state.status is expected
    assert {s.client_order_id for s in engine.open_orders()} == {
        coid for coid, order in orders.items() if engine.find(coid).status is not OrderStatus.FILLED}
