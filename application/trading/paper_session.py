"""A paper-trading session: bars in, cycles run, heartbeats out, the kill switch watched.

The same loop serves the accelerated simulation (`paper --days N`: time is the bar's
close) and the continuous real-time session (time is the wall clock). It is
single-threaded on purpose: a heartbeat is written by the loop that trades, so a
stuck loop stops beating and status shows it stale.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.error_reporting import ErrorReporter, NoErrorReporter
from application.log_context import log_context
from application.alerting import bot_alerts
from application.alerting.bot_alerts import RejectStreaks
from application.safety.control import effective_control
from application.safety.halt import set_trading_state
from application.safety.lease import LeaseGuard
from application.trading.allocation import AllocationSchedule, CapitalAllocator
from application.trading.bot import BotSpec
from application.trading.bot_state import BotState, load_bot_state
from application.trading.cancel_orders import cancel_open_orders
from application.trading.drill_orders import DrillOrders
from application.trading.event_inbox import EventInbox
from application.trading.liveness import instance_role, record_unclean_ends, refuse_if_running_elsewhere, write_beats
from application.trading.market_hours import MarketHours
from application.venues.venue_monitors import VenueMonitor
from application.trading.loss_limits import (
    DAILY_LOSS_MESSAGE,
    DRAWDOWN_ACTOR,
    daily_loss_trip,
    drawdown_change,
    flatten_plans,
    resume_session,
    roll_session,
)
from application.ports import AlertLevel, Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from application.trading.in_flight import resolve_open_orders_at_start, resolve_unknown_outcomes
from application.trading.ports import FaultInjector, NoFaults
from application.trading.protective_stops import is_protective
from application.trading.reconcile import ReconciliationReport, reconcile
from application.trading.stopped_bots import StopRequests, cancel_entry_orders
from application.venues.ports import BarListener, Broker, LiveMarketData
from application.records import (
    AuditEntry,
    AuditKind,
    BotRunState,
    ControlState,
    EquityPoint,
    InstanceBeat,
    bot_scope,
)
from application.trading.session_end import OnStop, SessionEnd, end_session
from application.trading.trading_cycle import TradingCycle
from application.venues.venue_health import HealthRecorder
from domain.accounting.market import Bar
from domain.errors import InvalidMarketData, StoreUnavailable, TransientError
from domain.risk.trading_state import TradingState

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class ProcessInfo:
    pid: int
    host: str

    @property
    def instance(self) -> str:
        return f"{self.pid}@{self.host}"


@attrs.frozen(kw_only=True)
class SessionSettings:
    account: str
    mode: str  # "simulation" (accelerated) or "paper" (real time)
    heartbeat_seconds: float = 5.0
    supervise_seconds: float = 0.2  # how often the kill switch is read between submissions
    evaluations_per_bar: int = 1
    reconcile_seconds: float = 30.0  # periodic comparison of the store with the venue
    # A simulated venue filling market orders at the next open: decisions are sized and sent
    # at that open, before the venue matches the bar (only a simulation knows the open then).
    size_at_open: bool = False
    # What a clean stop does to the working orders (application/trading/session_end.py); None: nothing,
    # for a backtest, whose venue ends with the run.
    on_stop: OnStop | None = OnStop.CANCEL_ENTRIES
    reject_streak: int = 3  # venue rejections in a row of one bot that alert ([alerts] reject_streak)

    def __attrs_post_init__(self) -> None:
        if self.heartbeat_seconds <= 0:
            raise ValueError("heartbeat_seconds must be positive")
        if self.evaluations_per_bar < 1:
            raise ValueError("evaluations_per_bar must be >= 1")


@attrs.define(kw_only=True)
class PaperSession:
    settings: SessionSettings
    bots: Sequence[BotSpec]
    uow_factory: UnitOfWorkFactory
    broker: Broker
    venue: BarListener | None  # the simulated venue hears bars first; a real one does not need them
    notifier: Notifier
    wall_clock: Clock
    process: ProcessInfo
    faults: FaultInjector = attrs.field(factory=NoFaults)
    lease: LeaseGuard | None = None  # hot standby: trade only while holding every bot's lease
    allocation: AllocationSchedule | None = None  # rebalance the bots' capital on a schedule
    health: HealthRecorder | None = None  # venue-call figures, written with each heartbeat
    # A real venue's account watchers (buying power and margin, funding rates), ticked with
    # each supervision; they alert on their own and never raise.
    monitors: Sequence[VenueMonitor] = ()
    market_hours: MarketHours | None = None  # a real venue's clock says when equities trade
    errors: ErrorReporter = attrs.field(factory=NoErrorReporter)  # a strategy's exception, to Sentry
    sleep: Callable[[float], None] = time.sleep  # while a stop waits for the venue's cancel confirmations
    lost_lease: bool = False
    tally: Counter[str] = attrs.field(factory=Counter)
    degraded: str = ""
    _states: list[BotState] = attrs.field(factory=list)
    _cycle: TradingCycle | None = None
    _started_at: datetime | None = None
    _last_beat: datetime | None = None
    _last_supervise: datetime | None = None
    _halted: set[str] = attrs.field(factory=set)
    _stops: StopRequests = attrs.field(factory=StopRequests)  # operators' stop requests (application/trading/bot_runs.py)
    _inbox: EventInbox = attrs.field(default=attrs.Factory(lambda self: EventInbox(listener=RejectStreaks(
        notifier=self.notifier, account=self.account, threshold=self.settings.reject_streak).observe), takes_self=True))
    _reconciliation_failed: bool = False
    _daily_loss_held: set[str] = attrs.field(factory=set)  # bots whose daily loss limit tripped
    _drills: DrillOrders = attrs.field(factory=DrillOrders)  # the kill-switch drill's resting order
    _lookup_misses: dict[str, int] = attrs.field(factory=dict)
    _last_reconcile: datetime | None = None
    last_reconciliation: ReconciliationReport | None = None
    _equity: dict[str, list[EquityPoint]] = attrs.field(factory=dict)
    _allocator: CapitalAllocator | None = None

    @property
    def account(self) -> str:
        return self.settings.account

    @property
    def states(self) -> Sequence[BotState]:
        return tuple(self._states)

    def start(self, *, now: datetime) -> None:
        self._cycle = TradingCycle(uow_factory=self.uow_factory, broker=self.broker, notifier=self.notifier,
                                   inbox=self._inbox, faults=self.faults, lease=self.lease,
                                   defer_to_open=self.settings.size_at_open, market_hours=self.market_hours,
                                   errors=self.errors)
        self._started_at = self.wall_clock.now()
        with self.uow_factory() as uow:
            if self.lease is None:  # with leases, the lease decides who runs
                refuse_if_running_elsewhere(uow, account=self.account, bots=[b.name for b in self.bots],
                                            pid=self.process.pid, host=self.process.host, now=self._started_at)
            record_unclean_ends(uow, account=self.account, bots=[b.name for b in self.bots], pid=self.process.pid,
                                host=self.process.host)
            self._states = [load_bot_state(uow, spec=spec, account=self.account) for spec in self.bots]
            for state in self._states:
                resume_session(state, uow)
            # Claimed in the same transaction as the check, so two starting instances cannot both pass.
            self._write_beats(uow, BotRunState.RUNNING, wall=self._started_at, detail="starting")
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.SESSION, account=self.account,
                message=f"{self.settings.mode} session started with bots {', '.join(b.name for b in self.bots)}",
                data={"pid": self.process.pid, "host": self.process.host},
            ))
            uow.commit()
        # A new run: its strategies are all on again and no reject streak is counted yet.
        bot_alerts.session_started(self.notifier, account=self.account, bots=[b.name for b in self.bots],
                                   symbols={b.name: list(b.instruments) for b in self.bots})
        closed = resolve_open_orders_at_start(account=self.account, broker=self.broker,
                                              uow_factory=self.uow_factory, now=now)
        if closed:
            self.tally["stale_orders_closed"] += closed
        # No trading before the store agrees with the venue: a mismatch halts every bot here.
        self._reconcile(now=now)
        self._beat(BotRunState.RUNNING, force=True)
        self._supervise(now=now, force=True)

    def _reconcile(self, *, now: datetime) -> ReconciliationReport:
        report = reconcile(account=self.account, broker=self.broker, uow_factory=self.uow_factory, now=now)
        self._last_reconcile = self.wall_clock.now()
        self.last_reconciliation = report
        if report.backfilled_fills:
            self.tally["fills_backfilled"] += report.backfilled_fills
            with self.uow_factory() as uow:
                for state in self._states:
                    state.reload(uow)
        if not report.ok:
            more = f" (+{len(report.mismatches) - 1} more)" if len(report.mismatches) > 1 else ""
            reason = f"reconciliation mismatch: {report.mismatches[0]}{more}"
            for state in self._states:
                if not state.halted:
                    set_trading_state(ControlState(scope=bot_scope(self.account, state.name), state=TradingState.HALTED, reason=reason,
                                                   actor="reconciliation", changed_at=now), uow_factory=self.uow_factory)
                    state.halted = True
            bot_alerts.reconciliation(self.notifier, account=self.account, mismatches=list(report.mismatches))
        elif self._reconciliation_failed:
            bot_alerts.reconciliation(self.notifier, account=self.account, mismatches=None)
        self._reconciliation_failed = not report.ok
        return report

    def run_accelerated(self, bars: Iterable[Bar], *, on_bar: Callable[[Bar], None] | None = None) -> None:
        """As fast as possible; the session's time is each bar's close."""
        with log_context(account=self.account):
            for bar in bars:
                self.process_bar(bar, now=bar.end)
                if on_bar is not None:
                    on_bar(bar)

    def run_realtime(self, feed: LiveMarketData, *, should_stop: Callable[[], bool]) -> None:
        poll = min(self.settings.supervise_seconds, self.settings.heartbeat_seconds / 2)
        with log_context(account=self.account):
            while not should_stop() and not self.lost_lease:
                for bar in feed.poll(timeout=poll):
                    self.process_bar(bar, now=self.wall_clock.now())
                self._record_streamed_events()
                self.idle(now=self.wall_clock.now())

    def _record_streamed_events(self) -> None:
        """A streaming venue reports fills between bars: record them as they come, not at the
        next bar (which may be a minute or a weekend away)."""
        try:
            self._drain_events()
        except StoreUnavailable as exc:
            self._degrade(str(exc))  # held in the inbox; recorded when the store is back

    def process_bar(self, bar: Bar, *, now: datetime) -> None:
        assert self._cycle is not None, "start() first"
        self.faults.reached("cycle")
        try:
            if self.settings.size_at_open:
                for state in self._states:
                    if state.spec.trades(bar.symbol):
                        opened = bar.ts if self.settings.mode == "simulation" else now
                        with log_context(bot=state.name, symbol=bar.symbol):
                            result = self._cycle.on_open(state, bar, now=opened)
                        if result is not None:
                            self.tally[result.value] += 1
            if self.venue is not None:
                try:
                    self.venue.on_bar(bar)
                except InvalidMarketData as exc:
                    # The venue refuses a replayed or out-of-order bar; so do the bots' gates.
                    self._record_bad_bar(bar, now=now, why=str(exc))
                    return
                except TransientError as exc:
                    # The venue could not take the bar (its journal failed); nothing changed
                    # there, so nothing is traded on this bar either.
                    self._degrade(f"venue: {exc}")
                    return
            self._drain_events()
            for state in self._states:
                if not state.spec.trades(bar.symbol):
                    continue
                with log_context(bot=state.name, symbol=bar.symbol):  # its logs and its crash name the bot
                    self._bot_bar(state, bar, now=now)
            self._rebalance_if_due(now=now)
            self._recover_if_degraded(now=now)
        except StoreUnavailable as exc:
            self._degrade(str(exc))
        self.idle(now=now)

    def _bot_bar(self, state: BotState, bar: Bar, *, now: datetime) -> None:
        roll_session(state, at=bar.end)
        evaluations = self._stops.evaluations(state.name, configured=self.settings.evaluations_per_bar)
        assert self._cycle is not None
        for result in self._cycle.on_bar(state, bar, now=now, evaluations=evaluations):
            self.tally[result.value] += 1
        equity = state.equity()
        self._equity.setdefault(state.name, []).append(EquityPoint(ts=bar.end, equity=equity))
        self._apply_loss_limits(state, equity=equity, at=bar.end, now=now)

    def _rebalance_if_due(self, *, now: datetime) -> None:
        if self.allocation is None or self.degraded or self.lost_lease:
            return
        if self._allocator is None:
            self._allocator = CapitalAllocator(schedule=self.allocation, account=self.account,
                                               uow_factory=self.uow_factory, notifier=self.notifier)
        if self._allocator.due(now=now):
            self._flush_equity()  # the allocator reads each sleeve's returns from the store
            self._allocator.rebalance(self._states, now=now)
            self.tally["rebalances"] += 1

    def _apply_loss_limits(self, state: BotState, *, equity: Decimal, at: datetime, now: datetime) -> None:
        """The drawdown breaker and the daily loss limit, after each bar (decisions in loss_limits)."""
        if state.daily_loss_stop:
            self._daily_loss_held.add(state.name)
        elif state.name in self._daily_loss_held:  # a new trading session re-armed it
            self._daily_loss_held.discard(state.name)
            bot_alerts.daily_loss_rearmed(self.notifier, account=self.account, bot=state.name)
        decision = drawdown_change(state, equity=equity)
        if decision is not None:
            if decision.state is TradingState.HALTED and state.spec.flatten_on_halt:
                self._flatten(state, at=at, now=now, why=decision.reason)
            set_trading_state(ControlState(scope=bot_scope(self.account, state.name), state=decision.state,
                                           reason=decision.reason, actor=DRAWDOWN_ACTOR, changed_at=now),
                              uow_factory=self.uow_factory,
                              kind=AuditKind.RESUME if decision.state is TradingState.ACTIVE else AuditKind.HALT)
            state.trading_state, state.trading_actor = decision.state, DRAWDOWN_ACTOR
            state.halted = decision.state is TradingState.HALTED
            bot_alerts.drawdown_changed(self.notifier, account=self.account, bot=state.name, decision=decision,
                                        equity=equity, breaker=state.spec.drawdown)
            if state.halted:
                self._supervise(now=now, force=True)  # cancel its open orders now
        day = daily_loss_trip(state, equity=equity)
        if day is not None:
            with self.uow_factory() as uow:
                uow.audit.append(AuditEntry(ts=now, kind=AuditKind.RISK, severity="warning", account=self.account,
                                            bot=state.name, message=f"{DAILY_LOSS_MESSAGE}{day.reason}"))
                uow.commit()
            self._daily_loss_held.add(state.name)
            bot_alerts.daily_loss_tripped(self.notifier, account=self.account, bot=state.name, reason=day.reason)
            # Protective stops stay: they can only close positions, which the limit still allows.
            cancel_open_orders(account=self.account, bot=state.name, broker=self.broker, uow_factory=self.uow_factory,
                               now=now, reason=f"daily loss limit: {day.reason}", inbox=self._inbox,
                               only=lambda order: not is_protective(order))

    def _flatten(self, state: BotState, *, at: datetime, now: datetime, why: str) -> None:
        """Close every position before the halt lands (exits are allowed while not yet halted)."""
        assert self._cycle is not None
        cancel_open_orders(account=self.account, bot=state.name, broker=self.broker, uow_factory=self.uow_factory,
                           now=now, reason=f"flatten before halt: {why}", inbox=self._inbox)
        self._drain_events()
        for planned, signal in flatten_plans(state, at=at, why=why):
            result = self._cycle.submit_exit(state, planned, signal=signal, now=now)
            self.tally[f"flatten_{result.value}"] += 1

    def _record_bad_bar(self, bar: Bar, *, now: datetime, why: str) -> None:
        self.tally["bad_data"] += 1
        with self.uow_factory() as uow:
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.DATA, severity="warning", account=self.account,
                                        symbol=bar.symbol, message=f"bar rejected: {why}"))
            uow.commit()

    def idle(self, *, now: datetime) -> None:
        try:
            self._supervise(now=now)
            self._beat(BotRunState.RUNNING)
        except StoreUnavailable as exc:
            self._degrade(str(exc))

    def stop(self, *, now: datetime, detail: str = "") -> None:
        """A clean end: venue events still held recorded, the last equity points, heartbeats
        that say stopped, the leases given up."""
        try:
            self._drain_events()  # taken from the venue during a store outage, not recorded yet
        except StoreUnavailable as exc:
            log.warning("venue events left unrecorded at stop (%s); the next start reconciles them", exc)
        ending = self._end_orders(now=now)
        self._flush_equity()
        self._beat(BotRunState.STOPPED, force=True, detail=detail)
        if self.lease is not None and not self.lost_lease:
            self.lease.release_all(self.uow_factory, account=self.account, bots=[s.name for s in self._states])
        with self.uow_factory() as uow:
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.SESSION, account=self.account,
                                        severity="warning" if ending is not None and ending.unprotected else "info",
                                        message=f"{self.settings.mode} session stopped" + (f": {detail}" if detail else "")
                                        + (f" ({ending.summary()})" if ending is not None else ""),
                                        data=dict(self.tally)))
            uow.commit()

    def _end_orders(self, *, now: datetime) -> SessionEnd | None:
        """[engine] on_stop, applied (application/trading/session_end.py); None when it could not run
        (no cycle, another instance leads, the store or the venue down: the next start reconciles)."""
        policy = self.settings.on_stop
        if policy is None or self._cycle is None or self.lost_lease or self.degraded:
            return None
        try:
            ending = end_session(self._states, policy=policy, cycle=self._cycle, broker=self.broker,
                                 uow_factory=self.uow_factory, inbox=self._inbox, drain=self._drain_events,
                                 now=now, sleep=self.sleep)
        except (StoreUnavailable, TransientError) as exc:
            log.warning("on_stop = %s not applied (%s); the next start reconciles the open orders", policy.value, exc)
            return None
        if ending.unprotected:
            self.notifier.notify(
                level=AlertLevel.WARNING if policy is OnStop.CANCEL_ALL else AlertLevel.CRITICAL,
                title=f"{self.account}: session ended with positions without a resting stop",
                body=ending.summary())
        return ending

    def _drain_events(self) -> None:
        self._inbox.add(self.broker.poll_events())
        if len(self._inbox):
            self.faults.reached("after_fill_before_record")
        outcome = self._inbox.apply(uow_factory=self.uow_factory)
        for alert in outcome.alerts:  # a busted or restated fill: P&L changed after the fact
            self.notifier.notify(level=AlertLevel.CRITICAL, title=f"venue corrected a fill in {self.account}", body=alert)
        self.tally["fills_duplicate"] += outcome.duplicates
        if outcome.touched_bots:
            with self.uow_factory() as uow:
                for state in self._states:
                    if state.name in outcome.touched_bots:
                        state.reload(uow)

    def _supervise(self, *, now: datetime, force: bool = False) -> None:
        """Read the kill switch (a halted bot's open orders are cancelled, and cancelled
        again until the venue confirms), and ask the venue about unanswered orders."""
        wall = self.wall_clock.now()
        if not force and self._last_supervise and (wall - self._last_supervise).total_seconds() < self.settings.supervise_seconds:
            return
        self._last_supervise = wall
        if self.lease is not None and not self.lease.acquire_all(
            self.uow_factory, account=self.account, bots=[s.name for s in self._states]
        ):
            # Another instance took over (we were too slow to renew): stop trading now.
            self.lost_lease = True
            for state in self._states:
                state.halted = True
            self.notifier.notify(level=AlertLevel.CRITICAL, title=f"lease lost for {self.account}",
                                 body=f"{self.lease.holder} no longer leads; it stops trading")
            return
        with self.uow_factory() as uow:
            controls = {s.name: effective_control(uow, account=self.account, bot=s.name) for s in self._states}
            stops_changed = self._stops.read(uow, account=self.account)
            drills = self._drills.read(uow, account=self.account, bots=[s.name for s in self._states])
        for state in self._states:
            control = controls[state.name]
            state.trading_state = control.state if control is not None else TradingState.ACTIVE
            state.trading_actor = control.actor if control is not None else ""
            state.halted = state.trading_state is TradingState.HALTED
            if not state.halted:
                self._halted.discard(state.name)
                run = self._stops.stopped(state.name)
                if run is not None and cancel_entry_orders(state, run, broker=self.broker, uow_factory=self.uow_factory,
                                                           inbox=self._inbox, now=now):
                    self._drain_events()
                continue
            count = cancel_open_orders(account=self.account, bot=state.name, broker=self.broker,
                                       uow_factory=self.uow_factory, now=now, reason=f"halt: {control.reason}",
                                       inbox=self._inbox)
            self._drain_events()
            if state.name not in self._halted:
                # Noted only once the cancels went through: a store failure above retries them.
                self._halted.add(state.name)
                self.tally["halts_observed"] += 1
                log.warning("bot %s halted (%s); %d open order(s) cancelled", state.name, control.reason, count)
        # After the switch is read: a halted bot is never given a drill order (application/trading/drill_orders.py).
        self._drills.serve(self._states, drills, broker=self.broker, uow_factory=self.uow_factory, inbox=self._inbox,
                           lease=self.lease, now=now)
        if stops_changed:
            self._beat(BotRunState.RUNNING, force=True)  # the heartbeat's detail says at once that it obeys
        if self._last_reconcile is not None and (wall - self._last_reconcile).total_seconds() >= self.settings.reconcile_seconds:
            self._reconcile(now=now)
        for order in resolve_unknown_outcomes(account=self.account, broker=self.broker, uow_factory=self.uow_factory,
                                              now=now, misses=self._lookup_misses):
            reason = f"order {order.client_order_id} ({order.symbol}) {order.reason}"
            set_trading_state(ControlState(scope=bot_scope(self.account, order.bot), state=TradingState.HALTED, reason=reason,
                                           actor="in-flight check", changed_at=now), uow_factory=self.uow_factory)
            bot_alerts.halted(self.notifier, scope=bot_scope(self.account, order.bot),
                              title=f"bot {order.bot} halted: order lost", body=reason)
        for monitor in self.monitors:
            monitor.tick(now=now)

    def _beat(self, run_state: BotRunState, *, force: bool = False, detail: str = "") -> None:
        wall = self.wall_clock.now()
        if not force and self._last_beat and (wall - self._last_beat).total_seconds() < self.settings.heartbeat_seconds:
            return
        self._last_beat = wall
        self._flush_equity()
        with self.uow_factory() as uow:
            self._write_beats(uow, run_state, wall=wall, detail=detail)
            uow.commit()
            if self.health is not None:
                # In a commit of its own after the beats': a failed health write never costs a heartbeat.
                self.health.flush(uow)

    def _write_beats(self, uow: UnitOfWork, run_state: BotRunState, *, wall: datetime, detail: str) -> None:
        assert self._started_at is not None
        instance = InstanceBeat(
            instance=self.process.instance, account=self.account, role=instance_role(run_state),
            pid=self.process.pid, host=self.process.host, bots=",".join(b.name for b in self.bots),
            beat_at=wall, interval_seconds=self.settings.heartbeat_seconds,
        )
        write_beats(uow, states=self._states, instance=instance, mode=self.settings.mode, started_at=self._started_at,
                    run_state=run_state,
                    detail_of={s.name: detail or self.degraded or ("halted" if s.name in self._halted
                                                                   else self._stops.detail(s.name))
                               for s in self._states})

    def _flush_equity(self) -> None:
        if not any(self._equity.values()):
            return
        with self.uow_factory() as uow:
            for bot, points in self._equity.items():
                uow.equity.add_many(account=self.account, bot=bot, points=points)
            uow.commit()
        self._equity.clear()

    def _degrade(self, why: str) -> None:
        # Fail closed: nothing was sent for this bar (the intent could not be committed).
        if not self.degraded:
            log.error("store unavailable, trading paused: %s", why)
            bot_alerts.trading_paused(self.notifier, account=self.account, why=why)
        self.degraded = f"degraded: {why}"
        self.tally["store_unavailable"] += 1

    def _recover_if_degraded(self, *, now: datetime) -> None:
        if self.degraded:
            # Written once the store is back (it could not be while down): the go-live gate counts it.
            with self.uow_factory() as uow:
                uow.audit.append(AuditEntry(ts=now, kind=AuditKind.ERROR, severity="critical", account=self.account,
                                            message=f"trading was paused: {self.degraded}"))
                uow.commit()
            bot_alerts.trading_resumed(self.notifier, account=self.account, why=self.degraded)
            self.degraded = ""
