"""Scenarios on the simulated broker: the drawdown breaker trips at the right equity and
halts the bot; the daily loss limit stops new risk for the rest of the session and
re-arms at the next one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from adapters.simulated import MarketFill, NoCommission, SimulatedBrokerConfig, build_simulated_broker
from application.records import bot_scope
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.orders.order import OrderStatus
from domain.risk.circuit_breakers import DailyLossLimit, DrawdownBreaker, crypto_session_key
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, ScriptedStrategy, always, spec
from tests.fakes.harness import Harness
from tests.fakes.sim_session import crypto_sim_session

BTC = crypto("BTC-USD")
START = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)


def price_bars(closes, *, start=START, step=timedelta(minutes=15)):
    out = []
    for i, close in enumerate(closes):
        c = Decimal(close)
        out.append(Bar(symbol="BTC-USD", ts=start + i * step, open=c, high=c, low=c, close=c,
                       volume=Decimal(1_000_000), interval=step))
    return out


def session(h: Harness, bot_spec):
    return crypto_sim_session(h, bot_spec, instruments={"BTC-USD": BTC}, start=START)[0]


def run(s: PaperSession, bars):
    for b in bars:
        s.process_bar(b, now=b.end)


def test_the_drawdown_breaker_reduces_at_the_warning_and_halts_at_the_limit_measured_from_the_peak():
    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="1",
                                 capital=10_000),
                            drawdown=DrawdownBreaker(warning=Decimal("0.10"), limit=Decimal("0.20")))
    s = session(h, bot_spec)
    # All in at 100, up to 125 (the peak, equity 12,500), then a crash regime.
    run(s, price_bars([100, 110, 125, 118]))
    assert s.states[0].trading_state is TradingState.ACTIVE  # 5.6 % below the peak
    run(s, price_bars([112], start=START + timedelta(hours=1)))  # 10.4 % below 125: REDUCING
    control = h.control(bot_scope(ACCOUNT, "btc"))
    assert control.state is TradingState.REDUCING and control.actor == "risk:drawdown"
    assert "drawdown 10.40%" in control.reason and "peak 12,500.00" in control.reason
    run(s, price_bars([120], start=START + timedelta(hours=2)))  # a recovery does not re-arm
    assert h.control(bot_scope(ACCOUNT, "btc")).state is TradingState.REDUCING
    run(s, price_bars([99], start=START + timedelta(hours=3)))  # 20.8 % below the peak: HALTED
    control = h.control(bot_scope(ACCOUNT, "btc"))
    assert control.state is TradingState.HALTED and "drawdown 20.80%" in control.reason
    assert s.states[0].halted
    # From the peak, not from the start: equity 9,900 is only 1 % below the 10,000 start.
    assert s.states[0].equity() == Decimal("9900")


def test_the_daily_loss_limit_stops_new_risk_for_the_rest_of_the_session_and_rearms_next_session():
    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="0.5",
                                 capital=10_000),
                            daily_loss=DailyLossLimit(max_loss_percent=Decimal("0.02")),
                            session_key=crypto_session_key)
    s = session(h, bot_spec)
    # Day 1: long half the account at 100, then -6 % on the coin = -3 % on the account: tripped.
    run(s, price_bars([100, 97, 94]))
    state = s.states[0]
    assert state.daily_loss_stop and "2" in state.daily_loss_stop
    assert s.tally["daily_loss_stop"] == 0  # still long: nothing new wanted yet
    # Flatten by hand (an exit is risk-reducing and allowed), then the strategy wants back in.
    h.wall.advance(timedelta(seconds=1))
    exit_strategy = always(Target.FLAT)
    state.spec = attrs.evolve(state.spec, strategy=exit_strategy)
    run(s, price_bars([94], start=START + timedelta(hours=1)))
    assert state.portfolio.position("BTC-USD").quantity == 0
    state.spec = attrs.evolve(state.spec, strategy=always(Target.LONG))
    sent_before = sum(1 for o in h.orders() if o.submitted_at is not None)
    run(s, price_bars([95, 96, 97], start=START + timedelta(hours=2)))
    assert sum(1 for o in h.orders() if o.submitted_at is not None) == sent_before  # no new risk today
    assert s.tally["daily_loss_stop"] == 3
    # The next UTC day: re-armed, the entry goes through.
    run(s, price_bars([97], start=datetime(2025, 1, 7, 0, 0, tzinfo=timezone.utc)))
    assert state.daily_loss_stop == ""
    assert state.portfolio.position("BTC-USD").quantity > 0
    assert all(o.status is not OrderStatus.DENIED for o in h.orders())


def test_a_stop_follows_the_price_up_never_down_and_exits_when_the_crash_reaches_it():
    from domain.risk.stops import FixedPercentStop

    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="0.5",
                                 capital=10_000),
                            stop=FixedPercentStop(percent=Decimal(5)))
    s = session(h, bot_spec)
    run(s, price_bars([100, 101, 99]))  # long 50 at 100; the stop sits at 95
    state = s.states[0]
    assert state.portfolio.position("BTC-USD").quantity == 50
    assert state.stops["BTC-USD"].price == Decimal("95.00")
    run(s, price_bars([94], start=START + timedelta(hours=1)))  # reached: the exit goes out at once
    exits = [o for o in h.orders() if o.strategy == "stop:fixed_percent"]
    assert len(exits) == 1 and exits[0].status is OrderStatus.FILLED
    assert state.portfolio.position("BTC-USD").quantity == 0
    audit = [e for e in h.audit() if e.client_order_id == exits[0].client_order_id and e.message.startswith("intent")]
    assert "fixed_percent stop 95.00 hit" in audit[0].data["signal"]["reason"]


def test_portfolio_heat_resizes_an_entry_to_the_risk_left_to_the_stops():
    from domain.risk.portfolio_heat import PortfolioHeat
    from domain.risk.stops import FixedPercentStop

    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="1",
                                 capital=10_000),
                            stop=FixedPercentStop(percent=Decimal(10)), heat=PortfolioHeat(max_fraction=Decimal("0.02")))
    s = session(h, bot_spec)
    run(s, price_bars([100]))
    # Asked: all in, 100 coins with a stop 10 below = 1,000 at risk; allowed: 2 % of 10,000 = 200.
    (order,) = [o for o in h.orders() if o.submitted_at is not None]
    assert order.quantity == Decimal(20)
    intent = [e for e in h.audit() if e.client_order_id == order.client_order_id and e.message.startswith("intent")][0]
    heat = [c for c in intent.data["checks"] if c["check"] == "portfolio_heat"][0]
    assert heat["passed"] is True and "resized" in heat["detail"]


def test_an_entry_correlated_with_a_holding_is_denied_with_the_correlation_in_the_reason():
    from domain.accounting.instrument import equity
    from domain.risk.exposure_limits import CorrelationLimit

    h = Harness()
    # Two symbols moving in lockstep; the strategy goes long both, half the account each.
    # AAA is bought at once; BBB only once there is history enough to measure the correlation.
    late = ScriptedStrategy(decide=lambda symbol, n: Target.LONG if symbol == "AAA" or n >= 7 else None)
    bot_spec = attrs.evolve(spec("pair", strategy=late, symbols=("AAA", "BBB"), fraction="0.4",
                                 capital=10_000),
                            correlation=CorrelationLimit(threshold=0.7, max_correlated_fraction=Decimal("0.5"),
                                                         window=5))
    broker = build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, slippage_bps=Decimal(0),
                                     max_volume_share=Decimal(1)),
        instruments={"AAA": equity("AAA"), "BBB": equity("BBB")},
    )
    s = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation"), bots=[bot_spec],
                     uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier, wall_clock=h.wall,
                     process=ProcessInfo(pid=1, host="h"))
    s.start(now=START)
    closes = [100, 101, 99, 102, 103, 101, 104, 102]
    for i, close in enumerate(closes):
        for symbol in ("AAA", "BBB"):
            c = Decimal(close)
            b = Bar(symbol=symbol, ts=START + timedelta(minutes=i), open=c, high=c, low=c, close=c,
                    volume=Decimal(1_000_000))
            s.process_bar(b, now=b.end)
    denied = [o for o in h.orders() if o.status is OrderStatus.DENIED]
    assert denied and all(o.symbol == "BBB" for o in denied)
    assert "correlation" in denied[-1].reason and "AAA corr 1.00" in denied[-1].reason
    assert s.states[0].portfolio.position("BBB").quantity == 0


def test_a_restarted_bot_resumes_its_stop_where_it_was_never_looser():
    from domain.risk.stops import FixedPercentStop

    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="0.5",
                                 capital=10_000),
                            stop=FixedPercentStop(percent=Decimal(5)))
    first = session(h, bot_spec)
    run(first, price_bars([100, 101]))
    first.stop(now=START + timedelta(hours=1))
    second = session(h, attrs.evolve(bot_spec, stop=FixedPercentStop(percent=Decimal(20))))
    # The new process would have put a 20 % stop from entry (80); the stored 95 is kept.
    assert second.states[0].stops["BTC-USD"].price == Decimal("95.00")


def test_flatten_on_halt_closes_the_position_and_the_halt_does_not_cancel_that_exit():
    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="1",
                                 capital=10_000),
                            drawdown=DrawdownBreaker(warning=Decimal("0.10"), limit=Decimal("0.20")),
                            flatten_on_halt=True)
    broker = build_simulated_broker(  # next-open fills: the exit rests for a bar while the halt lands
        config=SimulatedBrokerConfig(market_fill=MarketFill.NEXT_OPEN, slippage_bps=Decimal(0),
                                     max_volume_share=Decimal(1), crypto_commission=NoCommission()),
        instruments={"BTC-USD": BTC},
    )
    s = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation", supervise_seconds=0.0),
                     bots=[bot_spec], uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier,
                     wall_clock=h.wall, process=ProcessInfo(pid=1, host="h"))
    s.start(now=START)
    for b in price_bars([100, 100, 120, 95, 90, 90]):  # peak 12,000 at 120 (bought at 100), then -25 %
        h.wall.advance(timedelta(seconds=1))
        s.process_bar(b, now=b.end)
    state = s.states[0]
    assert h.control(bot_scope(ACCOUNT, "btc")).state is TradingState.HALTED
    flatten = [o for o in h.orders() if o.strategy == "flatten"]
    assert len(flatten) == 1 and flatten[0].status is OrderStatus.FILLED
    assert state.portfolio.position("BTC-USD").quantity == 0



def test_a_restart_mid_session_keeps_the_daily_loss_limit_tripped():
    h = Harness()
    bot_spec = attrs.evolve(spec("btc", strategy=always(Target.LONG), instruments={"BTC-USD": BTC}, fraction="0.5",
                                 capital=10_000),
                            daily_loss=DailyLossLimit(max_loss_percent=Decimal("0.02")), session_key=crypto_session_key)
    first = session(h, bot_spec)
    run(first, price_bars([100, 97, 94]))
    assert first.states[0].daily_loss_stop
    first.stop(now=START + timedelta(hours=1))
    second = session(h, bot_spec)  # same UTC day
    state = second.states[0]
    assert state.daily_loss_stop == first.states[0].daily_loss_stop
    assert state.session_start_equity == Decimal(10_000)
