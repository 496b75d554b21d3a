"""The event-driven backtest: a hand-computed example, trade for trade, in both fill modes;
the risk engine at work in a backtest (what the controls would have done)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from adapters.simulated import MarketFill, NoCommission, SimulatedBrokerConfig, build_simulated_broker
from application.research.backtest import run_event_backtest
from domain.accounting.instrument import Instrument, AssetClass
from domain.accounting.market import Bar
from domain.risk.risk import RiskLimits
from domain.risk.sizing import AllIn
from domain.strategy import Target
from tests.fakes.builders import ScriptedStrategy, spec
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier

STOCK = Instrument(symbol="XYZ", asset_class=AssetClass.EQUITY, tick_size=Decimal("0.01"), lot_size=Decimal(1))
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=timezone.utc)
DAY = timedelta(days=1)
#           open  close
PRICES = [(10, 10), (10, 11), (12, 12), (13, 14), (15, 15), (15, 16)]


def bars():
    return [Bar(symbol="XYZ", ts=T0 + i * DAY, open=Decimal(o), high=Decimal(max(o, c)), low=Decimal(min(o, c)),
                close=Decimal(c), volume=Decimal(1_000_000), interval=DAY) for i, (o, c) in enumerate(PRICES)]


def long_then_flat():
    # LONG on the 2nd bar's close, FLAT on the 4th's.
    return ScriptedStrategy(decide=lambda _s, n: {2: Target.LONG, 4: Target.FLAT}.get(n))


def run(fill: MarketFill, *, limits=None):
    store = InMemoryStore()
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=fill, slippage_bps=Decimal(0), max_volume_share=Decimal(1),
                                     equity_commission=NoCommission()),
        instruments={"XYZ": STOCK})
    bot = attrs.evolve(spec("bt", strategy=long_then_flat(), instruments={"XYZ": STOCK}, capital=1000,
                            limits=limits), sizing=AllIn())
    result = run_event_backtest(bots=[bot], bars=bars(), broker=broker, venue=broker, uow_factory=store,
                                clock=FixedClock(T0), notifier=RecordingNotifier(), account="bt",
                                size_at_open=fill is MarketFill.NEXT_OPEN)
    return result, store


def test_next_open_fills_size_all_in_at_the_open_they_fill_at():
    result, _ = run(MarketFill.NEXT_OPEN)
    # LONG decided at bar 1's close (11) is sized and filled at bar 2's open: 1000 // 12 = 83
    # shares for 996, cash 4. FLAT at bar 3's close sells 83 at bar 4's open 15: cash 1249.
    assert [(f.side, f.quantity, f.price, f.ts) for f in result.fills] == [
        ("buy", Decimal(83), Decimal(12), T0 + 2 * DAY), ("sell", Decimal(83), Decimal(15), T0 + 4 * DAY)]
    [trade] = result.trades
    assert trade.pnl == Decimal(249) and trade.entry_price == 12 and trade.exit_price == 15
    assert result.final_equity == Decimal(1249) and result.orders == 2 and result.open_positions == 0
    assert result.bars == 6 and len(result.equity) == 6 and result.equity[-1] == pytest.approx(1249)
    assert list(result.exposure) == [False, False, True, True, False, False]


def test_close_fills_size_at_the_close_the_decision_saw():
    result, _ = run(MarketFill.THIS_CLOSE)
    # 1000 // 11 = 90 shares at 11 (cash 10), sold at 14: 10 + 1260 = 1270.
    assert [(f.side, f.quantity, f.price) for f in result.fills] == [("buy", 90, 11), ("sell", 90, 14)]
    assert result.final_equity == Decimal(1270)


def test_the_risk_engine_runs_in_a_backtest_and_its_denials_are_counted():
    result, store = run(MarketFill.NEXT_OPEN, limits=RiskLimits(max_order_notional=Decimal(500)))
    assert result.fills == () and result.orders_denied == 1 and result.final_equity == Decimal(1000)
    with store.unit_of_work(read_only=True) as uow:
        [order] = uow.orders.list(account="bt")
    assert order.status.value == "denied" and "max_order_notional" in order.reason


def test_a_backtest_shows_what_the_drawdown_breaker_would_have_done():
    from domain.risk.circuit_breakers import DrawdownBreaker

    store = InMemoryStore()
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.NEXT_OPEN, slippage_bps=Decimal(0),
                                     max_volume_share=None, equity_commission=NoCommission()),
        instruments={"XYZ": STOCK})
    always_long = ScriptedStrategy(decide=lambda _s, n: Target.LONG)
    bot = attrs.evolve(spec("bt", strategy=always_long, instruments={"XYZ": STOCK}, capital=1000), sizing=AllIn(),
                       drawdown=DrawdownBreaker(warning=Decimal("0.05"), limit=Decimal("0.10")))
    crash = [Bar(symbol="XYZ", ts=T0 + i * DAY, open=Decimal(p), high=Decimal(p), low=Decimal(p), close=Decimal(p),
                 volume=Decimal(1_000_000), interval=DAY) for i, p in enumerate([10, 10, 10, 9.4, 8.5, 8, 12])]
    result = run_event_backtest(bots=[bot], bars=crash, broker=broker, venue=broker, uow_factory=store,
                                clock=FixedClock(T0), notifier=RecordingNotifier(), account="bt", size_at_open=True)
    states = [line.split(": ", 1)[1] for line in result.risk_events]
    assert states[0].startswith("reducing") and states[1].startswith("halted")
    assert "drawdown" in result.risk_events[1]
    # Bought 100 at 10; halted at 8.5 (15 % below the 1,000 peak): nothing after it.
    assert [(f.side, f.quantity) for f in result.fills] == [("buy", Decimal(100))]


def _breaker_backtest(prices, *, reducing_ends: str):
    from domain.risk.circuit_breakers import DrawdownBreaker

    store = InMemoryStore()
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.NEXT_OPEN, slippage_bps=Decimal(0),
                                     max_volume_share=None, equity_commission=NoCommission()),
        instruments={"XYZ": STOCK})
    # Long on the 1st close, out on the 6th, long again on the 8th (if the state allows it).
    strategy = ScriptedStrategy(decide=lambda _s, n: {1: Target.LONG, 6: Target.FLAT, 8: Target.LONG}.get(n))
    bot = attrs.evolve(spec("bt", strategy=strategy, instruments={"XYZ": STOCK}, capital=1000), sizing=AllIn(),
                       drawdown=DrawdownBreaker(warning=Decimal("0.05"), limit=Decimal("0.20"),
                                                reducing_ends=reducing_ends))
    series = [Bar(symbol="XYZ", ts=T0 + i * DAY, open=Decimal(p), high=Decimal(p), low=Decimal(p), close=Decimal(p),
                  volume=Decimal(1_000_000), interval=DAY) for i, p in enumerate(prices)]
    return run_event_backtest(bots=[bot], bars=series, broker=broker, venue=broker, uow_factory=store,
                              clock=FixedClock(T0), notifier=RecordingNotifier(), account="bt", size_at_open=True)


DIP_AND_RECOVERY = [10, 10, 10, 9.4, 10.2, 10.3, 10.4, 10.4, 10.4, 10.5]


def test_a_backtest_says_when_reducing_began_why_and_what_ends_it():
    """Issue 13, point 11: a drawdown warning that freezes the bot to the end is said in the result."""
    result = _breaker_backtest(DIP_AND_RECOVERY, reducing_ends="resume")
    [change] = result.state_changes
    assert change.state == "reducing" and change.ts == T0 + 3 * DAY + DAY and "drawdown 6.00%" in change.reason
    [line] = result.risk_summary
    assert line.startswith(f"bot bt was REDUCING from {(T0 + 4 * DAY).isoformat()} to the end (drawdown 6.00%")
    assert "REDUCING ends only by an operator's resume" in line
    assert [f.side for f in result.fills] == ["buy", "sell"]  # the second entry never went out


def test_with_reducing_ends_recovery_the_breaker_ends_its_own_reducing_once_the_drawdown_is_back_under_the_warning():
    result = _breaker_backtest(DIP_AND_RECOVERY, reducing_ends="recovery")
    assert [c.state for c in result.state_changes] == ["reducing", "active"]
    assert "recovered under the warning, reducing -> active" in result.state_changes[1].reason
    assert result.risk_summary == ()  # it ended ACTIVE
    assert [f.side for f in result.fills] == ["buy", "sell", "buy"]  # trading went on
