"""The bot-raised alerts: their keys and levels through an AlertSink, the same notices as before
through a plain Notifier, and the reject streak counted from the events the inbox records."""

from __future__ import annotations

from decimal import Decimal

import attrs

from application.alerting import bot_alerts
from application.alerting.alert import Alert
from application.alerting.bot_alerts import RejectStreaks
from application.ports import AlertLevel
from application.trading.event_inbox import EventInbox
from domain.orders.events import OrderAccepted, OrderRejected
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.risk.circuit_breakers import BreakerDecision, DrawdownBreaker
from domain.risk.trading_state import TradingState
from tests.fakes.builders import ACCOUNT, T0
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier

BREAKER = DrawdownBreaker(warning=Decimal("0.05"), limit=Decimal("0.10"))


@attrs.frozen
class Resolved:
    key: str
    title: str
    account: str
    bot: str


class RecordingSink(RecordingNotifier):
    """A Notifier that is also an AlertSink: keeps what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.fired: list[Alert] = []
        self.resolved: list[Resolved] = []

    def fire(self, alert: Alert) -> None:
        self.fired.append(alert)

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        self.resolved.append(Resolved(key=key, title=title, account=account, bot=bot))


def decision(state: TradingState, drawdown: str) -> BreakerDecision:
    return BreakerDecision(state=state, reason=f"drawdown {drawdown}", alert=True, drawdown=Decimal(drawdown))


def test_the_drawdown_breaker_warns_halts_and_resolves_its_warning_on_recovery() -> None:
    sink = RecordingSink()
    for state, drawdown in [(TradingState.REDUCING, "0.06"), (TradingState.HALTED, "0.11")]:
        bot_alerts.drawdown_changed(sink, account="paper", bot="eq", decision=decision(state, drawdown),
                                    equity=Decimal("89000"), breaker=BREAKER)
    warning, breaker = sink.fired
    assert (warning.key, warning.level, warning.title) == ("drawdown_warning:paper/eq", AlertLevel.WARNING,
                                                           "bot eq reducing")
    assert (breaker.key, breaker.level, breaker.title) == ("drawdown_breaker:paper/eq", AlertLevel.CRITICAL,
                                                           "bot eq halted")
    assert dict(breaker.figures) == {"drawdown": "11.00%", "equity": "89,000.00", "warning": "5.00%",
                                     "limit": "10.00%"}
    bot_alerts.drawdown_changed(sink, account="paper", bot="eq", decision=decision(TradingState.ACTIVE, "0.01"),
                                equity=Decimal("99000"), breaker=BREAKER)
    assert [r.key for r in sink.resolved] == ["drawdown_warning:paper/eq"]
    assert sink.sent == []  # nothing through notify() when the notifier is a sink


def test_a_plain_notifier_gets_the_notices_it_always_got() -> None:
    plain = RecordingNotifier()
    for state in (TradingState.REDUCING, TradingState.HALTED, TradingState.ACTIVE):
        bot_alerts.drawdown_changed(plain, account="paper", bot="eq", decision=decision(state, "0.06"),
                                    equity=Decimal("94000"), breaker=BREAKER)
    bot_alerts.daily_loss_tripped(plain, account="paper", bot="eq", reason="lost 3%")
    bot_alerts.daily_loss_rearmed(plain, account="paper", bot="eq")  # there was no such notice before
    bot_alerts.resumed(plain, scopes=["paper/eq", "paper/fx"], title="RESUME (all bots)", body="by ops")
    assert [(a.level, a.title) for a in plain.sent] == [
        (AlertLevel.WARNING, "bot eq reducing"), (AlertLevel.CRITICAL, "bot eq halted"),
        (AlertLevel.WARNING, "bot eq active"), (AlertLevel.CRITICAL, "bot eq: daily loss limit"),
        (AlertLevel.WARNING, "RESUME (all bots)")]


def test_a_resume_resolves_every_halt_and_reducing_of_each_scope_it_lifted() -> None:
    sink = RecordingSink()
    bot_alerts.halted(sink, scope="paper/eq", title="bot eq halted", body="too many orders", check="order_rate_bot")
    bot_alerts.halted(sink, scope="*", title="HALT (all bots)", body="by ops")
    assert [(a.key, a.account, a.bot) for a in sink.fired] == [("throttle_halt:paper/eq", "paper", "eq"),
                                                               ("halted:*", "", "")]
    bot_alerts.resumed(sink, scopes=["paper/eq"], title="RESUME (bot paper/eq)", body="by ops")
    assert [r.key for r in sink.resolved] == ["halted:paper/eq", "throttle_halt:paper/eq",
                                              "drawdown_breaker:paper/eq", "drawdown_warning:paper/eq"]
    assert {(r.account, r.bot) for r in sink.resolved} == {("paper", "eq")}


def test_a_restart_resolves_what_the_last_run_left_open() -> None:
    sink = RecordingSink()
    bot_alerts.strategy_disabled(sink, account="paper", bot="eq", symbol="SPY", why="ZeroDivisionError")
    assert sink.fired[0].key == "strategy_disabled:paper/eq/SPY"
    bot_alerts.session_started(sink, account="paper", bots=["eq"], symbols={"eq": ["SPY", "AAPL"]})
    assert [r.key for r in sink.resolved] == ["order_rejects:paper/eq", "strategy_disabled:paper/eq/SPY",
                                              "strategy_disabled:paper/eq/AAPL"]


def _submitted(store: InMemoryStore, *ids: str) -> None:
    with store() as uow:
        uow.accounts.ensure(account=ACCOUNT, bot="bot1", initial_cash=Decimal(10_000))
        for cid in ids:
            order = Order(client_order_id=cid, account=ACCOUNT, bot="bot1", strategy="s", symbol="SPY",
                          side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal(1), created_at=T0,
                          signal_ts=T0)
            order.transition(OrderStatus.SUBMITTED, at=T0)
            uow.orders.add(order)
        uow.commit()


def test_rejects_in_a_row_alert_once_and_the_next_accepted_order_resolves_it() -> None:
    store, sink = InMemoryStore(), RecordingSink()
    _submitted(store, *(f"o-{i}" for i in range(6)))
    inbox = EventInbox(listener=RejectStreaks(notifier=sink, account=ACCOUNT, threshold=3).observe)
    inbox.add([OrderRejected(client_order_id="o-0", reason="insufficient buying power", ts=T0),
               OrderAccepted(client_order_id="o-1", venue_order_id="v-1", ts=T0)])  # a streak of one, ended
    inbox.add(OrderRejected(client_order_id=f"o-{i}", reason="market closed", ts=T0) for i in (2, 3))
    inbox.apply(uow_factory=store)
    assert sink.fired == []
    inbox.add([OrderRejected(client_order_id="o-4", reason="market closed", ts=T0),
               OrderRejected(client_order_id="o-4", reason="market closed", ts=T0)])  # a replay is not counted
    inbox.apply(uow_factory=store)
    (alert,) = sink.fired
    assert (alert.key, alert.level, dict(alert.figures)) == (f"order_rejects:{ACCOUNT}/bot1", AlertLevel.CRITICAL,
                                                             {"rejected_in_a_row": "3"})
    assert alert.body.splitlines() == ["o-2: market closed", "o-3: market closed", "o-4: market closed"]
    inbox.add([OrderAccepted(client_order_id="o-5", venue_order_id="v-5", ts=T0)])
    inbox.apply(uow_factory=store)
    assert [r.key for r in sink.resolved] == [f"order_rejects:{ACCOUNT}/bot1"]
