"""The simulated venue's matching engine, fill model and commission models.

Prices are picked so that rounding to the tick matters, and every expectation is an
exact Decimal, id, timestamp or event.
"""

from __future__ import annotations

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
    PerNotional,
    PerShare,
)
from application.records import VenueOrderState
from domain.accounting.instrument import AssetClass, Instrument, crypto, equity
from domain.accounting.market import Bar
from domain.errors import InvalidMarketData
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

D = Decimal
T0 = datetime(2025, 3, 3, 14, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
BUY, SELL = OrderSide.BUY, OrderSide.SELL
QQQ, ETH = equity("QQQ"), crypto("ETH-USD")
INSTRUMENTS = {"QQQ": QQQ, "ETH-USD": ETH}


def t(i: int) -> datetime:
    return T0 + i * MIN


def bar(i: int, o, h, l, c, v=1_000_000, *, symbol: str = "QQQ") -> Bar:  # noqa: E741
    return Bar(symbol=symbol, ts=t(i), open=D(str(o)), high=D(str(h)), low=D(str(l)), close=D(str(c)),
               volume=D(str(v)))


def order(coid: str, *, side=BUY, kind=OrderType.MARKET, qty=10, limit=None, stop=None, symbol="QQQ",
          created: datetime = T0) -> Order:
    return Order(client_order_id=coid, account="a", bot="b", strategy="s", symbol=symbol, side=side,
                 order_type=kind, quantity=D(str(qty)), created_at=created, signal_ts=created,
                 limit_price=None if limit is None else D(str(limit)),
                 stop_price=None if stop is None else D(str(stop)))


def engine(*, fill=MarketFill.NEXT_OPEN, bps="1", share="1", equity_fees=None, crypto_fees=None) -> MatchingEngine:
    return MatchingEngine(
        instruments=INSTRUMENTS,
        fill_model=FillModel(market_fill=fill, slippage_bps=D(bps), max_volume_share=D(share)),
        commissions={AssetClass.EQUITY: equity_fees or NoCommission(),
                     AssetClass.CRYPTO: crypto_fees or NoCommission()},
    )


def fills(events) -> list[Fill]:
    return [e.fill for e in events if isinstance(e, OrderFilled)]


def vid(eng: MatchingEngine, coid: str) -> str:
    state = eng.find(coid)
    assert state is not None
    return state.venue_order_id


# -- market orders ------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "price"), [(BUY, "200.40"), (SELL, "200.34")])
def test_market_order_fills_at_the_next_open_with_slippage_against_the_trader(side, price):
    eng = engine(bps="1")
    eng.on_bar(bar(0, 199, 201, 198, 199))
    assert fills(eng.submit(order("m", side=side))) == []  # NEXT_OPEN: nothing at the close it was decided on
    events = eng.on_bar(bar(1, "200.37", 202, 199, 201))
    # 200.37 +/- 1 bp is 200.390037 / 200.349963: the tick rounding goes against the trader too.
    assert [(f.side, f.quantity, f.price, f.ts, f.liquidity) for f in fills(events)] == [
        (side, D(10), D(price), t(1), "taker")]
    assert eng.find("m").status is OrderStatus.FILLED


@pytest.mark.parametrize(("side", "price"), [(BUY, "150.02"), (SELL, "149.98")])
def test_this_close_market_order_fills_at_once_at_the_current_close(side, price):
    eng = engine(fill=MarketFill.THIS_CLOSE, bps="1")
    eng.on_bar(bar(0, 148, 151, 147, 150))
    events = eng.submit(order("m", side=side, created=t(1)))
    assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
    fill = events[1].fill
    assert (fill.price, fill.ts, fill.fill_id) == (D(price), t(1), f"{vid(eng, 'm')}-1")  # ts: the bar's end


def test_this_close_fill_respects_the_volume_cap_and_the_rest_fills_at_the_next_open():
    eng = engine(fill=MarketFill.THIS_CLOSE, bps="0", share="0.1")
    eng.submit(order("early", qty=20))  # rests: no price seen yet
    assert fills(eng.on_bar(bar(0, 100, 100, 100, 100, v=300))) == [
        Fill(fill_id=f"{vid(eng, 'early')}-1", client_order_id="early", symbol="QQQ", side=BUY, quantity=D(20),
             price=D(100), commission=D(0), ts=t(0), liquidity="taker")]
    # 30 shares of capacity in bar 0, 20 already taken: the immediate fill gets 10.
    now = fills(eng.submit(order("late", qty=25, created=t(1))))
    assert [(f.quantity, f.price, f.ts) for f in now] == [(D(10), D(100), t(1))]
    assert eng.find("late").status is OrderStatus.PARTIALLY_FILLED
    later = fills(eng.on_bar(bar(1, 101, 101, 101, 101, v=1000)))
    assert [(f.fill_id, f.quantity, f.price) for f in later] == [(f"{vid(eng, 'late')}-2", D(15), D(101))]


def test_fills_are_never_stamped_before_the_order_was_created():
    # A live feed delivers the bar that opened at 14:31 a moment after the order of 14:31:02.
    eng = engine(bps="0")
    eng.on_bar(bar(0, 100, 100, 100, 100))
    created = t(1) + timedelta(seconds=2)
    assert eng.submit(order("m", created=created))[0].ts == created
    assert fills(eng.on_bar(bar(1, 101, 101, 101, 101)))[0].ts == created


# -- limit orders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("o", "h", "l", "c", "expected"),
    [
        ("50.10", "50.20", "49.90", "50.00", "50.00"),  # trades through the limit: at the limit
        ("50.10", "50.20", "50.00", "50.10", "50.00"),  # touches it
        ("49.80", "49.95", "49.70", "49.90", "49.80"),  # gaps below: the better open
    ],
)
def test_limit_buy_fills_at_the_limit_or_the_better_open_without_slippage(o, h, l, c, expected):  # noqa: E741
    eng = engine(bps="25")
    eng.submit(order("l", kind=OrderType.LIMIT, limit="50.00"))
    got = fills(eng.on_bar(bar(0, o, h, l, c)))
    assert [(f.price, f.liquidity) for f in got] == [(D(expected), "maker")]


def test_limit_buy_does_not_fill_while_the_low_stays_above_it():
    eng = engine()
    eng.submit(order("l", kind=OrderType.LIMIT, limit="50.00"))
    assert eng.on_bar(bar(0, "50.30", "50.40", "50.01", "50.20")) == []
    assert eng.find("l") == VenueOrderState(client_order_id="l", venue_order_id=vid(eng, "l"),
                                            status=OrderStatus.ACCEPTED, filled_quantity=D(0))


def test_limit_sell_fills_at_the_limit_or_the_better_open():
    eng = engine(bps="25")
    eng.submit(order("a", side=SELL, kind=OrderType.LIMIT, limit="60.00"))
    eng.submit(order("b", side=SELL, kind=OrderType.LIMIT, limit="61.00"))
    first = fills(eng.on_bar(bar(0, "59.50", "60.40", "59.40", "60.00")))
    assert [(f.client_order_id, f.price) for f in first] == [("a", D("60.00"))]
    second = fills(eng.on_bar(bar(1, "61.50", "62.00", "61.20", "61.70")))  # gaps up above 61
    assert [(f.client_order_id, f.price) for f in second] == [("b", D("61.50"))]


def test_marketable_limit_with_this_close_is_a_taker_fill_capped_at_the_limit():
    eng = engine(fill=MarketFill.THIS_CLOSE, bps="50")
    eng.on_bar(bar(0, 100, 101, 99, 100))
    capped = fills(eng.submit(order("capped", kind=OrderType.LIMIT, limit="100.20", created=t(1))))
    inside = fills(eng.submit(order("inside", kind=OrderType.LIMIT, limit="101.00", created=t(1))))
    assert [(f.price, f.liquidity) for f in capped + inside] == [(D("100.20"), "taker"), (D("100.50"), "taker")]
    assert eng.submit(order("away", kind=OrderType.LIMIT, limit="99.99", created=t(1)))[1:] == []


# -- stop orders --------------------------------------------------------------------------


def test_buy_stop_triggers_on_the_high_and_fills_as_taker_with_slippage():
    eng = engine(bps="1")
    eng.submit(order("s", kind=OrderType.STOP, stop="80.00"))
    assert eng.on_bar(bar(0, 79, "79.99", 78, 79)) == []
    got = fills(eng.on_bar(bar(1, "79.50", "80.50", "79.40", 80)))
    assert [(f.price, f.liquidity) for f in got] == [(D("80.01"), "taker")]  # 80.008 rounds up


def test_sell_stop_gapping_through_fills_from_the_open():
    eng = engine(bps="1")
    eng.submit(order("s", side=SELL, kind=OrderType.STOP, stop="80.00"))
    got = fills(eng.on_bar(bar(0, 77, "77.50", 76, 77)))
    assert [f.price for f in got] == [D("76.99")]  # 77 - 1 bp = 76.9923, down to the tick


def test_a_stop_elected_without_capacity_fills_at_the_next_open_even_if_the_price_went_back():
    eng = engine(bps="0", share="0.1")
    eng.submit(order("first", qty=10))
    eng.submit(order("stop", side=SELL, kind=OrderType.STOP, stop="95.00", qty=10))
    # The bar reaches the stop but its 10 shares of capacity go to the earlier market order.
    assert [f.client_order_id for f in fills(eng.on_bar(bar(0, 96, 96, 94, 95, v=100)))] == ["first"]
    got = fills(eng.on_bar(bar(1, 97, 98, 96, 97, v=100)))  # back above the stop: elected stops stay elected
    assert [(f.client_order_id, f.price) for f in got] == [("stop", D(97))]


# -- partial fills ------------------------------------------------------------------------


def test_an_order_larger_than_the_volume_share_fills_over_several_bars():
    eng = engine(bps="0", share="0.1")
    eng.submit(order("big", qty=95))
    got = []
    for i, volume in enumerate([400, 0, 250, 400, 400]):  # caps 40, 0, 25, 40, 40
        got += fills(eng.on_bar(bar(i, 100 + i, 100 + i, 100 + i, 100 + i, v=volume)))
    assert [(f.quantity, f.price) for f in got] == [(D(40), D(100)), (D(25), D(102)), (D(30), D(103))]
    assert sum(f.quantity for f in got) == D(95)
    assert len({f.fill_id for f in got}) == 3
    assert [f.fill_id for f in got] == [f"{vid(eng, 'big')}-{k}" for k in (1, 2, 3)]
    assert eng.find("big") == VenueOrderState(client_order_id="big", venue_order_id=vid(eng, "big"),
                                              status=OrderStatus.FILLED, filled_quantity=D(95))
    assert eng.open_orders() == []


def test_capacity_is_shared_in_submission_order():
    eng = engine(bps="0", share="0.5")
    eng.submit(order("x", qty=6))
    eng.submit(order("y", side=SELL, qty=6))
    got = fills(eng.on_bar(bar(0, 100, 100, 100, 100, v=17)))  # cap 8.5 -> 8
    assert [(f.client_order_id, f.quantity) for f in got] == [("x", D(6)), ("y", D(2))]


# -- cancel -------------------------------------------------------------------------------


def test_cancel_of_a_resting_order():
    eng = engine()
    eng.submit(order("l", kind=OrderType.LIMIT, limit="90.00"))
    eng.on_bar(bar(0, 100, 100, 100, 100))
    assert eng.cancel("l") == [OrderCancelled(client_order_id="l", reason="cancelled by request", ts=t(1))]
    assert eng.find("l").status is OrderStatus.CANCELLED
    assert eng.on_bar(bar(1, 89, 89, 89, 89)) == []


def test_cancel_of_an_unknown_or_finished_order_gives_nothing():
    eng = engine(bps="0")
    eng.submit(order("done"))
    eng.on_bar(bar(0, 100, 100, 100, 100))
    assert eng.find("done").status is OrderStatus.FILLED
    assert eng.cancel("done") == []
    assert eng.cancel("nobody") == []
    assert eng.find("done").status is OrderStatus.FILLED


def test_cancel_before_any_bar_uses_the_orders_creation_time():
    eng = engine()
    eng.submit(order("m", created=T0 - MIN))
    assert eng.cancel("m")[0].ts == T0 - MIN


# -- idempotency and rejection ---------------------------------------------------------------


def test_the_same_client_order_id_500_times_is_one_venue_order():
    eng = engine(bps="0")
    events = [e for _ in range(500) for e in eng.submit(order("dup", qty=5))]
    assert events == [OrderAccepted(client_order_id="dup", venue_order_id=vid(eng, "dup"), ts=T0)]
    assert len(eng.open_orders()) == 1
    assert [f.quantity for f in fills(eng.on_bar(bar(0, 100, 100, 100, 100)))] == [D(5)]


@pytest.mark.parametrize(
    ("o", "reason"),
    [
        (order("r", symbol="TSLA"), "unknown symbol TSLA"),
        (order("r", qty="2.5"), "quantity 2.5 is not a multiple of the lot size 1"),
        (order("r", symbol="ETH-USD", qty="0.000000001"),
         "quantity 1E-9 is not a multiple of the lot size 1E-8"),
        (order("r", kind=OrderType.LIMIT, limit="99.999"),
         "limit price 99.999 is not a positive multiple of the tick size 0.01"),
        (order("r", kind=OrderType.STOP, stop="0.005"),
         "stop price 0.005 is not a positive multiple of the tick size 0.01"),
    ],
)
def test_rejections_carry_a_reason_and_are_remembered(o, reason):
    eng = engine()
    assert eng.submit(o) == [OrderRejected(client_order_id="r", reason=reason, ts=T0)]
    assert eng.submit(order("r")) == []  # a rejected id never becomes an order
    assert eng.find("r") is None and eng.open_orders() == []


def test_a_non_positive_quantity_is_rejected():
    bad = order("r")
    bad.quantity = D(0)  # Order validates at construction only; the venue checks again
    assert engine().submit(bad) == [OrderRejected(client_order_id="r", reason="quantity must be positive, got 0",
                                                  ts=T0)]


def test_the_callers_order_is_never_mutated():
    eng = engine(bps="0")
    mine = order("m")
    before = (mine.status, mine.filled_quantity, mine.venue_order_id, mine.updated_at)
    eng.submit(mine)
    eng.on_bar(bar(0, 100, 100, 100, 100))
    assert (mine.status, mine.filled_quantity, mine.venue_order_id, mine.updated_at) == before


# -- bars ---------------------------------------------------------------------------------


@pytest.mark.parametrize("i", [3, 2])
def test_a_bar_not_after_the_last_one_raises_and_matches_nothing(i):
    eng = engine(bps="0")
    eng.on_bar(bar(3, 100, 100, 100, 100))
    eng.submit(order("m"))
    with pytest.raises(InvalidMarketData):
        eng.on_bar(bar(i, 100, 100, 100, 100))
    assert eng.find("m").status is OrderStatus.ACCEPTED


# -- fill model ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [dict(slippage_bps=D(-1)), dict(max_volume_share=D(0)),
                                    dict(max_volume_share=D("1.01")), dict(slippage_bps=D("NaN"))])
def test_fill_model_validates(kwargs):
    with pytest.raises(ValueError):
        FillModel(**kwargs)


# -- commissions --------------------------------------------------------------------------


def fee(model, qty, price, liquidity="taker") -> Decimal:
    return model.commission(quantity=D(str(qty)), price=D(str(price)), liquidity=liquidity)


@pytest.mark.parametrize(
    ("qty", "price", "expected"),
    [(50, 100, "1.00"), (400, 100, "2.00"), (100, "0.80", "0.80"), (10, "5.00", "0.50")],
)
def test_per_share_minimum_and_cap(qty, price, expected):
    ibkr = PerShare(rate=D("0.005"), minimum=D("1.00"), maximum_fraction=D("0.01"))
    # 50 x 0.005 = 0.25 -> minimum 1.00; 400 x 0.005 = 2.00; 100 @ 0.80: 1% of 80 = 0.80 caps the minimum.
    assert fee(ibkr, qty, price) == D(expected)


def test_per_notional_and_no_commission():
    assert fee(PerNotional(bps=D(5)), 3, "1234.57") == D("1.85185500")
    assert fee(NoCommission(), 3, 100) == 0


def test_maker_taker_crypto_and_eight_places():
    model = MakerTaker(maker_bps=D(40), taker_bps=D(60))
    assert fee(model, "0.01234567", "3000.01", "maker") == D("0.14814853")  # 0.1481485338...
    assert fee(model, "0.01234567", "3000.01", "taker") == D("0.22222280")  # 0.2222228007...
    assert fee(model, 1, 1, "maker").as_tuple().exponent == -8


def test_commission_models_refuse_bad_inputs():
    with pytest.raises(ValueError, match="liquidity"):
        fee(MakerTaker(maker_bps=D(1), taker_bps=D(2)), 1, 1, "Maker")
    with pytest.raises(ValueError, match="rate"):
        PerShare(rate=D(-1))
    with pytest.raises(ValueError, match="maximum_fraction"):
        PerShare(rate=D(1), maximum_fraction=D(0))


def test_crypto_limit_orders_pay_maker_when_resting_and_taker_when_marketable():
    fees = MakerTaker(maker_bps=D(40), taker_bps=D(60))
    eng = engine(fill=MarketFill.THIS_CLOSE, bps="0", crypto_fees=fees)
    eng.on_bar(bar(0, 3000, 3000, 3000, 3000, v=100, symbol="ETH-USD"))
    taker = fills(eng.submit(order("t", kind=OrderType.LIMIT, limit="3010.00", qty="0.5", symbol="ETH-USD",
                                   created=t(1))))
    eng.submit(order("m", kind=OrderType.LIMIT, limit="2990.00", qty="0.5", symbol="ETH-USD", created=t(1)))
    maker = fills(eng.on_bar(bar(1, 2995, 2995, 2980, 2985, v=100, symbol="ETH-USD")))
    assert [(f.liquidity, f.price, f.commission) for f in taker + maker] == [
        ("taker", D(3000), D("9.00000000")), ("maker", D("2990.00"), D("5.98000000"))]


# -- property -----------------------------------------------------------------------------


@st.composite
def sessions(draw):
    inst: Instrument = draw(st.sampled_from([QQQ, ETH]))
    tick = inst.tick_size
    unit = D(1) if inst.lot_size == 1 else D("0.01")  # whole lots either way
    bars, ts = [], T0
    for _ in range(draw(st.integers(1, 10))):
        o, c = (draw(st.integers(4_000, 6_000)) * tick for _ in range(2))
        h = max(o, c) + draw(st.integers(0, 400)) * tick
        l = min(o, c) - draw(st.integers(0, 400)) * tick  # noqa: E741
        ts += draw(st.integers(1, 5)) * MIN
        bars.append(Bar(symbol=inst.symbol, ts=ts, open=o, high=h, low=l, close=c,
                        volume=draw(st.integers(0, 3_000)) * unit))
    orders = []
    for k in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(list(OrderType)))
        price = draw(st.integers(3_800, 6_200)) * tick
        qty = draw(st.integers(1, 800)) * unit
        orders.append((draw(st.integers(0, len(bars))), order(
            f"o{k}", side=draw(st.sampled_from([BUY, SELL])), kind=kind, qty=qty, symbol=inst.symbol,
            limit=price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
            stop=price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None)))
    model = FillModel(market_fill=draw(st.sampled_from(list(MarketFill))), slippage_bps=D(draw(st.integers(0, 80))),
                      max_volume_share=draw(st.sampled_from([D("0.05"), D("0.3"), D(1)])))
    return inst, bars, orders, model


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_fills_never_exceed_the_order_and_limit_fills_respect_the_limit(session):
    inst, bars, orders, model = session
    eng = MatchingEngine(instruments={inst.symbol: inst}, fill_model=model,
                         commissions={inst.asset_class: MakerTaker(maker_bps=D(10), taker_bps=D(25))})
    got: list[Fill] = []
    for index in range(len(bars) + 1):
        got += [f for when, o in orders if when == index for f in fills(eng.submit(o))]
        if index < len(bars):
            bar_fills = fills(eng.on_bar(bars[index]))
            assert sum(f.quantity for f in bar_fills) <= model.volume_cap(bars[index].volume, instrument=inst)
            got += bar_fills
    assert len({f.fill_id for f in got}) == len(got)
    for _, o in orders:
        mine = [f for f in got if f.client_order_id == o.client_order_id]
        assert sum((f.quantity for f in mine), D(0)) <= o.quantity
        assert eng.find(o.client_order_id).filled_quantity == sum((f.quantity for f in mine), D(0))
        for f in mine:
            assert f.ts >= o.created_at and f.price % inst.tick_size == 0 and f.commission >= 0
            if o.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
                assert f.price <= o.limit_price if o.side is BUY else f.price >= o.limit_price


def test_a_stop_limit_is_elected_like_a_stop_then_never_fills_beyond_its_limit():
    eng = engine()
    eng.on_bar(bar(0, o="100", h="101", l="99", c="100"))
    eng.submit(order("sl", side=SELL, kind=OrderType.STOP_LIMIT, stop="95.00", limit="94.00"))
    # Gaps down through the stop and the limit: elected, but no trade below 94.
    assert fills(eng.on_bar(bar(1, o="93", h="93.50", l="92", c="93"))) == []
    assert eng.find("sl").status is OrderStatus.ACCEPTED
    # Later the price comes back to the limit: it trades there as a maker.
    got = fills(eng.on_bar(bar(2, o="93", h="94.50", l="92.50", c="94")))
    assert [(f.price, f.liquidity) for f in got] == [(D("94.00"), "maker")]
