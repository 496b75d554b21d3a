"""Engine-level risk properties: whatever the signals and prices, no order exceeds its
limits, nothing is submitted while HALTED, heat stays within its limit after every bar,
and stops never move against the position."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.simulated import MarketFill, NoCommission, SimulatedBrokerConfig, build_simulated_broker
from application.safety.halt import HaltCommand, halt
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.accounting.instrument import equity
from domain.accounting.market import Bar
from domain.risk.portfolio_heat import PortfolioHeat, portfolio_heat
from domain.risk.risk import RiskLimits
from domain.risk.stops import FixedPercentStop
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, ScriptedStrategy, spec
from tests.fakes.harness import Harness

SYMBOLS = ("AAA", "BBB")
LIMITS = RiskLimits(max_order_quantity=Decimal(300), max_order_notional=Decimal(20_000))
HEAT = Decimal("0.015")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    targets=st.lists(st.sampled_from([Target.LONG, Target.FLAT, None]), min_size=10, max_size=40),
    moves=st.lists(st.integers(min_value=-8, max_value=8), min_size=10, max_size=40),
    flat=st.booleans(),
    halt_at=st.integers(min_value=3, max_value=40),
)
def test_limits_heat_halt_and_stops_hold_for_any_signals_and_prices(targets, moves, halt_at, flat):
    h = Harness()
    script = list(targets)
    strategy = ScriptedStrategy(decide=lambda _symbol, n: script[(n - 1) % len(script)])
    bot_spec = attrs.evolve(spec("prop", strategy=strategy, symbols=SYMBOLS, fraction="0.3", capital=50_000,
                                 limits=LIMITS),
                            stop=FixedPercentStop(percent=Decimal(4)), heat=PortfolioHeat(max_fraction=HEAT))
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, max_volume_share=Decimal(1),
                                     slippage_bps=Decimal(0), equity_commission=NoCommission()),
        instruments={s: equity(s) for s in SYMBOLS},
    )
    session = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation", supervise_seconds=0.0),
                           bots=[bot_spec], uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier,
                           wall_clock=h.wall, process=ProcessInfo(pid=1, host="h"))
    session.start(now=T0)
    state = session.states[0]
    price = Decimal(100)
    halted_after = None
    last_stops: dict[str, Decimal] = {}
    for i, move in enumerate(moves):
        if i == halt_at:
            halt(HaltCommand(reason="drill", actor="prop"), uow_factory=h.store, clock=h.wall, notifier=h.notifier)
            halted_after = T0 + timedelta(minutes=i)
        price = price if flat else max(Decimal(5), price + move)
        for symbol in SYMBOLS:
            bar = Bar(symbol=symbol, ts=T0 + timedelta(minutes=i), open=price, high=price, low=price, close=price,
                      volume=Decimal(1_000_000))
            h.wall.advance(timedelta(seconds=1))
            session.process_bar(bar, now=bar.end)
        marks = state.mark_prices()
        held = [(p.quantity, marks[s], state.stops[s].price) for s, p in state.portfolio.positions.items()
                if not p.is_flat and s in state.stops]
        if flat:
            # Without price moves, heat is what the entries put on: never past its limit.
            assert portfolio_heat(held) <= HEAT * state.equity()
        for symbol, level in state.stops.items():
            quantity = state.portfolio.position(symbol).quantity
            if symbol in last_stops and quantity > 0:
                assert level.price >= last_stops[symbol]  # a long's stop never falls
            last_stops[symbol] = level.price
        for symbol in list(last_stops):
            if state.portfolio.position(symbol).is_flat:
                del last_stops[symbol]
    sent = [o for o in h.orders() if o.submitted_at is not None]
    if flat and Target.LONG in targets[:3]:
        assert sent, "the drill must trade to prove anything"
    for order in sent:
        assert order.quantity <= LIMITS.max_order_quantity
        assert order.quantity * (order.average_fill_price or Decimal(0)) <= LIMITS.max_order_notional * Decimal("1.01")
        if halted_after is not None:
            assert order.submitted_at <= halted_after + timedelta(minutes=1), "an order after the halt"
