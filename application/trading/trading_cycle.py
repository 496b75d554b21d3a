"""One trading cycle for one bot and one bar, as ../shared/ARCHITECTURE.md draws it:

sanity gate -> strategy (safe wrapper) -> order intent with a deterministic
client_order_id -> risk -> intent committed -> submit -> venue events through the
state machine (fills recorded once, position in the same transaction) -> audit.
Between the commit and the send the kill switch is read once more, serialised with every
change of it (application/trading/release.py): a halt that committed meanwhile keeps the order home.
The heartbeat is the session's job (application/trading/paper_session.py).
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from application.error_reporting import ErrorReporter, NoErrorReporter
from application.log_context import log_context
from application.alerting import bot_alerts
from application.ports import Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, ControlState, bot_scope
from application.safety.control import effective_state
from application.safety.halt import set_trading_state
from application.safety.lease import LeaseGuard, NotLeader
from application.trading.bot_state import BotState
from application.trading.cancel_orders import cancel_open_orders
from application.trading.event_inbox import EventInbox
from application.trading.market_hours import MarketHours
from application.trading.order_intent import PlannedIntent, plan_intent
from application.trading.ports import FaultInjector, NoFaults
from application.trading.position_risk import day_trade_check, exposure_checks, heat_check, move_stop, stop_exit
from application.trading.protective_stops import is_protective, plan_resting_stop
from application.trading.release import Withheld, release
from application.venues.ports import Broker
from domain.accounting.market import Bar
from domain.errors import TransientError
from domain.orders.order import Order, OrderStatus
from domain.risk.risk import Approved, Denied, RiskContext, RiskDecision, RiskEngine
from domain.risk.trading_state import TradingState
from domain.strategy import Signal

log = logging.getLogger(__name__)

_RATE_WINDOW = timedelta(minutes=1)


class CycleResult(enum.Enum):
    NO_SIGNAL = "no_signal"
    BAD_DATA = "bad_data"
    STRATEGY_FAILED = "strategy_failed"
    NOTHING_TO_DO = "nothing_to_do"
    DUPLICATE = "duplicate"  # this intent exists already: the repeated signal is a no-op
    DENIED = "denied"
    HALTED = "halted"  # denied, and the denial halted the bot
    SUBMITTED = "submitted"
    UNKNOWN_OUTCOME = "unknown_outcome"  # the venue did not answer; resolved by lookup later
    REDUCING = "reducing"  # the bot may only reduce risk (drawdown warning or an operator's choice)
    DAILY_LOSS_STOP = "daily_loss_stop"  # the daily loss limit tripped: only exits until the next session
    NOT_LEADER = "not_leader"  # another instance holds the bot's lease: nothing was committed
    STOP_CANCEL_PENDING = "stop_cancel_pending"  # the resting stop must be gone before this order goes
    DEFERRED = "deferred"  # a simulation filling at the next open: sized and sent at that open
    MARKET_CLOSED = "market_closed"  # the venue's clock says its market is closed: no order now
    BOT_STOPPED = "bot_stopped"  # an operator stopped the bot between the intent and the send: not sent


@attrs.define(kw_only=True)
class TradingCycle:
    uow_factory: UnitOfWorkFactory
    broker: Broker
    notifier: Notifier
    inbox: EventInbox = attrs.field(factory=EventInbox)
    faults: FaultInjector = attrs.field(factory=NoFaults)
    lease: LeaseGuard | None = None  # set when instances share a bot (hot standby)
    defer_to_open: bool = False  # a simulated venue filling market orders at the next open
    market_hours: MarketHours | None = None  # a real venue's trading hours (its clock); None: always
    errors: ErrorReporter = attrs.field(factory=NoErrorReporter)  # a strategy's exception, to Sentry

    def on_bar(self, bot: BotState, bar: Bar, *, now: datetime, evaluations: int = 1) -> list[CycleResult]:
        """Feed one bar to the bot; `evaluations` > 1 re-runs the strategy on it, as a
        bot polling between bars does (how the runaway-order incident happened)."""
        verdict = bot.gate.check(bar, now=now)
        if not verdict.ok:
            self._audit(AuditEntry(ts=now, kind=AuditKind.DATA, severity="warning", account=bot.account,
                                   bot=bot.name, symbol=bar.symbol, message=f"bar rejected: {verdict.reason}"))
            return [CycleResult.BAD_DATA]
        bot.window(bar.symbol).append(bar)
        bot.marks[bar.symbol] = (bar.close, bar.end)
        if self.rests_stops(bot, bar.symbol):
            move_stop(bot, bar)
            self._keep_stop_resting(bot, bar, now=now)
            results = [self._evaluate(bot, bar, now=now) for _ in range(evaluations)]
            move_stop(bot, bar)  # a position the strategy opened gets its stop on this bar
            self._keep_stop_resting(bot, bar, now=now)
            return results
        exit_plan = stop_exit(bot, bar)
        if exit_plan is not None and not bot.halted:
            planned, signal = exit_plan
            return [self._act(bot, planned, signal=signal, now=now)]  # the stop goes before the strategy
        return [self._evaluate(bot, bar, now=now) for _ in range(evaluations)]

    def rests_stops(self, bot: BotState, symbol: str) -> bool:
        return (bot.spec.stop is not None and bot.spec.stop_orders and bot.spec.trades(symbol)
                and self.broker.supports_stop_orders(bot.spec.instruments[symbol].asset_class))

    def protect(self, bot: BotState, *, now: datetime) -> None:
        """Every position of the bot gets the protective stop it needs, at the level its last
        bar gave (a session ending: application/trading/session_end.py)."""
        for symbol in bot.spec.instruments:
            last = bot.window(symbol).last
            if last is None or not self.rests_stops(bot, symbol) or bot.portfolio.position(symbol).is_flat:
                continue
            move_stop(bot, last)  # a position filled since that bar has no level yet
            self._keep_stop_resting(bot, last, now=now)

    def _keep_stop_resting(self, bot: BotState, bar: Bar, *, now: datetime) -> None:
        """Make the venue hold the stop the position needs (application/trading/protective_stops.py)."""
        if bot.halted:
            return  # a halt cancels every open order; nothing new goes out until resumed
        for _ in range(2):  # cancel what moved, then place the new stop once the old is gone
            with self.uow_factory() as uow:
                working = uow.orders.open_orders(account=bot.account, bot=bot.name, symbol=bar.symbol)
                work = plan_resting_stop(bot, bar, working=working, taken=lambda cid: uow.orders.get(cid) is not None)
            if work.cancel:
                cancel_open_orders(account=bot.account, bot=bot.name, broker=self.broker, uow_factory=self.uow_factory,
                                   now=now, reason="protective stop moved or no longer needed", inbox=self.inbox,
                                   symbol=bar.symbol, only=lambda order: order.client_order_id in work.cancel)
                with self.uow_factory() as uow:
                    bot.reload(uow)  # the stop may have filled before the cancel reached it
                continue
            if work.place is not None:
                planned, signal = work.place
                self._act(bot, planned, signal=signal, now=now)
            return

    def _clear_resting_stop(self, bot: BotState, planned: PlannedIntent, *, now: datetime) -> bool:
        """Before the strategy's own order on a symbol: take its protective stop off the venue,
        so the two can never both fill. False while a cancel is still unconfirmed."""
        symbol = planned.intent.symbol
        with self.uow_factory() as uow:
            if uow.orders.get(planned.intent.client_order_id) is not None:
                return True  # a repeated signal: _act finds the duplicate, the stop stays
            resting = [o for o in uow.orders.open_orders(account=bot.account, bot=bot.name, symbol=symbol)
                       if is_protective(o)]
        if not resting:
            return True
        cancel_open_orders(account=bot.account, bot=bot.name, broker=self.broker, uow_factory=self.uow_factory,
                           now=now, reason=f"the strategy's {planned.intent.side.value} order replaces the stop",
                           inbox=self.inbox, symbol=symbol, only=is_protective)
        with self.uow_factory() as uow:
            bot.reload(uow)
            return not any(is_protective(o) for o in uow.orders.open_orders(account=bot.account, bot=bot.name, symbol=symbol))

    def _evaluate(self, bot: BotState, bar: Bar, *, now: datetime) -> CycleResult:
        if bot.halted:
            return CycleResult.HALTED
        if bar.symbol in bot.disabled:
            return CycleResult.STRATEGY_FAILED
        signal = self._run_strategy(bot, bar, now=now)
        if signal is None:
            return CycleResult.STRATEGY_FAILED if bar.symbol in bot.disabled else CycleResult.NO_SIGNAL
        if self.defer_to_open:
            # A simulation filling at the next open sizes there too, at the price it fills at
            # (backtrader's cheat-on-open; all-in needs it): sent in on_open before the venue matches.
            bot.deferred[bar.symbol] = signal
            return CycleResult.DEFERRED
        return self._decide(bot, bar, signal=signal, price=None, now=now)

    def on_open(self, bot: BotState, bar: Bar, *, now: datetime) -> CycleResult | None:
        """A simulation's open phase: the signal deferred at the last close is sized at this
        bar's open and sent before the venue matches the bar, so it fills at that open."""
        signal = bot.deferred.pop(bar.symbol, None)
        if signal is None:
            return None
        if bot.halted:
            return CycleResult.HALTED
        bot.marks[bar.symbol] = (bar.open, bar.ts)  # the open is the price the order is sized on
        return self._decide(bot, bar, signal=signal, price=bar.open, now=now)

    def _decide(self, bot: BotState, bar: Bar, *, signal: Signal, price: Decimal | None, now: datetime) -> CycleResult:
        planned = plan_intent(bot, signal=signal, bar=bar, price=price)
        if planned is None:
            return CycleResult.NOTHING_TO_DO
        if bot.daily_loss_stop and not planned.intent.reduces_risk:
            # Known stopped for the day: no intent row every bar (the engine would deny it anyway).
            return CycleResult.DAILY_LOSS_STOP
        if bot.trading_state is TradingState.REDUCING and not planned.intent.reduces_risk:
            return CycleResult.REDUCING  # likewise: only exits while reducing
        if self.rests_stops(bot, bar.symbol):
            if not self._clear_resting_stop(bot, planned, now=now):
                return CycleResult.STOP_CANCEL_PENDING
            # The stop may have filled before its cancel reached the venue: plan on what is held now.
            planned = plan_intent(bot, signal=signal, bar=bar, price=price)
            if planned is None:
                return CycleResult.NOTHING_TO_DO
        return self._act(bot, planned, signal=signal, now=now)

    def submit_exit(self, bot: BotState, planned: PlannedIntent, *, signal: Signal, now: datetime) -> CycleResult:
        """An exit decided outside the strategy (a breaker flattening): the same path, the same checks."""
        assert planned.intent.reduces_risk, "only exits come this way"
        return self._act(bot, planned, signal=signal, now=now)

    def _act(self, bot: BotState, planned: PlannedIntent, *, signal: Signal, now: datetime) -> CycleResult:
        """Intent -> risk -> committed -> submitted, for a strategy's intent or a stop's exit."""
        intent = planned.intent
        # Every line logged on the way (ours, the venue adapter's) names the order.
        with log_context(account=bot.account, bot=bot.name, symbol=intent.symbol,
                         client_order_id=intent.client_order_id):
            return self._act_on(bot, planned, signal=signal, now=now)

    def _act_on(self, bot: BotState, planned: PlannedIntent, *, signal: Signal, now: datetime) -> CycleResult:
        if self.market_hours is not None and not self.market_hours.is_open(
                planned.intent.instrument.asset_class, now=now):
            return CycleResult.MARKET_CLOSED  # nothing committed: the signal is taken again when it opens
        try:
            order, decision = self._commit_intent(bot, planned, signal=signal, now=now)
        except NotLeader:
            return CycleResult.NOT_LEADER
        if order is not None and not isinstance(decision, Denied):
            self.faults.reached("after_intent_commit")
        if order is None:
            return CycleResult.DUPLICATE
        if isinstance(decision, Denied):
            if decision.halt:
                self._halt_bot(bot, decision, now=now)
                return CycleResult.HALTED
            return CycleResult.DENIED
        withheld = release(order, reduces_risk=planned.intent.reduces_risk, uow_factory=self.uow_factory,
                           lease=self.lease, now=now)
        if withheld is not None:
            return self._withheld(bot, withheld)
        return self._submit(bot, order, now=now)

    def _withheld(self, bot: BotState, withheld: Withheld) -> CycleResult:
        """A halt (or REDUCING, or a lost lease) landed between the intent and the send."""
        log.warning("bot %s: %s", bot.name, withheld.reason)
        with self.uow_factory() as uow:
            bot.reload(uow)
        if not withheld.leads:
            return CycleResult.NOT_LEADER
        if withheld.state.allows(reduces_risk=False):
            return CycleResult.BOT_STOPPED
        bot.trading_state = withheld.state
        bot.halted = withheld.state is TradingState.HALTED
        return CycleResult.HALTED if bot.halted else CycleResult.REDUCING

    def _run_strategy(self, bot: BotState, bar: Bar, *, now: datetime) -> Signal | None:
        """The safe wrapper: a failing strategy is switched off for that symbol, alerted,
        and never takes the bot or the other strategies down."""
        try:
            return bot.spec.strategy.on_bar(bot.window(bar.symbol))
        except Exception as exc:  # noqa: BLE001 - user code may raise anything
            why = f"{type(exc).__name__}: {exc}"
            bot.disabled[bar.symbol] = why
            log.exception("strategy %s failed on %s", bot.spec.strategy.name, bar.symbol,
                          extra={"account": bot.account, "bot": bot.name, "symbol": bar.symbol})
            self.errors.capture(exc, bot=bot.name, account=bot.account, symbol=bar.symbol)
            # Alert first: it cannot fail, while the audit write can (store down).
            bot_alerts.strategy_disabled(self.notifier, account=bot.account, bot=bot.name, symbol=bar.symbol, why=why)
            self._audit(AuditEntry(ts=now, kind=AuditKind.ERROR, severity="critical", account=bot.account,
                                   bot=bot.name, symbol=bar.symbol,
                                   message=f"strategy {bot.spec.strategy.name} disabled: {why}"))
            return None

    def _commit_intent(
        self, bot: BotState, planned: PlannedIntent, *, signal: Signal, now: datetime
    ) -> tuple[Order | None, RiskDecision | None]:
        intent = planned.intent
        with self.uow_factory() as uow:
            if uow.orders.get(intent.client_order_id) is not None:
                return None, None
            if self.lease is not None and not self.lease.hold(uow, account=bot.account, bot=bot.name):
                raise NotLeader(bot.name)  # the fence: leaves the transaction without writing
            decision = RiskEngine.standard(bot.spec.limits).evaluate(intent, self._risk_context(uow, bot, intent.symbol, now))
            if isinstance(decision, Approved):
                probation = None
                if bot.spec.probation is not None:  # live on probation: may resize the entry down, or deny it
                    intent, probation = bot.spec.probation.check(
                        intent, max_order_notional=bot.spec.limits.max_order_notional, capital=bot.spec.capital,
                        gross_exposure=bot.portfolio.exposure(bot.mark_prices()).gross)
                intent, heat = heat_check(bot, intent)  # may resize the entry down
                extra = ([probation] if probation is not None else []) + ([heat] if heat is not None else []) \
                    + exposure_checks(bot, intent)
                if bot.spec.day_trades is not None:
                    counted = day_trade_check(bot, intent, now=now,
                                              fills=uow.fills.list(account=bot.account, bot=bot.name))
                    extra += [counted] if counted is not None else []
                failed = [c for c in extra if not c.passed]
                checks = (*decision.checks, *extra)
                decision = (Denied(check=failed[0].check, reason=failed[0].detail, halt=False, checks=checks)
                            if failed else Approved(checks=checks))
            order = Order(
                client_order_id=intent.client_order_id, account=intent.account, bot=intent.bot,
                strategy=intent.strategy, symbol=intent.symbol, side=intent.side,
                order_type=intent.order_type, quantity=intent.quantity, created_at=now,
                signal_ts=intent.signal_ts, limit_price=intent.limit_price, stop_price=intent.stop_price,
                updated_at=now,
            )
            if isinstance(decision, Denied):
                order.transition(OrderStatus.DENIED, at=now, reason=f"{decision.check}: {decision.reason}")
            uow.orders.add(order)
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.RISK if isinstance(decision, Denied) else AuditKind.ORDER,
                severity="warning" if isinstance(decision, Denied) else "info",
                account=bot.account, bot=bot.name, symbol=intent.symbol, client_order_id=order.client_order_id,
                message=(f"intent {intent.side.value} {intent.quantity} {intent.symbol}: "
                         + (f"DENIED by {decision.check}: {decision.reason}" if isinstance(decision, Denied) else "approved")),
                data={
                    "signal": {"target": signal.target.value, "reason": signal.reason, **signal.values},
                    "sizing": planned.sizing,
                    "checks": [{"check": c.check, "passed": c.passed, "detail": c.detail} for c in decision.checks],
                },
            ))
            uow.commit()
        log.info("order intent %s %s %s: %s", intent.side.value, intent.quantity, intent.symbol,
                 f"DENIED by {decision.check}: {decision.reason}" if isinstance(decision, Denied) else "approved")
        return order, decision

    def _risk_context(self, uow: UnitOfWork, bot: BotState, symbol: str, now: datetime) -> RiskContext:
        mark = bot.marks.get(symbol)
        marks = bot.mark_prices()
        since = now - _RATE_WINDOW
        return RiskContext(
            now=now,
            trading_state=effective_state(uow, account=bot.account, bot=bot.name),
            last_price=mark[0] if mark else None,
            last_price_at=mark[1] if mark else None,
            open_orders_for_symbol=sum(1 for o in uow.orders.open_orders(account=bot.account, bot=bot.name, symbol=symbol)
                                       if not is_protective(o)),
            recent_submissions_symbol=uow.orders.submission_times(account=bot.account, bot=bot.name, symbol=symbol, since=since),
            recent_submissions_bot=uow.orders.submission_times(account=bot.account, bot=bot.name, symbol=None, since=since),
            equity=bot.portfolio.equity(marks),
            cash=bot.portfolio.cash,
            gross_exposure=bot.portfolio.exposure(marks).gross,
            position_quantity=bot.portfolio.position(symbol).quantity,
            daily_loss_stop=bot.daily_loss_stop,
        )

    def _submit(self, bot: BotState, order: Order, *, now: datetime) -> CycleResult:
        try:
            events = self.broker.submit(order)
        except TransientError as exc:
            # Unknown outcome: the order may exist at the venue. Never resend with a new
            # id; the in-flight check looks it up by client_order_id.
            self._mark_submitted(order.client_order_id, now=now, note=f"outcome unknown: {exc}")
            log.warning("order %s: outcome unknown (%s); looked up by its id", order.client_order_id, exc)
            return CycleResult.UNKNOWN_OUTCOME
        self.inbox.add(events)  # held until recorded, even if the store fails right now
        self.faults.reached("after_submit_before_ack")
        self._mark_submitted(order.client_order_id, now=now, note="")
        log.info("order %s submitted to the venue: %s %s %s", order.client_order_id, order.side.value,
                 order.quantity, order.symbol)
        self.inbox.apply(uow_factory=self.uow_factory)
        with self.uow_factory() as uow:
            bot.reload(uow)
        return CycleResult.SUBMITTED

    def _mark_submitted(self, client_order_id: str, *, now: datetime, note: str) -> None:
        with self.uow_factory() as uow:
            order = uow.orders.get(client_order_id)
            if order is not None and order.status is OrderStatus.INITIALIZED:
                order.transition(OrderStatus.SUBMITTED, at=now, reason=note)
                uow.orders.save(order)
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ORDER, severity="warning" if note else "info",
                account=order.account if order else "", bot=order.bot if order else "",
                symbol=order.symbol if order else "", client_order_id=client_order_id,
                message="submitted to the venue" + (f" ({note})" if note else ""),
            ))
            uow.commit()

    def _halt_bot(self, bot: BotState, decision: Denied, *, now: datetime) -> None:
        reason = f"risk {decision.check}: {decision.reason}"
        bot.halted = True
        set_trading_state(
            ControlState(scope=bot_scope(bot.account, bot.name), state=TradingState.HALTED, reason=reason, actor="risk-engine", changed_at=now),
            uow_factory=self.uow_factory,
        )
        bot_alerts.halted(self.notifier, scope=bot_scope(bot.account, bot.name), title=f"bot {bot.name} halted",
                          body=reason, check=decision.check)
        cancel_open_orders(account=bot.account, bot=bot.name, broker=self.broker,
                           uow_factory=self.uow_factory, now=now, reason=f"halt: {reason}")

    def _audit(self, entry: AuditEntry) -> None:
        with self.uow_factory() as uow:
            uow.audit.append(entry)
            uow.commit()
