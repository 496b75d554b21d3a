"""A position is never left without its resting stop (issue 13, Venues): not while the entry
that opens it still fills in parts, and not when the session ends. `[engine] on_stop` says
what ending a session does to the working orders (application/trading/session_end.py). On the real
simulated venue (its matching engine fills at most a share of each bar's volume), and on a
venue that confirms cancels late, with a fill in between."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from adapters.simulated import MarketFill, NoCommission, SimulatedBroker, SimulatedBrokerConfig, build_simulated_broker
from application.ports import AlertLevel
from application.records import AuditKind
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.trading.protective_stops import is_protective
from application.trading.session_end import OnStop
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.orders.events import BrokerEvent, OrderCancelled
from domain.orders.order import Order, OrderSide, OrderStatus
from domain.risk.stops import FixedPercentStop
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, ScriptedStrategy, spec
from tests.fakes.harness import Harness
from tests.fakes.recording_broker import RecordingBroker

BTC = crypto("BTC-USD")
START = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)
ENTRY = Decimal(50)  # half of 10,000 at 100


def thin_bar(i: int, close: str = "100", *, volume: str = "100") -> Bar:
    """A bar in which the venue fills at most 10 BTC (max_volume_share 0.1)."""
    price = Decimal(close)
    return Bar(symbol="BTC-USD", ts=START + i * STEP, open=price, high=price, low=price, close=price,
               volume=Decimal(volume), interval=STEP)


def buy_once():
    return ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else None)


def stopped_spec(strategy):
    base = spec("btc", strategy=strategy, instruments={"BTC-USD": BTC}, fraction="0.5", capital=10_000)
    return attrs.evolve(base, stop=FixedPercentStop(percent=Decimal(5)), stop_orders=True)


def session_on(h: Harness, broker, *, on_stop: OnStop = OnStop.CANCEL_ENTRIES, venue=None, sleeps=None) -> PaperSession:
    session = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation", on_stop=on_stop),
                           bots=[stopped_spec(buy_once())], uow_factory=h.store, broker=broker, venue=venue,
                           notifier=h.notifier, wall_clock=h.wall, process=ProcessInfo(pid=1, host="h"),
                           sleep=(sleeps.append if sleeps is not None else lambda _s: None))
    session.start(now=START)
    return session


def thin_venue() -> SimulatedBroker:
    return build_simulated_broker(
        config=SimulatedBrokerConfig(market_fill=MarketFill.THIS_CLOSE, slippage_bps=Decimal(0),
                                     max_volume_share=Decimal("0.1"), crypto_commission=NoCommission()),
        instruments={"BTC-USD": BTC})


def sim_session(h: Harness, *, on_stop: OnStop = OnStop.CANCEL_ENTRIES) -> tuple[PaperSession, SimulatedBroker]:
    broker = thin_venue()
    return session_on(h, broker, on_stop=on_stop, venue=broker), broker


def run(s: PaperSession, bars) -> None:
    for b in bars:
        s.process_bar(b, now=b.end)


def held(s: PaperSession) -> Decimal:
    return s.states[0].portfolio.position("BTC-USD").quantity


def resting_stops(h: Harness) -> list[Order]:
    return [o for o in h.orders("btc") if is_protective(o) and not o.status.is_terminal]


def entry(h: Harness) -> Order:
    [order] = [o for o in h.orders("btc") if not is_protective(o)]
    return order


def test_an_entry_filling_in_parts_is_protected_for_what_is_held_and_the_stop_grows_with_it():
    h = Harness()
    s, _ = sim_session(h)
    run(s, [thin_bar(0), thin_bar(1)])
    assert Decimal(0) < held(s) < ENTRY and not entry(h).status.is_terminal  # still filling
    [stop] = resting_stops(h)
    assert (stop.side, stop.quantity, stop.stop_price) == (OrderSide.SELL, held(s), Decimal(95))

    run(s, [thin_bar(i) for i in range(2, 8)])
    assert held(s) == ENTRY and entry(h).status is OrderStatus.FILLED
    [stop] = resting_stops(h)
    assert stop.quantity == ENTRY  # resized by cancel-then-replace as the entry filled


def test_stopping_cancels_the_working_entry_and_leaves_the_position_its_stop():
    h = Harness()
    s, broker = sim_session(h)
    run(s, [thin_bar(0), thin_bar(1)])
    part = held(s)
    s.stop(now=thin_bar(1).end)

    assert entry(h).status is OrderStatus.CANCELLED and entry(h).filled_quantity == part
    [stop] = resting_stops(h)
    assert stop.quantity == part and stop.status is OrderStatus.ACCEPTED
    assert [v.client_order_id for v in broker.open_orders()] == [stop.client_order_id]
    [ended] = [e for e in h.audit(AuditKind.SESSION) if "session stopped" in e.message]
    assert "on_stop = cancel_entries: 1 order(s) cancelled" in ended.message
    assert "stops resting for btc/BTC-USD" in ended.message and ended.severity == "info"


def test_on_stop_leave_keeps_the_entry_working_and_protects_what_is_held():
    h = Harness()
    s, broker = sim_session(h, on_stop=OnStop.LEAVE)
    run(s, [thin_bar(0), thin_bar(1)])
    s.stop(now=thin_bar(1).end)
    assert not entry(h).status.is_terminal
    [stop] = resting_stops(h)
    assert stop.quantity == held(s)
    assert {v.client_order_id for v in broker.open_orders()} == {stop.client_order_id, entry(h).client_order_id}


def test_on_stop_cancel_all_takes_the_stop_off_too_and_says_the_position_is_unprotected():
    h = Harness()
    s, broker = sim_session(h, on_stop=OnStop.CANCEL_ALL)
    run(s, [thin_bar(i) for i in range(6)])  # filled, protected
    assert held(s) == ENTRY and len(resting_stops(h)) == 1
    s.stop(now=thin_bar(5).end)
    assert resting_stops(h) == [] and broker.open_orders() == []
    [ended] = [e for e in h.audit(AuditKind.SESSION) if "session stopped" in e.message]
    assert "NO resting stop for btc/BTC-USD" in ended.message and ended.severity == "warning"
    assert "session ended with positions without a resting stop" in h.notifier.titles(AlertLevel.WARNING)[-1]


class LateCancels(RecordingBroker):
    """A venue that takes a cancel request and answers it later (Coinbase CANCEL_QUEUED,
    Alpaca's stream): the order fills a little more first, then the cancel is confirmed."""

    def __init__(self, *, extra_fill: Decimal, polls_until_done: int = 3) -> None:
        super().__init__(fill_on_submit=None)
        self.extra_fill = extra_fill
        self.polls_until_done = polls_until_done
        self._queued: list[str] = []
        self._polls = 0

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        if is_protective(self.orders[client_order_id].order):
            return super().cancel(client_order_id)
        self.cancels.append(client_order_id)
        self._queued.append(client_order_id)
        return []

    def poll_events(self) -> list[BrokerEvent]:
        if self._queued:
            self._polls += 1
            if self._polls >= self.polls_until_done:
                for coid in self._queued:
                    venue = self.orders[coid]
                    self.fill(coid, self.extra_fill, 100, START + STEP)
                    venue.status = OrderStatus.CANCELLED
                    self.push(OrderCancelled(client_order_id=coid, reason="cancelled on request", ts=START + STEP))
                self._queued = []
        return super().poll_events()


def test_the_stop_placed_at_the_end_covers_what_filled_before_the_late_cancel_confirmation():
    h = Harness()
    broker = LateCancels(extra_fill=Decimal(7))
    sleeps: list[float] = []
    s = session_on(h, broker, sleeps=sleeps)
    run(s, [thin_bar(0)])
    working = entry(h)
    broker.fill(working.client_order_id, 10, 100, thin_bar(0).end)  # part of the entry
    run(s, [thin_bar(1)])
    assert held(s) == 10 and [o.quantity for o in resting_stops(h)] == [Decimal(10)]

    s.stop(now=thin_bar(1).end)

    assert sleeps, "the session waited for the venue's confirmation"
    assert entry(h).status is OrderStatus.CANCELLED and held(s) == 17
    [stop] = resting_stops(h)
    assert stop.quantity == Decimal(17)
    assert [v.order.quantity for v in broker.orders.values() if is_protective(v.order) and not v.status.is_terminal] \
        == [Decimal(17)]


@pytest.mark.parametrize("policy", list(OnStop))
def test_a_halted_bot_is_left_to_the_halt(policy):
    h = Harness()
    s, _ = sim_session(h, on_stop=policy)
    run(s, [thin_bar(0), thin_bar(1)])
    s.states[0].halted = True
    cancels_before = len([o for o in h.orders("btc") if o.status is OrderStatus.CANCELLED])
    s.stop(now=thin_bar(1).end)
    assert len([o for o in h.orders("btc") if o.status is OrderStatus.CANCELLED]) == cancels_before


def test_an_exit_still_filling_at_the_end_gives_way_to_the_stop():
    """The exit and the stop must never both fill: the exit is cancelled, the stop rests for what
    is left, and the strategy decides the exit again at the next start."""
    h = Harness()
    broker = thin_venue()
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n == 1 else Target.FLAT if n == 7 else None)
    s = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation"), bots=[stopped_spec(strategy)],
                     uow_factory=h.store, broker=broker, venue=broker, notifier=h.notifier, wall_clock=h.wall,
                     process=ProcessInfo(pid=1, host="h"), sleep=lambda _s: None)
    s.start(now=START)
    run(s, [thin_bar(i) for i in range(8)])
    [exit_order] = [o for o in h.orders("btc") if not is_protective(o) and o.side is OrderSide.SELL]
    assert not exit_order.status.is_terminal and Decimal(0) < held(s) < ENTRY
    assert resting_stops(h) == []  # the exit took the stop off

    s.stop(now=thin_bar(7).end)

    assert h.order(exit_order.client_order_id).status is OrderStatus.CANCELLED
    [stop] = resting_stops(h)
    assert stop.quantity == held(s)
