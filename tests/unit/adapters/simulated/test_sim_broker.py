"""The SimulatedBroker: the Broker and BarListener ports over the matching engine."""

from __future__ import annotations

import inspect
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.simulated import (
    FillModel,
    MakerTaker,
    MarketFill,
    NoCommission,
    PerShare,
    SimulatedBroker,
    SimulatedBrokerConfig,
    build_simulated_broker,
)
from application.records import VenueOrderState
from application.venues.ports import BarListener, Broker
from domain.accounting.instrument import crypto, equity
from domain.accounting.market import Bar
from domain.errors import InvalidMarketData
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

D = Decimal
T0 = datetime(2025, 6, 2, 13, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
INSTRUMENTS = {"SPY": equity("SPY"), "SOL-USD": crypto("SOL-USD")}


def t(i: int) -> datetime:
    return T0 + i * MIN


def bar(i: int, price, *, volume=10_000, symbol: str = "SPY") -> Bar:
    p = D(str(price))
    return Bar(symbol=symbol, ts=t(i), open=p, high=p, low=p, close=p, volume=D(str(volume)))


def order(coid: str, *, qty=10, symbol="SPY", side=OrderSide.BUY, limit=None) -> Order:
    return Order(client_order_id=coid, account="a", bot="b", strategy="s", symbol=symbol, side=side,
                 order_type=OrderType.MARKET if limit is None else OrderType.LIMIT, quantity=D(str(qty)),
                 created_at=T0, signal_ts=T0, limit_price=None if limit is None else D(str(limit)))


def broker(**config) -> SimulatedBroker:
    defaults = dict(slippage_bps=D(0), max_volume_share=D(1), equity_commission=NoCommission())
    return build_simulated_broker(config=SimulatedBrokerConfig(**{**defaults, **config}), instruments=INSTRUMENTS)


def test_it_has_every_method_of_both_ports_with_the_same_parameters():
    sim = broker()
    for port in (Broker, BarListener):
        for name, member in vars(port).items():
            if name.startswith("_") or not callable(member):
                continue
            ours = inspect.signature(getattr(sim, name))
            theirs = inspect.signature(member)
            assert list(ours.parameters) == [p for p in theirs.parameters if p != "self"], name


def test_submit_answers_directly_and_queues_nothing():
    sim = broker()
    events = sim.submit(order("m"))
    assert events == [OrderAccepted(client_order_id="m", venue_order_id=sim.find_order("m").venue_order_id, ts=T0)]
    assert sim.poll_events() == []


def test_bar_events_are_queued_and_drained_oldest_first_once():
    sim = broker(max_volume_share=D("0.1"))
    sim.submit(order("m", qty=25))
    assert sim.on_bar(bar(0, 100, volume=100)) is None
    sim.on_bar(bar(1, 101, volume=100))
    sim.on_bar(bar(2, 102, volume=100))
    drained = sim.poll_events()
    assert [(e.fill.quantity, e.fill.price, e.ts) for e in drained] == [
        (D(10), D(100), t(0)), (D(10), D(101), t(1)), (D(5), D(102), t(2))]
    assert all(isinstance(e, OrderFilled) for e in drained)
    assert sim.poll_events() == []
    assert sim.find_order("m").status is OrderStatus.FILLED


def test_cancel_answers_directly_and_an_unknown_cancel_gives_nothing():
    sim = broker()
    sim.submit(order("l", limit="50.00"))
    sim.on_bar(bar(0, 100))
    assert sim.cancel("l") == [OrderCancelled(client_order_id="l", reason="cancelled by request", ts=t(1))]
    assert sim.cancel("l") == [] and sim.cancel("ghost") == []
    assert sim.poll_events() == [] and sim.open_orders() == []


def test_this_close_submit_returns_its_fill_and_queues_nothing():
    sim = broker(market_fill=MarketFill.THIS_CLOSE)
    sim.on_bar(bar(0, 100))
    assert [type(e) for e in sim.submit(order("m"))] == [OrderAccepted, OrderFilled]
    assert sim.poll_events() == []


def test_500_identical_submits_make_one_venue_order_and_are_all_counted():
    sim = broker()
    answers = [sim.submit(order("qs-spy-buy")) for _ in range(500)]
    assert sum(len(a) for a in answers) == 1 and isinstance(answers[0][0], OrderAccepted)
    assert sim.submit_calls == 500
    assert sim.submitted_client_order_ids() == ["qs-spy-buy"]
    state = sim.find_order("qs-spy-buy")
    assert sim.open_orders() == [VenueOrderState(client_order_id="qs-spy-buy", venue_order_id=state.venue_order_id,
                                                 status=OrderStatus.ACCEPTED, filled_quantity=D(0))]
    sim.on_bar(bar(0, 100))
    assert [e.fill.quantity for e in sim.poll_events()] == [D(10)]


def test_submitted_ids_list_accepted_and_rejected_ids_once_in_order():
    sim = broker()
    sim.submit(order("b"))
    rejected = sim.submit(order("a", symbol="NOPE"))
    sim.submit(order("b"))
    sim.submit(order("c"))
    assert rejected == [OrderRejected(client_order_id="a", reason="unknown symbol NOPE", ts=T0)]
    assert sim.submitted_client_order_ids() == ["b", "a", "c"]
    assert sim.submit_calls == 4
    assert sim.find_order("a") is None


def test_a_replayed_bar_raises_and_queues_nothing():
    sim = broker()
    sim.submit(order("m"))
    sim.on_bar(bar(1, 100))
    sim.poll_events()
    with pytest.raises(InvalidMarketData):
        sim.on_bar(bar(1, 90))
    assert sim.poll_events() == []


def test_config_defaults_and_the_factory_wire_commissions_per_asset_class():
    config = SimulatedBrokerConfig()
    assert config.fill_model() == FillModel(market_fill=MarketFill.NEXT_OPEN, slippage_bps=D(1),
                                            max_volume_share=D("0.1"))
    assert config.equity_commission == PerShare(rate=D("0.005"), minimum=D("1.00"), maximum_fraction=D("0.01"))
    assert config.crypto_commission == MakerTaker(maker_bps=D(40), taker_bps=D(60))

    sim = build_simulated_broker(config=SimulatedBrokerConfig(slippage_bps=D(0), max_volume_share=D(1)),
                                 instruments=INSTRUMENTS)
    sim.submit(order("spy", qty=100))  # 0.50 by rate -> the 1.00 minimum
    sim.submit(order("sol", qty="2", symbol="SOL-USD"))  # taker: 2 x 150 x 60 bps = 1.80
    sim.submit(order("sol-rest", qty="1", symbol="SOL-USD", limit="149.00"))  # maker: 149 x 40 bps = 0.596
    sim.on_bar(bar(0, 100))
    sim.on_bar(Bar(symbol="SOL-USD", ts=t(0), open=D(150), high=D(150), low=D(148), close=D(149), volume=D(50)))
    got = {e.fill.client_order_id: (e.fill.commission, e.fill.liquidity) for e in sim.poll_events()}
    assert got == {"spy": (D("1.00"), "taker"), "sol": (D("1.80"), "taker"), "sol-rest": (D("0.596"), "maker")}


@pytest.mark.parametrize("kwargs", [dict(slippage_bps=D(-1)), dict(max_volume_share=D(0)),
                                    dict(max_volume_share=D(2))])
def test_bad_config_is_refused_when_built_not_when_first_used(kwargs):
    with pytest.raises(ValueError):
        SimulatedBrokerConfig(**kwargs)
