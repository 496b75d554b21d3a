"""Staged deployment: probation, promotion and demotion of a live bot (docs/golive.md).

A certified bot starts live on probation: its entries capped to a fraction of the per-order
notional limit and of its capital (domain/risk/probation_cap.py, carried on its BotSpec), for a
number of trading days. While it runs, each evaluation (ProbationMonitor, ticked by the session
with its venue monitors) compares its live record with the band its paper record predicts
(domain/analytics/probation.py):

- within the band after the days: PROMOTED, full size at once (the cap leaves its spec);
- out of the band at any evaluation: DEMOTED, its live entries stop (the cap denies them, and
  its trading state is REDUCING so status says so; exits keep working), a critical alert, and
  it goes back to paper: its next go-live needs a new check and certificate.

Every decision is a GOLIVE audit entry (probation_started / promoted / demoted) with its figures:
the stage of a bot is its latest such entry, so a restart carries on where it stood.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import AlertLevel, Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, ControlState, bot_scope
from application.safety.halt import set_trading_state
from application.golive.shadow import fidelity
from application.trading.bot_state import BotState
from domain.analytics.performance import max_drawdown, win_rate
from domain.analytics.probation import (
    BandVerdict,
    LiveRecord,
    PaperRecord,
    ProbationPolicy,
    Step,
    evaluate_band,
    next_step,
    probation_drawdown,
)
from domain.risk.probation_cap import ProbationCap, percent
from domain.risk.trading_state import TradingState

log = logging.getLogger(__name__)

ACTOR = "golive-probation"  # who set a demoted bot's REDUCING state
STARTED, PROMOTED, DEMOTED = "probation_started", "promoted", "demoted"
_EVENTS = (STARTED, PROMOTED, DEMOTED)
_ALL = 10_000_000

# (asset class "equity" | "crypto", since, now) -> trading sessions begun after the one `since`
# falls in, up to `now`: NYSE sessions for equity, UTC days for crypto (entrypoints give it).
TradingDays = Callable[[str, datetime, datetime], int]


def probation_entries(uow: UnitOfWork, *, bot: str) -> list[AuditEntry]:
    """The bot's probation decisions, oldest first."""
    return [e for e in uow.audit.list(kind=AuditKind.GOLIVE.value, limit=_ALL)
            if e.bot == bot and e.data.get("event") in _EVENTS]


def latest_probation(uow: UnitOfWork, *, bot: str) -> AuditEntry | None:
    entries = probation_entries(uow, bot=bot)
    return entries[-1] if entries else None


def demoted_since(uow: UnitOfWork, *, bot: str) -> datetime | None:
    """When the bot was last demoted, if that is its latest probation decision: a certificate
    issued before it no longer takes the bot live (the gate's current_certificate reads this)."""
    latest = latest_probation(uow, bot=bot)
    return latest.ts if latest is not None and latest.data.get("event") == DEMOTED else None


def _cap(entry: AuditEntry, *, stopped: str = "") -> ProbationCap:
    return ProbationCap(fraction=Decimal(str(entry.data.get("fraction", "0"))),
                        label=f"probation since {entry.ts.date().isoformat()}, {entry.data.get('days')} trading days",
                        entries_stopped=stopped)


def begin_live(uow: UnitOfWork, *, bot: str, account: str, fingerprint: str, certificate_id: str, now: datetime,
               policy: ProbationPolicy, actor: str = "live") -> ProbationCap | None:
    """At a live start, per bot: the cap to put on its spec (None: promoted, full size). A bot
    promoted for this fingerprint stays promoted; one on probation for it carries on (a renewed
    certificate does not restart the days); anything else starts a probation now. A bot demoted
    under this very certificate gets a cap that denies every entry (the gate should have refused it)."""
    latest = latest_probation(uow, bot=bot)
    if latest is not None and latest.data.get("fingerprint") == fingerprint and latest.account == account:
        event = latest.data.get("event")
        if event == PROMOTED:
            return None
        if event == STARTED:
            return _cap(latest)
        if event == DEMOTED and latest.data.get("certificate_id") == certificate_id:
            return _cap(latest, stopped=f"{latest.data.get('reason', '')} (on {latest.ts.date().isoformat()}); "
                                        "a new go-live check and certificate are needed")
    entry = AuditEntry(
        ts=now, kind=AuditKind.GOLIVE, account=account, bot=bot,
        message=f"{bot} live on probation: {percent(policy.fraction)} of its size for {policy.days} trading days",
        data={"event": STARTED, "fraction": str(policy.fraction), "days": policy.days, "figures": {},
              "reason": "certified bot starting live", "fingerprint": fingerprint, "certificate_id": certificate_id,
              "actor": actor},
    )
    uow.audit.append(entry)
    return _cap(entry)


def paper_record(uow: UnitOfWork, *, bot: str, fallback: PaperRecord) -> PaperRecord:
    """The bot's current paper epoch (its latest VALIDATION epoch_started): the round trips closed
    and the equity since it began on its paper account. Without one, `fallback` (the go-live criteria)."""
    epochs = [e for e in uow.audit.list(kind=AuditKind.VALIDATION.value, limit=_ALL)
              if e.bot == bot and e.data.get("event") == "epoch_started"]
    if not epochs:
        return fallback
    epoch = epochs[-1]
    trips = [t for _, t in uow.trades.list(account=epoch.account, bot=bot) if t.closed_at >= epoch.ts]
    curve = [p.equity for _, p in uow.equity.list(account=epoch.account, bot=bot) if p.ts >= epoch.ts]
    return PaperRecord(win_rate=win_rate(trips), max_drawdown=max_drawdown(curve), round_trips=len(trips),
                       source=f"paper epoch {epoch.data.get('epoch')} on {epoch.account} since "
                              f"{epoch.ts.date().isoformat()}")


@attrs.frozen(kw_only=True)
class Evaluation:
    bot: str
    account: str
    started: AuditEntry
    trading_days: int
    paper: PaperRecord
    live: LiveRecord
    verdict: BandVerdict
    step: Step
    reason: str

    def figures(self) -> dict[str, object]:
        return {
            "trading_days": self.trading_days,
            "paper": {"win_rate": round(self.paper.win_rate, 6), "max_drawdown": round(self.paper.max_drawdown, 6),
                      "round_trips": self.paper.round_trips, "source": self.paper.source},
            "live": {"win_rate": round(self.live.win_rate, 6), "max_drawdown": round(self.live.max_drawdown, 6),
                     "round_trips": self.live.round_trips,
                     "slippage_bps": None if self.live.slippage_bps is None else round(self.live.slippage_bps, 4),
                     "paired_fills": self.live.paired_fills},
            "band": [c.to_json() for c in self.verdict.checks],
        }


def evaluate(uow: UnitOfWork, *, bot: str, asset_class: str, now: datetime, policy: ProbationPolicy,
             trading_days: TradingDays, fallback: PaperRecord) -> Evaluation | None:
    """The probation's next step from the store (None: the bot is not on probation)."""
    started = latest_probation(uow, bot=bot)
    if started is None or started.data.get("event") != STARTED:
        return None
    account, since = started.account, started.ts
    fraction = Decimal(str(started.data.get("fraction", policy.fraction)))
    trips = [t for _, t in uow.trades.list(account=account, bot=bot) if t.closed_at >= since]
    curve = [p.equity for _, p in uow.equity.list(account=account, bot=bot) if p.ts >= since]
    twins = fidelity(uow, live_account=account, bot=bot, since=since)
    live = LiveRecord(round_trips=len(trips), win_rate=win_rate(trips),
                      max_drawdown=probation_drawdown(curve, fraction=fraction),
                      slippage_bps=twins.mean_bps, paired_fills=len(twins.priced))
    paper = paper_record(uow, bot=bot, fallback=fallback)
    verdict = evaluate_band(policy.band, paper=paper, live=live)
    days = trading_days(asset_class, since, now)
    step = next_step(attrs.evolve(policy, days=int(started.data.get("days", policy.days))),  # type: ignore[arg-type]
                     verdict=verdict, trading_days=days, live=live)
    return Evaluation(bot=bot, account=account, started=started, trading_days=days, paper=paper, live=live,
                      verdict=verdict, step=step.step, reason=step.reason)


def record(uow: UnitOfWork, evaluation: Evaluation, *, now: datetime) -> AuditEntry | None:
    """The promoted / demoted entry for a decided evaluation (None: the probation goes on)."""
    if evaluation.step is Step.CONTINUE:
        return None
    event = PROMOTED if evaluation.step is Step.PROMOTE else DEMOTED
    started = evaluation.started
    entry = AuditEntry(
        ts=now, kind=AuditKind.GOLIVE, account=evaluation.account, bot=evaluation.bot,
        severity="info" if event == PROMOTED else "critical",
        message=(f"{evaluation.bot} promoted to full size: {evaluation.reason}" if event == PROMOTED else
                 f"{evaluation.bot} demoted back to paper: {evaluation.reason}"),
        data={"event": event, "fraction": str(started.data.get("fraction")), "days": started.data.get("days"),
              "figures": evaluation.figures(), "reason": evaluation.reason,
              "fingerprint": started.data.get("fingerprint"), "certificate_id": started.data.get("certificate_id"),
              "probation_started": started.ts.isoformat()},
    )
    uow.audit.append(entry)
    return entry


@attrs.define(kw_only=True)
class ProbationMonitor:
    """Ticked by the live session with its venue monitors (PaperSession.monitors): every
    `every_seconds` of wall time it evaluates each bot on probation and acts on the step.
    Never raises: a failed evaluation is logged and tried again at the next interval."""

    uow_factory: UnitOfWorkFactory
    notifier: Notifier
    clock: Clock
    policy: ProbationPolicy
    trading_days: TradingDays
    fallback: PaperRecord
    asset_class: Callable[[BotState], str]
    states: Callable[[], Sequence[BotState]] = lambda: ()  # the live session's bots (attach)
    # The shadow's bots: a promoted bot's shadow goes to full size with it, so the two still
    # send the same quantities and the fidelity figures compare like with like.
    mirrors: Callable[[], Sequence[BotState]] = lambda: ()
    every_seconds: float = 60.0
    _last: datetime | None = None

    def attach(self, states: Callable[[], Sequence[BotState]],
               mirrors: Callable[[], Sequence[BotState]] | None = None) -> None:
        self.states = states
        if mirrors is not None:
            self.mirrors = mirrors

    def tick(self, *, now: datetime) -> None:
        wall = self.clock.now()
        if self._last is not None and (wall - self._last).total_seconds() < self.every_seconds:
            return
        self._last = wall
        for state in self.states():
            if state.spec.probation is None or state.spec.probation.entries_stopped:
                continue
            try:
                self.check(state, now=now)
            except Exception:  # noqa: BLE001 - a monitor never takes the session down
                log.exception("probation evaluation of %s failed; tried again in %ss", state.name, self.every_seconds)

    def check(self, state: BotState, *, now: datetime) -> Evaluation | None:
        with self.uow_factory() as uow:
            evaluation = evaluate(uow, bot=state.name, asset_class=self.asset_class(state), now=now,
                                  policy=self.policy, trading_days=self.trading_days, fallback=self.fallback)
            if evaluation is None or evaluation.step is Step.CONTINUE:
                return evaluation
            record(uow, evaluation, now=now)
            uow.commit()
        if evaluation.step is Step.PROMOTE:
            state.spec = attrs.evolve(state.spec, probation=None)
            for twin in self.mirrors():
                if twin.name == state.name:
                    twin.spec = attrs.evolve(twin.spec, probation=None)
            self.notifier.notify(level=AlertLevel.INFO, title=f"bot {state.name} promoted to full size",
                                 body=evaluation.reason)
            return evaluation
        cap = state.spec.probation or _cap(evaluation.started)
        state.spec = attrs.evolve(state.spec, probation=attrs.evolve(cap, entries_stopped=evaluation.reason))
        # REDUCING: status and the risk engine show it at once; the cap keeps entries stopped even
        # if an operator resumes the bot (only a new certificate brings it back live).
        set_trading_state(ControlState(scope=bot_scope(state.account, state.name), state=TradingState.REDUCING,
                                       reason=f"demoted from live probation: {evaluation.reason}", actor=ACTOR,
                                       changed_at=now), uow_factory=self.uow_factory)
        state.trading_state, state.trading_actor = TradingState.REDUCING, ACTOR
        self.notifier.notify(level=AlertLevel.CRITICAL, title=f"bot {state.name} demoted from live: back to paper",
                             body=f"{evaluation.reason}; live entries stopped, exits keep working; a new go-live "
                                  "check and certificate are needed")
        return evaluation
