"""Start and stop (application/trading/bot_runs.py, application/trading/stopped_bots.py): a stopped bot
evaluates nothing and enters nothing, while its protective stops keep working; its open
entry orders are cancelled; start resumes it; a halt beats a start; the request survives a
restart of the session; status tells who stopped it and why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from application.trading.bot_runs import (
    StartBotCommand,
    StopBotCommand,
    UnknownBot,
    desired_state,
    start_bot,
    stop_bot,
)
from application.ports import AlertLevel
from application.records import AuditKind, BotRunState, ControlState, bot_scope
from application.reports.status import BotLiveness, bot_statuses, liveness
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.trading.ports import BotRun, DesiredState
from application.trading.protective_stops import is_protective
from application.trading.stopped_bots import opens_risk
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.errors import ConfigurationError
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.risk.stops import FixedPercentStop
from domain.risk.trading_state import TradingState
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, ScriptedStrategy, always, spec
from tests.fakes.harness import Harness
from tests.fakes.sim_session import crypto_sim_session

BTC, ETH = crypto("BTC-USD"), crypto("ETH-USD")
START = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=15)
TICK = timedelta(seconds=1)  # wall time between bars: more than the supervisor's 0.2 s


def ohlc(i: int, low: str, close: str, *, symbol: str = "BTC-USD") -> Bar:
    return Bar(symbol=symbol, ts=START + i * STEP, open=Decimal(close), high=Decimal(close), low=Decimal(low),
               close=Decimal(close), volume=Decimal(1_000_000), interval=STEP)


def flat(i: int, close: str, *, symbol: str = "BTC-USD") -> Bar:
    return ohlc(i, close, close, symbol=symbol)


def btc_bot(strategy, *, stop_orders: bool = True):
    base = spec("btc", strategy=strategy, instruments={"BTC-USD": BTC}, fraction="0.5", capital=10_000)
    return attrs.evolve(base, stop=FixedPercentStop(percent=Decimal(5)), stop_orders=stop_orders)


def run(h: Harness, session, bars) -> None:
    for b in bars:
        h.wall.advance(TICK)  # the supervisor reads the requests on its wall-clock schedule
        session.process_bar(b, now=b.end)


def entries(h: Harness, bot: str = "btc") -> list[Order]:
    """Buys that went to the venue (an intent a halt denied never leaves)."""
    return [o for o in h.orders(bot) if not is_protective(o) and o.side is OrderSide.BUY
            and o.status is not OrderStatus.DENIED]


def stop(h: Harness, bot: str = "btc", *, reason: str = "venue maintenance") -> BotRun:
    return stop_bot(StopBotCommand(account=ACCOUNT, bot=bot, actor="ops@example.com", reason=reason),
                    uow_factory=h.store, clock=h.wall, notifier=h.notifier)


def start(h: Harness, bot: str = "btc") -> BotRun:
    return start_bot(StartBotCommand(account=ACCOUNT, bot=bot, actor="ops@example.com"),
                     uow_factory=h.store, clock=h.wall, notifier=h.notifier)


def heartbeat_detail(h: Harness, bot: str = "btc") -> str:
    with h.store.unit_of_work(read_only=True) as uow:
        return next(b.detail for b in uow.heartbeats.list(account=ACCOUNT) if b.bot == bot)


# --- the use cases ----------------------------------------------------------------------------


def test_stop_and_start_store_the_request_audit_who_and_why_and_notify():
    h = Harness()
    h.bot(spec("btc", strategy=always(Target.FLAT)))  # a ledger: the bot is known
    with h.store.unit_of_work(read_only=True) as uow:
        assert desired_state(uow, account=ACCOUNT, bot="btc") is DesiredState.RUNNING  # nobody asked
    stopped = stop(h)
    assert (stopped.desired, stopped.actor, stopped.reason, stopped.updated_at) == (
        DesiredState.STOPPED, "ops@example.com", "venue maintenance", T0)
    with h.store.unit_of_work(read_only=True) as uow:
        assert uow.bot_runs.get(account=ACCOUNT, bot="btc") == stopped
        assert desired_state(uow, account=ACCOUNT, bot="btc") is DesiredState.STOPPED
    h.wall.advance(TICK)
    started = start(h)
    with h.store.unit_of_work(read_only=True) as uow:  # the latest request wins
        assert desired_state(uow, account=ACCOUNT, bot="btc") is DesiredState.RUNNING
        assert uow.bot_runs.get(account=ACCOUNT, bot="btc") == started
    assert started.reason == "started by operator"
    messages = [(e.bot, e.severity, e.message, e.data) for e in h.audit(AuditKind.BOT_RUN)]
    assert messages == [
        ("btc", "info", f"bot {ACCOUNT}/btc stopped: venue maintenance (by ops@example.com)",
         {"desired": "stopped", "actor": "ops@example.com", "reason": "venue maintenance"}),
        ("btc", "info", f"bot {ACCOUNT}/btc started: started by operator (by ops@example.com)",
         {"desired": "running", "actor": "ops@example.com", "reason": "started by operator"}),
    ]
    assert [(a.level, a.title) for a in h.notifier.sent] == [
        (AlertLevel.INFO, f"bot {ACCOUNT}/btc stopped"), (AlertLevel.INFO, f"bot {ACCOUNT}/btc started")]


def test_an_unknown_bot_is_refused_and_nothing_is_written():
    h = Harness()
    with pytest.raises(UnknownBot, match=f"no bot typo in account {ACCOUNT}"):
        stop(h, "typo")
    with pytest.raises(UnknownBot):
        start(h, "typo")
    with h.store.unit_of_work(read_only=True) as uow:
        assert uow.bot_runs.list() == []
    assert h.audit() == [] and h.notifier.sent == []
    # A configured bot counts before it ever ran: it can be stopped before its first start.
    run = stop_bot(StopBotCommand(account=ACCOUNT, bot="new", actor="ops", reason="not yet"),
                   uow_factory=h.store, clock=h.wall, notifier=h.notifier, configured=["new"])
    assert run.desired is DesiredState.STOPPED


def test_a_stop_needs_a_reason():
    h = Harness()
    h.bot(spec("btc", strategy=always(Target.FLAT)))
    with pytest.raises(ConfigurationError, match="needs a reason"):
        stop(h, reason="  ")


@pytest.mark.parametrize(("side", "quantity", "held", "entry"), [
    (OrderSide.BUY, "1", "0", True),  # opens
    (OrderSide.BUY, "1", "2", True),  # adds
    (OrderSide.SELL, "1", "0", True),  # opens a short
    (OrderSide.SELL, "2", "2", False),  # closes the long
    (OrderSide.SELL, "1", "2", False),  # reduces it
    (OrderSide.SELL, "3", "2", True),  # would flip it short
    (OrderSide.BUY, "1", "-2", False),  # covers part of a short
])
def test_what_counts_as_an_entry(side, quantity, held, entry):
    order = Order(client_order_id="c", account=ACCOUNT, bot="btc", strategy="s", symbol="BTC-USD", side=side,
                  order_type=OrderType.MARKET, quantity=Decimal(quantity), created_at=T0, signal_ts=T0)
    assert opens_risk(order, held=Decimal(held)) is entry
    protective = attrs.evolve(order, strategy="protective_stop", order_type=OrderType.STOP, stop_price=Decimal(1))
    assert opens_risk(protective, held=Decimal(held)) is False


# --- the running session obeys ----------------------------------------------------------------


@pytest.mark.parametrize("stop_orders", [True, False], ids=["resting-stop", "monitored-stop"])
def test_a_stopped_bot_enters_nothing_for_many_bars_while_its_stop_still_exits(stop_orders):
    h = Harness()
    strategy = always(Target.LONG)  # it would buy on every bar it is asked
    session, broker = crypto_sim_session(h, btc_bot(strategy, stop_orders=stop_orders),
                                         instruments={"BTC-USD": BTC}, start=START)
    run(h, session, [flat(0, "100")])
    assert len(entries(h)) == 1 and session.states[0].portfolio.position("BTC-USD").quantity == Decimal(50)

    stop(h, reason="exchange maintenance")
    run(h, session, [flat(1, "101")])  # seen at this bar's supervision
    calls = strategy.calls
    # Many bars, then one through the stop at 95: the stop exits; nothing is bought again.
    run(h, session, [flat(i, str(100 + i % 3)) for i in range(2, 30)] + [ohlc(30, "90", "93")]
        + [flat(i, "93") for i in range(31, 60)])
    assert strategy.calls == calls, "a stopped bot evaluates no strategy"
    assert len(entries(h)) == 1, "a stopped bot submits no entry"
    assert session.states[0].portfolio.position("BTC-USD").is_flat, "the protective stop still exits"
    sells = [o for o in h.orders("btc") if o.side is OrderSide.SELL and o.status is OrderStatus.FILLED]
    assert len(sells) == 1 and (is_protective(sells[0]) if stop_orders else sells[0].strategy.startswith("stop:"))
    assert broker.open_orders() == []
    assert heartbeat_detail(h) == "stopped by ops@example.com: exchange maintenance"
    with h.store.unit_of_work(read_only=True) as uow:
        [status] = bot_statuses(uow, now=h.wall.now())
    assert status.liveness is BotLiveness.STOPPED and status.heartbeat.run_state is BotRunState.RUNNING
    assert (status.stop_request.actor, status.stop_request.reason) == ("ops@example.com", "exchange maintenance")

    # Started again: it evaluates and enters on the next bar.
    start(h)
    run(h, session, [flat(60, "94")])  # seen at this bar's supervision
    run(h, session, [flat(61, "95")])
    assert strategy.calls > calls and len(entries(h)) == 2
    assert heartbeat_detail(h) == ""


def test_a_stop_cancels_open_entry_orders_but_keeps_the_protective_stop():
    h = Harness()
    # The venue fills BTC's market orders at once and leaves ETH's open (an entry in flight).
    h.broker.fill_on_submit = lambda o: (Decimal(100) if o.symbol == "BTC-USD" and o.order_type is OrderType.MARKET
                                         else None)
    strategy = ScriptedStrategy(decide=lambda symbol, n: Target.LONG if n == 1 else None)
    bot = attrs.evolve(spec("btc", strategy=strategy, instruments={"BTC-USD": BTC, "ETH-USD": ETH},
                            fraction="0.2", capital=10_000),
                       stop=FixedPercentStop(percent=Decimal(5)), stop_orders=True)
    session = h.session([bot])
    session.start(now=START)
    run(h, session, [flat(0, "100"), flat(0, "100", symbol="ETH-USD")])
    [eth_entry] = [o for o in entries(h) if o.symbol == "ETH-USD"]
    [btc_stop] = [o for o in h.orders("btc") if is_protective(o)]
    assert h.order(eth_entry.client_order_id).status is OrderStatus.ACCEPTED
    assert btc_stop.status is OrderStatus.ACCEPTED

    stop(h, reason="drill")
    h.wall.advance(TICK)
    session.idle(now=START + STEP)  # the supervisor, between bars
    assert h.order(eth_entry.client_order_id).status is OrderStatus.CANCELLED
    assert h.order(eth_entry.client_order_id).reason == "stopped by ops@example.com: drill"
    assert h.order(btc_stop.client_order_id).status is OrderStatus.ACCEPTED
    assert h.broker.cancels == [eth_entry.client_order_id]


def test_a_halt_beats_a_start_and_only_resume_lets_it_enter():
    h = Harness()
    strategy = always(Target.LONG)
    session, _ = crypto_sim_session(h, btc_bot(strategy), instruments={"BTC-USD": BTC}, start=START)
    stop(h)
    halt(HaltCommand(reason="incident", actor="ops", scope=bot_scope(ACCOUNT, "btc")),
         uow_factory=h.store, clock=h.wall, notifier=h.notifier)
    h.wall.advance(TICK)
    start(h)
    run(h, session, [flat(i, "100") for i in range(10)])
    assert entries(h) == [], "a started bot under a halt stays halted"
    assert heartbeat_detail(h) == "halted"
    with h.store.unit_of_work(read_only=True) as uow:
        [status] = bot_statuses(uow, now=h.wall.now())
    assert status.liveness is BotLiveness.HALTED and status.stop_request is None

    resume(ResumeCommand(actor="ops", scope=bot_scope(ACCOUNT, "btc")), uow_factory=h.store, clock=h.wall,
           notifier=h.notifier)
    run(h, session, [flat(10, "100"), flat(11, "100")])
    assert len(entries(h)) == 1


def test_the_stop_survives_a_restart_of_the_session():
    h = Harness()
    strategy = always(Target.LONG)  # flat, it would buy on its first evaluation
    first, venue = crypto_sim_session(h, btc_bot(strategy), instruments={"BTC-USD": BTC}, start=START)
    stop(h)
    h.wall.advance(TICK)
    first.idle(now=START)  # seen between bars
    run(h, first, [flat(i, "100") for i in range(5)])
    first.stop(now=flat(4, "100").end)

    # A new process on the same store and venue: it reads the request at start, before its first bar.
    second = PaperSession(settings=SessionSettings(account=ACCOUNT, mode="simulation"), bots=[btc_bot(strategy)],
                          uow_factory=h.store, broker=venue, venue=venue, notifier=h.notifier, wall_clock=h.wall,
                          process=ProcessInfo(pid=2, host="h"))
    second.start(now=flat(5, "100").ts)
    run(h, second, [flat(i, "100") for i in range(5, 25)])
    assert strategy.calls == 0 and entries(h) == []
    assert second.states[0].halted is False  # stopped, not halted: the venue and the store agree
    assert heartbeat_detail(h) == "stopped by ops@example.com: venue maintenance"


# --- status -----------------------------------------------------------------------------------


def _beat(age: timedelta, run_state: BotRunState = BotRunState.RUNNING):
    from application.records import Heartbeat

    return Heartbeat(account=ACCOUNT, bot="btc", pid=1, host="h", mode="paper", started_at=T0, beat_at=T0,
                     interval_seconds=5, run_state=run_state), T0 + age


STOPPED = BotRun(account=ACCOUNT, bot="btc", desired=DesiredState.STOPPED, actor="ops", reason="r", updated_at=T0)
STARTED = attrs.evolve(STOPPED, desired=DesiredState.RUNNING)
HALTED = ControlState(scope=bot_scope(ACCOUNT, "btc"), state=TradingState.HALTED, reason="x", actor="ops",
                      changed_at=T0)


@pytest.mark.parametrize(("age", "run_state", "control", "asked", "expected"), [
    (timedelta(seconds=1), BotRunState.RUNNING, None, STOPPED, BotLiveness.STOPPED),  # alive, asked to stop
    (timedelta(seconds=1), BotRunState.RUNNING, None, STARTED, BotLiveness.RUNNING),
    (timedelta(seconds=1), BotRunState.RUNNING, HALTED, STOPPED, BotLiveness.HALTED),  # a halt overrides
    (timedelta(seconds=1), BotRunState.RUNNING, HALTED, STARTED, BotLiveness.HALTED),
    (timedelta(minutes=1), BotRunState.RUNNING, None, STOPPED, BotLiveness.STALE),  # a dead process is news
    (timedelta(days=1), BotRunState.STOPPED, None, STARTED, BotLiveness.STOPPED),  # ended cleanly
])
def test_liveness_with_a_start_or_stop_request(age, run_state, control, asked, expected):
    beat, now = _beat(age, run_state)
    assert liveness(beat, control, now=now, run=asked) is expected
