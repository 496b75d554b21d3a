"""Stops resting at the venue as stop orders: placed for the whole position, moved by
cancel-then-replace only in the position's favour, taken off before the strategy's own
exit, filled inside the bar by the simulated venue's matching engine, cancelled by a
halt, kept through a daily-loss trip, and monitored bar by bar where the venue has no
stop orders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from application.records import AuditKind
from application.trading.paper_session import PaperSession
from application.trading.protective_stops import is_protective
from application.trading.trading_cycle import CycleResult
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.orders.order import OrderSide, OrderStatus, OrderType
from domain.risk.circuit_breakers import DailyLossLimit, crypto_session_key
from domain.risk.risk import RiskLimits
from domain.risk.stops import FixedPercentStop, TrailingAtrStop
from domain.strategy import Target
from tests.fakes.builders import ScriptedStrategy, always, spec
from tests.fakes.harness import Harness
from tests.fakes.recording_broker import RecordingBroker
from tests.fakes.sim_session import crypto_sim_session

BTC = crypto("BTC-USD")
START = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)


def ohlc(i: int, open_: str, high: str, low: str, close: str) -> Bar:
    return Bar(symbol="BTC-USD", ts=START + i * STEP, open=Decimal(open_), high=Decimal(high), low=Decimal(low),
               close=Decimal(close), volume=Decimal(1_000_000), interval=STEP)


def flat_bars(closes, *, first: int = 0) -> list[Bar]:
    return [ohlc(first + i, str(c), str(c), str(c), str(c)) for i, c in enumerate(closes)]


def stopped_spec(strategy, *, stop=None, stop_orders=True, **kwargs):
    base = spec("btc", strategy=strategy, instruments={"BTC-USD": BTC}, fraction="0.5", capital=10_000, **kwargs)
    return attrs.evolve(base, stop=stop or FixedPercentStop(percent=Decimal(5)), stop_orders=stop_orders)


def sim_session(h: Harness, bot_spec):
    return crypto_sim_session(h, bot_spec, instruments={"BTC-USD": BTC}, start=START)


def run(s: PaperSession, bars) -> None:
    for b in bars:
        s.process_bar(b, now=b.end)


def protective(h: Harness):
    return [o for o in h.orders("btc") if is_protective(o)]


def test_an_entry_gets_a_resting_stop_for_the_whole_position_on_the_bar_it_fills():
    h = Harness()
    s, broker = sim_session(h, stopped_spec(always(Target.LONG)))
    run(s, flat_bars([100]))
    [stop] = protective(h)
    position = s.states[0].portfolio.position("BTC-USD")
    assert position.quantity == Decimal(50)  # half of 10,000 at 100
    assert stop.order_type is OrderType.STOP and stop.side is OrderSide.SELL
    assert stop.stop_price == Decimal(95) and stop.quantity == Decimal(50)
    assert stop.status is OrderStatus.ACCEPTED
    assert [v.client_order_id for v in broker.open_orders()] == [stop.client_order_id]
    # The audit trail says why it is there, and that the collar was not applied to it.
    [entry] = [a for a in h.audit(AuditKind.ORDER) if a.client_order_id == stop.client_order_id and "intent" in a.message]
    checks = {c["check"]: c for c in entry.data["checks"]}
    assert checks["price_collar"]["passed"] and "no collar on a resting stop" in checks["price_collar"]["detail"]
    assert "resting fixed_percent stop at 95" in entry.data["signal"]["reason"]


def test_the_venue_fills_the_stop_inside_the_bar_that_reaches_it_and_no_second_stop_follows():
    h = Harness()
    s, _ = sim_session(h, stopped_spec(always(Target.LONG)))
    run(s, flat_bars([100, 101]))
    # A bar that trades down through 95 and closes at 97: a monitored stop would exit at
    # market after the close; the resting one filled at 95 during the bar.
    run(s, [ohlc(2, "99", "99", "90", "97")])
    stop, again = protective(h)
    assert stop.status is OrderStatus.FILLED and stop.average_fill_price == Decimal(95)
    # always(LONG) buys again at this bar's close, and that entry gets its own stop.
    position = s.states[0].portfolio.position("BTC-USD")
    assert position.quantity > 0
    assert again.status is OrderStatus.ACCEPTED and again.quantity == position.quantity
    assert again.stop_price == (Decimal(97) * Decimal("0.95")).quantize(Decimal("0.01"))


def test_a_gap_through_the_stop_fills_at_the_open_not_at_the_stop():
    h = Harness()
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else None)
    s, _ = sim_session(h, stopped_spec(strategy))
    run(s, flat_bars([100]))
    run(s, [ohlc(1, "80", "82", "79", "81")])
    [stop] = protective(h)
    assert stop.status is OrderStatus.FILLED and stop.average_fill_price == Decimal(80)
    assert s.states[0].portfolio.position("BTC-USD").is_flat
    run(s, flat_bars([82, 83], first=2))
    assert len(protective(h)) == 1  # flat: nothing more rests


def test_a_trailing_stop_is_replaced_when_it_moves_up_and_never_moves_down():
    h = Harness()
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 3 else None)
    s, broker = sim_session(h, stopped_spec(strategy, stop=TrailingAtrStop(period=2, multiple=Decimal(2))))
    bars = [ohlc(0, "100", "101", "99", "100"), ohlc(1, "100", "101", "99", "100"), ohlc(2, "100", "101", "99", "100")]
    run(s, bars)
    [first] = protective(h)
    assert first.stop_price == Decimal(96)  # entry 100 - 2 x ATR(2) of 2
    run(s, [ohlc(3, "100", "106", "100", "105")])  # up: the stop follows
    run(s, [ohlc(4, "105", "106", "101", "102")])  # down, above the stop: the stop stays
    stops = protective(h)
    prices = [o.stop_price for o in stops]
    assert prices == sorted(prices) and prices[-1] > first.stop_price
    assert [o.status for o in stops[:-1]] == [OrderStatus.CANCELLED] * (len(stops) - 1)
    assert stops[-1].status is OrderStatus.ACCEPTED
    assert len(broker.open_orders()) == 1  # never two stops at the venue


def test_the_strategys_exit_takes_the_stop_off_first_and_is_not_blocked_by_it():
    h = Harness()
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else (Target.FLAT if n == 3 else None))
    s, broker = sim_session(h, stopped_spec(strategy))
    run(s, flat_bars([100, 100, 101]))
    orders = h.orders("btc")
    exit_order = orders[-1]
    [stop] = protective(h)
    assert exit_order.side is OrderSide.SELL and exit_order.order_type is OrderType.MARKET
    assert exit_order.status is OrderStatus.FILLED  # the pending-order rule did not count the stop
    assert stop.status is OrderStatus.CANCELLED and "replaces the stop" in stop.reason
    assert s.states[0].portfolio.position("BTC-USD").is_flat
    assert broker.open_orders() == []


def long_then_flat_with_a_resting_stop(closes):
    """On the recording venue: long on the first bar (its stop rests), FLAT after."""
    h = Harness()
    h.broker.fill_on_submit = lambda o: (Decimal(100) if o.order_type is OrderType.MARKET else None)
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else Target.FLAT)
    state = h.bot(stopped_spec(strategy))
    bars = flat_bars(closes)
    h.cycle.on_bar(state, bars[0], now=bars[0].end)
    [stop] = protective(h)
    return h, state, bars, stop


def test_an_unconfirmed_stop_cancel_holds_the_exit_until_the_stop_is_gone():
    h, state, bars, stop = long_then_flat_with_a_resting_stop([100, 100, 100])
    h.broker.fail_next_cancel()
    assert h.cycle.on_bar(state, bars[1], now=bars[1].end) == [CycleResult.STOP_CANCEL_PENDING]
    assert [o for o in h.orders("btc") if o.side is OrderSide.SELL and not is_protective(o)] == []
    assert h.order(stop.client_order_id).status is OrderStatus.PENDING_CANCEL
    # Next bar the cancel goes through and the exit follows.
    assert h.cycle.on_bar(state, bars[2], now=bars[2].end) == [CycleResult.SUBMITTED]
    assert h.order(stop.client_order_id).status is OrderStatus.CANCELLED
    assert state.portfolio.position("BTC-USD").is_flat


def test_a_stop_that_filled_before_its_cancel_arrived_leaves_nothing_for_the_exit_to_do():
    h, state, bars, stop = long_then_flat_with_a_resting_stop([100, 94, 94])
    h.broker.fill(stop.client_order_id, stop.quantity, "95", bars[1].ts)  # the venue's fill, not yet polled
    # The venue has nothing left to cancel and says so with silence: the exit waits ...
    assert h.cycle.on_bar(state, bars[1], now=bars[1].end) == [CycleResult.STOP_CANCEL_PENDING]
    h.settle(state)  # ... until the fill arrives; then there is nothing to exit
    assert h.order(stop.client_order_id).status is OrderStatus.FILLED
    assert h.cycle.on_bar(state, bars[2], now=bars[2].end) == [CycleResult.NOTHING_TO_DO]
    assert state.portfolio.position("BTC-USD").is_flat  # not short: no second sell went out
    assert [o.client_order_id for o in h.broker.submits if o.side is OrderSide.SELL] == [stop.client_order_id]


def test_a_halt_cancels_the_resting_stop_and_none_is_placed_while_halted():
    h = Harness()
    s, broker = sim_session(h, stopped_spec(always(Target.LONG)))
    run(s, flat_bars([100]))
    from application.safety.halt import HaltCommand, halt
    halt(HaltCommand(reason="drill", actor="test"), uow_factory=h.store, clock=h.wall, notifier=h.notifier)
    for b in flat_bars([101, 102], first=1):
        h.wall.advance(timedelta(seconds=1))  # the supervisor reads the switch on its schedule
        s.process_bar(b, now=b.end)
    assert [o.status for o in protective(h)] == [OrderStatus.CANCELLED]
    assert broker.open_orders() == []


def test_the_daily_loss_limit_keeps_the_protective_stop_resting():
    h = Harness()
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else None)
    bot_spec = attrs.evolve(stopped_spec(strategy, stop=FixedPercentStop(percent=Decimal(20))),
                            daily_loss=DailyLossLimit(max_loss_percent=Decimal("0.02")), session_key=crypto_session_key)
    s, broker = sim_session(h, bot_spec)
    run(s, flat_bars([100, 94]))  # equity down 3 %: the daily loss limit trips
    assert s.states[0].daily_loss_stop
    [stop] = protective(h)
    assert stop.status is OrderStatus.ACCEPTED and stop.stop_price == Decimal(80)
    assert [v.client_order_id for v in broker.open_orders()] == [stop.client_order_id]


def test_a_venue_without_stop_orders_gets_the_stop_monitored_bar_by_bar():
    h = Harness()
    h.broker = RecordingBroker(stop_orders=False,
                               fill_on_submit=lambda o: Decimal(100) if o.side is OrderSide.BUY else Decimal(94))
    from application.trading.trading_cycle import TradingCycle
    h.cycle = TradingCycle(uow_factory=h.store, broker=h.broker, notifier=h.notifier)
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else None)
    state = h.bot(stopped_spec(strategy))
    for b in flat_bars([100, 94]):
        h.cycle.on_bar(state, b, now=b.end)
    assert all(o.order_type is OrderType.MARKET for o in h.broker.submits)
    assert [o.strategy for o in h.orders("btc")] == ["scripted", "stop:fixed_percent"]
    assert state.portfolio.position("BTC-USD").is_flat


def test_a_protective_stop_far_from_the_market_passes_the_collar_that_an_entry_there_would_fail():
    h = Harness()
    limits = RiskLimits(price_collar_crypto=Decimal("0.05"))
    s, _ = sim_session(h, stopped_spec(always(Target.LONG), stop=FixedPercentStop(percent=Decimal(30)), limits=limits))
    run(s, flat_bars([100]))
    [stop] = protective(h)
    assert stop.status is OrderStatus.ACCEPTED and stop.stop_price == Decimal(70)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-6, 6), st.integers(0, 4), st.integers(0, 4)), min_size=5, max_size=40),
       st.lists(st.sampled_from([Target.LONG, Target.FLAT, None]), min_size=40, max_size=40))
def test_at_most_one_stop_rests_for_the_whole_position_and_it_never_loosens(moves, targets):
    h = Harness()
    strategy = ScriptedStrategy(decide=lambda _s, n: targets[(n - 1) % len(targets)])
    s, broker = sim_session(h, stopped_spec(strategy, stop=TrailingAtrStop(period=2, multiple=Decimal(2))))
    price = Decimal(100)
    last_stop, last_id = None, None
    for i, (move, up, down) in enumerate(moves):
        open_ = price
        price = max(Decimal(10), price + move)
        bar = ohlc(i, str(open_), str(max(open_, price) + up), str(max(Decimal(1), min(open_, price) - down)), str(price))
        s.process_bar(bar, now=bar.end)
        position = s.states[0].portfolio.position("BTC-USD")
        resting = [o for o in h.orders("btc") if is_protective(o) and o.status.is_open]
        assert len(broker.open_orders()) <= 1
        assert len(resting) <= 1
        if last_id is not None and h.order(last_id).status is OrderStatus.FILLED:
            last_stop = None  # the stop closed that position; a re-entry is a new position
        if position.is_flat:
            assert resting == []
            last_stop = None
            continue
        if resting:
            [stop] = resting
            assert stop.quantity == abs(position.quantity) and stop.side is OrderSide.SELL
            if last_stop is not None:
                assert stop.stop_price >= last_stop  # moved only in the position's favour
            last_stop, last_id = stop.stop_price, stop.client_order_id
