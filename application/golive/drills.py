"""The go-live drills, run on the real deployment and recorded in the audit trail (kind DRILL).

Kill switch: a resting order of the bot (placed by the running session itself:
application/trading/drill_orders.py), then the real halt (application/safety/halt.py) of that
bot, then the times from the halt to every open order of the bot cancelled and to the last
order submission, then the resume. Only the drilled bot's switch is thrown, not the global
one: the same switch, read and obeyed by the same supervision, without stopping other bots
or accounts (live ones among them) for the drill. The times are the drill's clock at the
moment the store shows what the session recorded (each cancel as the venue confirmed it,
each submission after the venue took it), polled every `poll_seconds`, and each cancel is
confirmed by asking the venue at the end; the drill never polls the venue during the
measurement, since that would spend the rate budget of the session it measures.

Failover (application/golive/failover.py): the LIVE instance holding the bots' leases is
SIGKILLed and the time until a STANDBY holds every lease and trades as LIVE is measured.

The checklist reads the latest record of each (`killswitch_item`, `failover_item`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from application.golive.checklist import ItemResult
from application.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, BotRunState, VenueOrderState, bot_scope
from application.safety.control import effective_control
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume
from application.trading.drill_orders import PLACED, REFUSED, REQUESTED, WITHDRAWN, DrillRequest, read_request, write_request
from domain.errors import RejectedError, TransientError
from domain.orders.order import OrderStatus
from domain.risk.trading_state import TradingState

KILLSWITCH, FAILOVER = "killswitch", "failover"
SUBMISSION_LIMIT_SECONDS = 1.0  # RELIABILITY.md 3: a halt blocks new submissions within 1 s
_ALL = 1_000_000


class DrillRefused(RejectedError):
    """Nothing was drilled (halted already, no session, no standby, ...): nothing is recorded."""


class VenueOrders(Protocol):
    """The venue's word on one order (every Broker is one; the simulated venue's journal read
    beside the session that holds it is another)."""

    def find_order(self, client_order_id: str) -> VenueOrderState | None: ...


# --- the kill switch -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class KillSwitchDrill:
    account: str  # the paper account the running session trades: paper, alpaca-paper, coinbase-sandbox
    bot: str
    venue: str  # simulated, alpaca or coinbase
    actor: str
    session_hint: str = "quantshift paper"  # how to start the session, for the message when none runs
    place_seconds: float = 15.0  # for the session to place the drill order and the venue to take it
    watch_seconds: float = 2.0  # watched after the halt at least: longer than the 1 s that is judged
    cancel_seconds: float = 15.0  # after this the cancels count as failed
    poll_seconds: float = 0.01


def killswitch_drill(command: KillSwitchDrill, *, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier,
                     venue: VenueOrders, sleep: Callable[[float], None]) -> AuditEntry:
    """Run the drill and record it; DrillRefused (nothing recorded) when it cannot start."""
    scope = bot_scope(command.account, command.bot)
    request = _request_drill_order(command, uow_factory=uow_factory, clock=clock, sleep=sleep)
    coid = request.client_order_id
    _wait_resting(command, coid, uow_factory=uow_factory, clock=clock, venue=venue, sleep=sleep)
    with uow_factory() as uow:
        watched = [o.client_order_id for o in uow.orders.open_orders(account=command.account, bot=command.bot)]
        since = request.requested_at - timedelta(minutes=1)
        submitted = len(uow.orders.submission_times(account=command.account, bot=command.bot, symbol=None, since=since))
    reason = f"kill-switch drill {request.request_id}"
    actor = f"drill:{command.actor}"
    cancelled: dict[str, float] = {}  # order -> seconds after the halt it stopped working at the venue
    closed_otherwise: dict[str, str] = {}  # of those, the ones that filled (or expired) instead
    finished: set[str] = set()
    submissions: list[float] = []
    elapsed = 0.0
    resumed, left = False, ""
    try:
        halted = halt(HaltCommand(reason=reason, actor=actor, scope=scope), uow_factory=uow_factory, clock=clock,
                      notifier=notifier)
        while True:
            elapsed = (clock.now() - halted.changed_at).total_seconds()
            with uow_factory() as uow:
                for order_id in watched:
                    order = uow.orders.get(order_id)
                    if order_id not in finished and (order is None or order.status.is_terminal):
                        # No longer working at the venue: cancelled, or filled before the cancel
                        # reached it (a fact, recorded as such: RELIABILITY.md 5).
                        finished.add(order_id)
                        cancelled[order_id] = elapsed
                        if order is not None and order.status is not OrderStatus.CANCELLED:
                            closed_otherwise[order_id] = order.status.value
                times = uow.orders.submission_times(account=command.account, bot=command.bot, symbol=None, since=since)
            # A submission is timed when the store first shows it (after the venue took it):
            # never earlier than it happened.
            submissions += [elapsed] * max(0, len(times) - submitted)
            submitted = max(submitted, len(times))
            if elapsed >= command.watch_seconds and (len(finished) == len(watched) or elapsed >= command.cancel_seconds):
                break
            sleep(command.poll_seconds)
    finally:
        resumed, left = _resume_own(scope, reason=reason, actor=actor, uow_factory=uow_factory, clock=clock,
                                    notifier=notifier)
    unconfirmed = _not_cancelled_at_venue(cancelled, venue=venue)
    for order_id in unconfirmed:
        cancelled.pop(order_id)
    return _record_killswitch(command, watched=watched, cancelled=cancelled, submissions=submissions,
                              elapsed=elapsed, resumed=resumed, left=left, unconfirmed=unconfirmed,
                              closed_otherwise=closed_otherwise, uow_factory=uow_factory, clock=clock)


def _request_drill_order(command: KillSwitchDrill, *, uow_factory: UnitOfWorkFactory, clock: Clock,
                         sleep: Callable[[float], None]) -> DrillRequest:
    now = clock.now()
    with uow_factory() as uow:
        _refuse_unless_drillable(uow, command, now=now)
        request = DrillRequest(request_id=uuid.uuid4().hex[:12], requested_at=now, state=REQUESTED)
        write_request(uow, account=command.account, bot=command.bot, request=request, at=now)
        uow.commit()
    deadline = now + timedelta(seconds=command.place_seconds)
    while True:
        with uow_factory() as uow:
            answer = read_request(uow, account=command.account, bot=command.bot)
            if answer is not None and answer.request_id == request.request_id and answer.state == PLACED:
                return answer
            if answer is not None and answer.request_id == request.request_id and answer.state == REFUSED:
                raise DrillRefused(f"kill-switch drill of {command.account}/{command.bot}: the session did not "
                                   f"place the drill order: {answer.detail}")
            if clock.now() >= deadline:
                write_request(uow, account=command.account, bot=command.bot, at=clock.now(),
                              request=attrs.evolve(request, state=WITHDRAWN, detail="not placed in time"))
                uow.commit()
                raise DrillRefused(
                    f"kill-switch drill of {command.account}/{command.bot}: the running session did not place the "
                    f"drill order within {command.place_seconds:g} s (a session of an older version, or stuck); "
                    "nothing was halted")
        sleep(0.05)


def _refuse_unless_drillable(uow: UnitOfWork, command: KillSwitchDrill, *, now: datetime) -> None:
    where = f"{command.account}/{command.bot}"
    control = effective_control(uow, account=command.account, bot=command.bot)
    if control is not None and control.state is not TradingState.ACTIVE:
        which = "the global switch" if control.scope == "*" else f"bot {control.scope}"
        raise DrillRefused(
            f"kill-switch drill of {where} refused: {which} is {control.state.value} ({control.reason}, by "
            f"{control.actor}); the drill never lifts a switch it did not set: resume first, then drill")
    beats = [b for b in uow.heartbeats.list(account=command.account) if b.bot == command.bot]
    running = [b for b in beats if b.run_state is BotRunState.RUNNING
               and (now - b.beat_at).total_seconds() <= 2 * b.interval_seconds]
    if not running:
        raise DrillRefused(f"kill-switch drill of {where}: no running session trades bot {command.bot} on account "
                           f"{command.account} (no fresh heartbeat): start `{command.session_hint}` first; "
                           "nothing was drilled or recorded")
    pending = read_request(uow, account=command.account, bot=command.bot)
    if pending is not None and pending.state == REQUESTED and now - pending.requested_at < timedelta(seconds=30):
        raise DrillRefused(f"kill-switch drill of {where}: another drill is under way (request "
                           f"{pending.request_id}, {pending.requested_at:%H:%M:%S}); wait for it")


def _wait_resting(command: KillSwitchDrill, coid: str, *, uow_factory: UnitOfWorkFactory, clock: Clock,
                  venue: VenueOrders, sleep: Callable[[float], None]) -> None:
    """Until the venue has acknowledged the drill order (the halt must find it resting there)."""
    deadline = clock.now() + timedelta(seconds=command.place_seconds)
    status: OrderStatus | None = None
    while clock.now() < deadline:
        with uow_factory() as uow:
            order = uow.orders.get(coid)
        status = order.status if order is not None else None
        if status is not None and status.is_terminal:
            break
        if status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            try:
                seen = venue.find_order(coid)
            except TransientError:
                seen = None
            if seen is not None and not seen.status.is_terminal:
                return
        sleep(0.02)
    raise DrillRefused(f"kill-switch drill of {command.account}/{command.bot}: the drill order {coid} is not resting "
                       f"at the venue ({status.value if status else 'not recorded'} after "
                       f"{command.place_seconds:g} s); nothing was halted")


def _resume_own(scope: str, *, reason: str, actor: str, uow_factory: UnitOfWorkFactory, clock: Clock,
                notifier: Notifier) -> tuple[bool, str]:
    """Lift the drill's own halt, and nothing else: (resumed, what holds instead)."""
    with uow_factory() as uow:
        control = uow.control.get(scope)
    if control is None or control.state is TradingState.ACTIVE:
        return False, "the drill's halt was never written"
    if (control.actor, control.reason) != (actor, reason):
        # Somebody (an operator, a breaker) set the switch during the drill: theirs to lift.
        return False, f"left {control.state.value}: {control.reason} (by {control.actor}) came in during the drill"
    resume(ResumeCommand(actor=actor, scope=scope, reason=f"{reason} finished"), uow_factory=uow_factory,
           clock=clock, notifier=notifier)
    return True, ""


def _not_cancelled_at_venue(cancelled: dict[str, float], *, venue: VenueOrders) -> list[str]:
    """The orders the store shows cancelled but the venue still has working (or cannot say)."""
    unconfirmed = []
    for order_id in cancelled:
        try:
            seen = venue.find_order(order_id)
        except TransientError:
            unconfirmed.append(order_id)
            continue
        if seen is not None and not seen.status.is_terminal:
            unconfirmed.append(order_id)
    return unconfirmed


def _record_killswitch(command: KillSwitchDrill, *, watched: list[str], cancelled: dict[str, float],
                       submissions: list[float], elapsed: float, resumed: bool, left: str, unconfirmed: list[str],
                       closed_otherwise: dict[str, str], uow_factory: UnitOfWorkFactory, clock: Clock) -> AuditEntry:
    every = bool(watched) and len(cancelled) == len(watched)
    cancel_seconds = max(cancelled.values()) if every else elapsed
    late = sum(1 for s in submissions if s > SUBMISSION_LIMIT_SECONDS)
    passed = every and late == 0 and resumed
    problems = []
    if not every:
        problems.append(f"{len(watched) - len(cancelled)} of {len(watched)} open orders not cancelled at the venue "
                        f"after {elapsed:.2f} s" + (f" ({', '.join(unconfirmed)} still working there)" if unconfirmed else ""))
    if late:
        problems.append(f"{late} submission(s) more than {SUBMISSION_LIMIT_SECONDS:g} s after the halt")
    if not resumed:
        problems.append(f"not resumed: {left}")
    last = max(submissions) if submissions else None
    detail = ("; ".join(problems) if problems else
              f"every open order ({len(watched)}) cancelled at the venue {cancel_seconds:.3f} s after the halt; "
              + ("no submission after the halt" if last is None else f"last submission {last:.3f} s after the halt")
              + "; resumed"
              + (f" ({len(closed_otherwise)} of them {', '.join(sorted(set(closed_otherwise.values())))} before the "
                 "cancel reached the venue)" if closed_otherwise else ""))
    entry = AuditEntry(
        ts=clock.now(), kind=AuditKind.DRILL, account=command.account, bot=command.bot,
        severity="info" if passed else "warning",
        message=f"kill-switch drill of {command.account}/{command.bot} on {command.venue}: "
                f"{'PASSED' if passed else 'FAILED'}: {detail}",
        data={"drill": KILLSWITCH, "venue": command.venue, "orders_open": len(watched),
              "orders_cancelled": len(cancelled), "cancel_seconds": round(cancel_seconds, 4),
              "last_submission_seconds": None if last is None else round(last, 4),
              "submissions_after_1s": late, "resumed": resumed, "passed": passed, "detail": detail},
    )
    with uow_factory() as uow:
        uow.audit.append(entry)
        uow.commit()
    return entry


# --- the records, as the checklist reads them ----------------------------------------------


def latest_drill(uow: UnitOfWork, *, kind: str, bot: str | None) -> AuditEntry | None:
    """The newest drill record of `kind` (killswitch, failover), of `bot` when given."""
    entries = [e for e in uow.audit.list(kind=AuditKind.DRILL.value, limit=_ALL)
               if e.data.get("drill") == kind and (bot is None or e.bot == bot)]
    return max(entries, key=lambda e: e.ts) if entries else None


def killswitch_item(uow: UnitOfWork, *, bot: str, now: datetime, max_age: timedelta = timedelta(days=7)) -> ItemResult:
    """The latest kill-switch drill of the bot: within max_age, every open order cancelled, no
    submission after 1 s, resumed. A failed drill after a passing one fails the item."""
    run = f"run `quantshift drill killswitch --bot {bot}` with its `quantshift paper` session running"
    requirement = (f"kill switch drilled within {_days(max_age)}: every open order cancelled, "
                   f"no submission after {SUBMISSION_LIMIT_SECONDS:g} s")
    entry = latest_drill(uow, kind=KILLSWITCH, bot=bot)
    if entry is None:
        return _item("Risk management", "kill switch drilled", requirement, "never drilled", False, run)
    d = entry.data
    last = d.get("last_submission_seconds")
    figure = (f"{entry.ts:%Y-%m-%d %H:%M} UTC on {d.get('venue')}: {d.get('orders_cancelled')}/{d.get('orders_open')} "
              f"orders cancelled in {float(d.get('cancel_seconds') or 0):.2f} s, last submission "
              + ("none" if last is None else f"{float(last):.2f} s") + f", {d.get('submissions_after_1s')} after 1 s")
    problems = []
    if now - entry.ts > max_age:
        problems.append(f"the latest drill is {_days(now - entry.ts)} old (more than {_days(max_age)})")
    if not (d.get("passed") and int(d.get("orders_open") or 0) >= 1
            and d.get("orders_cancelled") == d.get("orders_open") and d.get("submissions_after_1s") == 0):
        problems.append(f"the latest drill failed: {d.get('detail')}")
    return _item("Risk management", "kill switch drilled", requirement, figure, not problems,
                 "; ".join(problems) + (f"; {run}" if problems else ""))


def failover_item(uow: UnitOfWork, *, now: datetime, max_age: timedelta = timedelta(days=7)) -> ItemResult:
    """The latest failover drill: within max_age, a standby took over and traded as LIVE."""
    run = ("run `quantshift drill failover` on the Postgres store with a STANDBY instance heartbeating "
           "(SQLite has no standby; see docs/golive.md)")
    requirement = f"failover drilled within {_days(max_age)}: a STANDBY took over the leases and traded as LIVE"
    entry = latest_drill(uow, kind=FAILOVER, bot=None)
    if entry is None:
        return _item("Infrastructure", "failover drilled", requirement, "never drilled", False, run)
    d = entry.data
    figure = (f"{entry.ts:%Y-%m-%d %H:%M} UTC: {d.get('to_instance') or 'no standby'} took over from "
              f"{d.get('from_instance')} in {float(d.get('takeover_seconds') or 0):.2f} s")
    problems = []
    if now - entry.ts > max_age:
        problems.append(f"the latest drill is {_days(now - entry.ts)} old (more than {_days(max_age)})")
    if not d.get("passed"):
        problems.append(f"the latest drill failed: {d.get('detail')}")
    return _item("Infrastructure", "failover drilled", requirement, figure, not problems,
                 "; ".join(problems) + (f"; {run}" if problems else ""))


def _item(section: str, item: str, requirement: str, figure: str, passed: bool, detail: str) -> ItemResult:
    return ItemResult(section=section, item=item, requirement=requirement, figure=figure, passed=passed,
                      detail="" if passed else detail)


def _days(age: timedelta) -> str:
    if age >= timedelta(days=1):
        days = age.total_seconds() / 86400
        return f"{days:.0f} days" if days >= 1.95 else "1 day"
    return f"{age.total_seconds() / 3600:.0f} h"
