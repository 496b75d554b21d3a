"""The per-bot /metrics figures as Prometheus reads them, on a store the test fills by hand:
the numbers behind the alert rules and the Grafana panels (liveness, heartbeat, trading state,
P&L, drawdown and heat against the configured limits, round trips, orders by status)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from prometheus_client import CollectorRegistry

from application.records import GLOBAL_SCOPE, BotRunState, ControlState, EquityPoint, Heartbeat, bot_scope
from domain.accounting.position import Direction, Position, RoundTrip
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.risk.circuit_breakers import DailyLossLimit, DrawdownBreaker
from domain.risk.portfolio_heat import PortfolioHeat
from domain.risk.stops import FixedPercentStop, StopLevel
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from entrypoints.web.metrics_bots import BotCollector
from tests.fakes.builders import always, spec
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore

NOW = datetime(2025, 1, 2, 15, 0, tzinfo=timezone.utc)
EQ = {"account": "paper", "bot": "eq"}
CR = {"account": "paper", "bot": "cr"}
OLD = {"account": "sim-0001", "bot": "eq"}  # a finished session's bot of the same name


def _beat(account: str, bot: str, *, age: float, state: BotRunState = BotRunState.RUNNING) -> Heartbeat:
    return Heartbeat(account=account, bot=bot, pid=1, host="h", mode="paper", started_at=NOW - timedelta(hours=1),
                     beat_at=NOW - timedelta(seconds=age), interval_seconds=5, run_state=state)


def _order(cid: str, status: OrderStatus) -> Order:
    order = Order(client_order_id=cid, account="paper", bot="eq", strategy="s", symbol="SPY", side=OrderSide.BUY,
                  order_type=OrderType.MARKET, quantity=Decimal(1), created_at=NOW, signal_ts=NOW)
    order.transition(OrderStatus.SUBMITTED, at=NOW)
    order.transition(status, at=NOW)
    return order


def _trip(fill_id: str, pnl: int) -> RoundTrip:
    return RoundTrip(bot="eq", symbol="SPY", direction=Direction.LONG, quantity=Decimal(1), entry_price=Decimal(100),
                     exit_price=Decimal(100 + pnl), opened_at=NOW - timedelta(hours=3),
                     closed_at=NOW - timedelta(hours=2), gross_pnl=Decimal(pnl), commission=Decimal(1),
                     closing_fill_id=fill_id)


def _fill(store: InMemoryStore) -> None:
    with store() as uow:
        # paper/eq: 100,000 to start, 10,000 in 100 SPY now at 120 (equity 102,000), a stop at 110;
        # its peak was 120,000, and today's session started at 103,000.
        uow.accounts.ensure(account="paper", bot="eq", initial_cash=Decimal(100_000))
        uow.accounts.set_cash(account="paper", bot="eq", cash=Decimal(90_000))
        uow.positions.upsert(Position(bot="eq", symbol="SPY", quantity=Decimal(100), cost_basis=Decimal(10_000)),
                             account="paper", last_price=Decimal(120))
        uow.stops.upsert(account="paper", bot="eq", symbol="SPY", updated_at=NOW,
                         level=StopLevel(price=Decimal(110), kind="fixed_percent", reason="entry"))
        uow.equity.add_many(account="paper", bot="eq", points=[
            EquityPoint(ts=NOW - timedelta(days=2), equity=Decimal(120_000)),
            EquityPoint(ts=NOW - timedelta(hours=1), equity=Decimal(103_000))])
        uow.heartbeats.beat(_beat("paper", "eq", age=1))
        for cid, status in (("r1", OrderStatus.REJECTED), ("r2", OrderStatus.REJECTED), ("f1", OrderStatus.FILLED)):
            uow.orders.add(_order(cid, status))
        uow.trades.add(_trip("x1", 500), account="paper")
        uow.trades.add(_trip("x2", -200), account="paper")
        # paper/cr: not configured here, no beat for a minute (stale), halted.
        uow.heartbeats.beat(_beat("paper", "cr", age=60))
        uow.control.set(ControlState(scope=bot_scope("paper", "cr"), state=TradingState.HALTED, reason="breaker",
                                     actor="bot", changed_at=NOW))
        # sim-0001/eq: ended cleanly at a 50% drawdown.
        uow.accounts.ensure(account="sim-0001", bot="eq", initial_cash=Decimal(1000))
        uow.accounts.set_cash(account="sim-0001", bot="eq", cash=Decimal(500))
        uow.heartbeats.beat(_beat("sim-0001", "eq", age=9000, state=BotRunState.STOPPED))
        uow.commit()


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    _fill(store)
    return store


def _registry(store: InMemoryStore) -> CollectorRegistry:
    configured = attrs.evolve(
        spec("eq", strategy=always(Target.FLAT)),
        drawdown=DrawdownBreaker(warning=Decimal("0.1"), limit=Decimal("0.2")),
        daily_loss=DailyLossLimit(max_loss_percent=Decimal("0.05")),
        stop=FixedPercentStop(percent=Decimal(5)), heat=PortfolioHeat(max_fraction=Decimal("0.1")))
    registry = CollectorRegistry(auto_describe=True)
    registry.register(BotCollector(store=store, clock=FixedClock(NOW), bots=[configured]))
    return registry


def test_liveness_heartbeat_and_trading_state_per_bot(store):
    value = _registry(store).get_sample_value
    assert value("quantshift_bot_liveness", {**EQ, "liveness": "running"}) == 1
    assert value("quantshift_bot_liveness", {**EQ, "liveness": "stale"}) == 0
    assert value("quantshift_bot_liveness", {**CR, "liveness": "stale"}) == 1
    assert value("quantshift_bot_liveness", {**OLD, "liveness": "stopped"}) == 1
    assert value("quantshift_bot_heartbeat_age_seconds", CR) == 60
    assert value("quantshift_bot_heartbeat_interval_seconds", CR) == 5
    assert value("quantshift_bot_heartbeat_timestamp_seconds", CR) == (NOW - timedelta(seconds=60)).timestamp()
    assert value("quantshift_bot_trading_state", {**CR, "state": "halted"}) == 1
    assert value("quantshift_bot_trading_state", {**EQ, "state": "halted"}) == 0
    assert value("quantshift_bot_trading_state", {**EQ, "state": "active"}) == 1


def test_a_global_halt_shows_on_every_bot(store):
    with store() as uow:
        uow.control.set(ControlState(scope=GLOBAL_SCOPE, state=TradingState.HALTED, reason="operator",
                                     actor="ops@example.com", changed_at=NOW))
        uow.commit()
    assert _registry(store).get_sample_value("quantshift_bot_trading_state", {**EQ, "state": "halted"}) == 1


def test_equity_pnl_drawdown_and_heat_against_the_configured_limits(store):
    value = _registry(store).get_sample_value
    assert value("quantshift_bot_equity", EQ) == 102_000
    assert value("quantshift_bot_pnl", EQ) == 2_000
    assert value("quantshift_bot_unrealized_pnl", EQ) == 2_000
    assert value("quantshift_bot_open_positions", EQ) == 1
    assert value("quantshift_bot_drawdown_ratio", EQ) == pytest.approx(0.15)  # from the 120,000 peak
    assert value("quantshift_bot_drawdown_warning_ratio", EQ) == pytest.approx(0.1)
    assert value("quantshift_bot_drawdown_limit_ratio", EQ) == pytest.approx(0.2)
    assert value("quantshift_bot_daily_pnl", EQ) == -1_000  # from today's 103,000
    assert value("quantshift_bot_daily_loss_limit", EQ) == pytest.approx(5_150)
    assert value("quantshift_bot_heat_ratio", EQ) == pytest.approx(1_000 / 102_000)  # 100 x (120 - 110)
    assert value("quantshift_bot_heat_limit_ratio", EQ) == pytest.approx(0.1)
    assert value("quantshift_bot_gross_exposure_ratio", EQ) == pytest.approx(12_000 / 102_000)


def test_limits_only_for_configured_bots_whose_process_has_not_ended(store):
    value = _registry(store).get_sample_value
    assert value("quantshift_bot_drawdown_ratio", OLD) == pytest.approx(0.5)  # the figure stays
    for name in ("quantshift_bot_drawdown_warning_ratio", "quantshift_bot_daily_pnl", "quantshift_bot_heat_ratio"):
        assert value(name, OLD) is None, name  # ended: nothing to page about
        assert value(name, CR) is None, name  # not configured in this serve
    assert value("quantshift_bot_drawdown_ratio", CR) is None  # no ledger, no peak


def test_round_trips_and_orders_by_status(store):
    value = _registry(store).get_sample_value
    assert value("quantshift_bot_trades_total", EQ) == 2
    assert value("quantshift_bot_winning_trades_total", EQ) == 1
    assert value("quantshift_bot_realized_pnl", EQ) == 500 - 200 - 2  # commissions deducted
    assert value("quantshift_bot_orders", {**EQ, "status": "rejected"}) == 2
    assert value("quantshift_bot_orders", {**EQ, "status": "filled"}) == 1
    # Every status, 0 included: a rule's delta has a series before the first rejection.
    assert value("quantshift_bot_orders", {**CR, "status": "rejected"}) == 0
    assert value("quantshift_bot_orders", {**EQ, "status": "expired"}) == 0


def test_an_unreachable_store_leaves_the_bot_figures_out_without_failing_the_scrape(store):
    registry = _registry(store)
    store.available = False
    assert [m for m in registry.collect() if m.samples] == []
