"""The validation clock: how long, and how well, a bot has paper-traded as it is configured now.

A bot's record is counted per epoch. An epoch is bound to the bot's fingerprint (its strategy
and code, parameters, symbols, sizing, stops, risk limits, QuantShift's version) and to the one
real-time paper account it is earned on; any change of either starts a new epoch, recorded in
the append-only audit trail (kind VALIDATION, data["event"] == "epoch_started") with what
changed. Only real-time paper trading counts: the continuous `paper` session on the simulated
venue, Alpaca's paper account and Coinbase's sandbox. An accelerated `paper --days N` (or a
`--data` replay) runs in an account of its own (sim-0001, ...), which can never hold an epoch.

Every figure is measured from the epoch's start on: the days the bot actually ran (an NYSE
session for an equity bot, a UTC day for a crypto bot, with a stored equity point or the
current heartbeat in it), its round trips opened and closed since, their win rate, the largest
fall of its equity from a peak (net of capital the allocator moved), and the critical events of
the bot or of its account as a whole.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import attrs

from application.golive.checklist import ItemResult
from application.golive.drills import FAILOVER
from application.golive.fingerprint import BotFingerprint
from application.golive.ports import TradingCalendar, TradingSession
from application.ports import UnitOfWork
from application.records import AuditEntry, AuditKind
from application.trading.loss_limits import DRAWDOWN_ACTOR
from domain.analytics.golive import Criterion, GoLiveCriteria
from domain.analytics.performance import win_rate
from domain.display import percent
from domain.errors import ConfigurationError
from domain.risk.circuit_breakers import EquityWatermark

# The store accounts whose trading is real time on a paper venue (entrypoints/venues.account_name).
REAL_TIME_PAPER_ACCOUNTS = ("paper", "alpaca-paper", "coinbase-sandbox")
EPOCH_STARTED = "epoch_started"
SECTION = "Bot validation"
_ALL = 10**9  # "every entry": the audit and trade reads are bounded by the epoch's start instead
# Halts the machinery imposes on a failing bot (order-rate throttle, reconciliation mismatch, a lost
# order, the drawdown breaker) count against its record. An operator's halt, or a kill-switch
# drill's, is a person using the switch, not the bot failing: it does not.
_AUTOMATIC_HALTS = frozenset({"risk-engine", "reconciliation", "in-flight check", DRAWDOWN_ACTOR})


@attrs.frozen(kw_only=True)
class ValidationEpoch:
    bot: str
    account: str
    number: int
    started_at: datetime
    fingerprint: str  # the digest
    ingredients: Mapping[str, object] = attrs.field(factory=dict)
    changed: tuple[str, ...] = ()
    reason: str = ""
    actor: str = ""

    @property
    def short(self) -> str:
        return self.fingerprint[:12]

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> ValidationEpoch:
        data = entry.data
        return cls(bot=entry.bot, account=entry.account, number=int(data["epoch"]),  # type: ignore[call-overload]
                   started_at=entry.ts, fingerprint=str(data["fingerprint"]),
                   ingredients=dict(data.get("ingredients") or {}),  # type: ignore[call-overload]
                   changed=tuple(str(n) for n in data.get("changed") or ()),  # type: ignore[attr-defined]
                   reason=str(data.get("reason", "")), actor=str(data.get("actor", "")))

    def to_json(self) -> dict[str, object]:
        return {"bot": self.bot, "account": self.account, "epoch": self.number,
                "started_at": self.started_at.isoformat(), "fingerprint": self.fingerprint,
                "changed": list(self.changed), "reason": self.reason, "actor": self.actor}


@attrs.frozen(kw_only=True)
class ValidationStatus:
    bot: str
    asset_class: str  # "equity": NYSE sessions; "crypto": UTC days
    as_of: datetime
    epoch: ValidationEpoch | None  # None: the bot never traded in real time on a paper account
    trading_days: int
    round_trips: int
    win_rate: float
    max_drawdown: float
    critical_events: tuple[AuditEntry, ...]
    criteria: tuple[Criterion, ...]
    required: GoLiveCriteria = attrs.field(factory=GoLiveCriteria)  # the thresholds the criteria were evaluated against
    days: tuple[date, ...] = ()  # the days counted, oldest first

    @property
    def passed(self) -> bool:
        return self.epoch is not None and all(c.passed for c in self.criteria)

    @property
    def day_unit(self) -> str:
        return "NYSE sessions" if self.asset_class == "equity" else "UTC days"

    def to_json(self) -> dict[str, object]:
        return {
            "bot": self.bot, "asset_class": self.asset_class, "as_of": self.as_of.isoformat(),
            "epoch": self.epoch.to_json() if self.epoch else None,
            "trading_days": self.trading_days, "day_unit": self.day_unit,
            "days": [d.isoformat() for d in self.days],
            "round_trips": self.round_trips, "win_rate": round(self.win_rate, 6),
            "max_drawdown": round(self.max_drawdown, 6),
            "critical_events": [{"ts": e.ts.isoformat(), "kind": e.kind.value, "account": e.account, "bot": e.bot,
                                 "message": e.message} for e in self.critical_events],
            "criteria": [{"name": c.name, "requirement": c.requirement, "value": c.value, "passed": c.passed}
                         for c in self.criteria],
            "passed": self.passed,
        }


def current_epoch(uow: UnitOfWork, *, bot: str) -> ValidationEpoch | None:
    """The bot's latest epoch_started entry, on whichever account."""
    entries = [e for e in uow.audit.list(kind=AuditKind.VALIDATION.value, limit=_ALL)
               if e.bot == bot and e.data.get("event") == EPOCH_STARTED]
    return ValidationEpoch.from_entry(entries[-1]) if entries else None


def ensure_epoch(uow: UnitOfWork, *, fingerprint: BotFingerprint, account: str, now: datetime,
                 actor: str = "session") -> ValidationEpoch:
    """The bot's current epoch when it is for this fingerprint and account; else a new one,
    appended to `uow` (the caller commits). Refuses an account that is not real-time paper."""
    current = current_epoch(uow, bot=fingerprint.bot)
    if current is not None and current.fingerprint == fingerprint.digest and current.account == account:
        return current
    if current is None:
        reason = "first run"
    elif current.fingerprint != fingerprint.digest:
        reason = "configuration changed"
    else:
        reason = "account changed"
    return _start(uow, fingerprint=fingerprint, account=account, now=now, actor=actor, reason=reason, current=current)


def restart_epoch(uow: UnitOfWork, *, fingerprint: BotFingerprint, account: str, now: datetime, reason: str,
                  actor: str) -> ValidationEpoch:
    """A new epoch whatever the current one is (`validation reset`): reason "reset: <reason>"."""
    return _start(uow, fingerprint=fingerprint, account=account, now=now, actor=actor, reason=f"reset: {reason}",
                  current=current_epoch(uow, bot=fingerprint.bot))


def _start(uow: UnitOfWork, *, fingerprint: BotFingerprint, account: str, now: datetime, actor: str, reason: str,
           current: ValidationEpoch | None) -> ValidationEpoch:
    if account not in REAL_TIME_PAPER_ACCOUNTS:
        raise ConfigurationError(
            f"validation epoch of bot {fingerprint.bot}: account {account!r} is not real-time paper trading "
            f"(only {', '.join(REAL_TIME_PAPER_ACCOUNTS)} count; accelerated sessions never certify)")
    changed = tuple(fingerprint.changes_from(current.ingredients)) if current is not None else ()
    epoch = ValidationEpoch(bot=fingerprint.bot, account=account, number=(current.number + 1) if current else 1,
                            started_at=now, fingerprint=fingerprint.digest, ingredients=fingerprint.ingredients,
                            changed=changed, reason=reason, actor=actor)
    what = f" ({', '.join(changed)})" if changed else ""
    uow.audit.append(AuditEntry(
        ts=now, kind=AuditKind.VALIDATION, account=account, bot=fingerprint.bot,
        message=f"validation epoch {epoch.number} of bot {fingerprint.bot} started on {account}: {reason}{what}",
        data={"event": EPOCH_STARTED, "epoch": epoch.number, "fingerprint": epoch.fingerprint,
              "ingredients": dict(epoch.ingredients), "changed": list(changed), "reason": reason, "actor": actor},
    ))
    return epoch


def validation_status(uow: UnitOfWork, *, bot: str, asset_class: str, now: datetime, criteria: GoLiveCriteria,
                      calendar: TradingCalendar) -> ValidationStatus:
    epoch = current_epoch(uow, bot=bot)
    if epoch is None:
        return ValidationStatus(bot=bot, asset_class=asset_class, as_of=now, epoch=None, trading_days=0,
                                round_trips=0, win_rate=0.0, max_drawdown=0.0, critical_events=(), required=criteria,
                                criteria=criteria.evaluate(trading_days=0, round_trips=0, win_rate=0.0,
                                                           max_drawdown=0.0, critical_errors=0))
    start, account = epoch.started_at, epoch.account
    points = [(p.ts, p.equity) for _, p in uow.equity.list(account=account, bot=bot) if start <= p.ts <= now]
    spans = [(max(b.started_at, start), min(b.beat_at, now)) for b in uow.heartbeats.list(account=account)
             if b.bot == bot and b.beat_at >= start]
    days = _days_run(asset_class, points=[ts for ts, _ in points], spans=spans, start=start, now=now,
                     calendar=calendar)
    _, rows = uow.trades.page(account=account, bots=[bot], since=start, limit=_ALL)
    # A trip opened before the epoch was entered by the earlier configuration: not this one's evidence.
    trips = [trip for _, trip in rows if trip.opened_at >= start and trip.closed_at <= now]
    flows = [(r.ts, r.equity, r.transfer) for r in uow.allocations.list(account=account, bot=bot)
             if r.transfer and start <= r.ts <= now]
    drawdown = _max_drawdown(points, flows=flows)
    events = critical_events(uow, epoch=epoch, now=now)
    rate = win_rate(trips)
    return ValidationStatus(
        bot=bot, asset_class=asset_class, as_of=now, epoch=epoch, trading_days=len(days), days=tuple(days),
        round_trips=len(trips), win_rate=rate, max_drawdown=drawdown, critical_events=events, required=criteria,
        criteria=criteria.evaluate(trading_days=len(days), round_trips=len(trips), win_rate=rate,
                                   max_drawdown=drawdown, critical_errors=len(events)))


def critical_events(uow: UnitOfWork, *, epoch: ValidationEpoch, now: datetime) -> tuple[AuditEntry, ...]:
    """Critical entries since the epoch's start of the bot, or of its account with no bot named (a
    reconciliation mismatch, a store outage): crashes, mismatches, throttle and other automatic halts,
    strategy exceptions, store outages, failed cancels, corrected fills. Every one of them is written
    as kind error or halt (an order or fill entry that is critical comes with one of those)."""
    entries = uow.audit.list(account=epoch.account, since=epoch.started_at, limit=_ALL,
                             kinds=(AuditKind.ERROR.value, AuditKind.HALT.value, AuditKind.DRILL.value))
    drilled = _drill_kills(entries)
    return tuple(e for e in entries if e.kind is not AuditKind.DRILL and e.severity == "critical" and e.ts <= now
                 and e.bot in (epoch.bot, "")
                 and (e.kind is not AuditKind.HALT or e.data.get("actor") in _AUTOMATIC_HALTS)
                 and not _killed_by_drill(e, drilled))


def _drill_kills(entries: Sequence[AuditEntry]) -> dict[str, datetime]:
    """The instances ("pid@host") a failover drill killed on purpose, with when the drill ended."""
    return {str(d.data["from_instance"]): d.ts for d in entries
            if d.kind is AuditKind.DRILL and d.data.get("drill") == FAILOVER and d.data.get("from_instance")}


def _killed_by_drill(entry: AuditEntry, drilled: Mapping[str, datetime]) -> bool:
    """The failover drill SIGKILLs the LIVE instance, and the next start rightly audits that as an
    unclean end; it is the drill's evidence, not a crash of the bot. Only that instance's entry,
    written at its last heartbeat (before the drill's record), is exempt: any other crash counts."""
    if entry.data.get("event") != "unclean_end":
        return False
    ended = drilled.get(f"{entry.data.get('pid')}@{entry.data.get('host')}")
    return ended is not None and entry.ts <= ended


def _days_run(asset_class: str, *, points: Sequence[datetime], spans: Sequence[tuple[datetime, datetime]],
              start: datetime, now: datetime, calendar: TradingCalendar) -> list[date]:
    """The days the bot ran: crypto, every UTC day with an equity point or inside the current run;
    equity, every NYSE session with a point inside it (bars end in (open, close]) or that the run
    overlaps."""
    if asset_class != "equity":
        found = {ts.astimezone(timezone.utc).date() for ts in points}
        for begin, end in spans:
            day = begin.astimezone(timezone.utc).date()
            while day <= end.astimezone(timezone.utc).date():
                found.add(day)
                day += timedelta(days=1)
        return sorted(found)
    sessions: Sequence[TradingSession] = calendar.sessions(start=(start - timedelta(days=1)).date(),
                                                           end=(now + timedelta(days=1)).date())
    ordered = sorted(points)
    counted = []
    for session in sessions:
        if session.close <= start or session.open > now:
            continue
        ran = _any_between(ordered, session.open, session.close) or any(
            begin < session.close and end > session.open for begin, end in spans)
        if ran:
            counted.append(session.day)
    return counted


def _any_between(ordered: Sequence[datetime], low: datetime, high: datetime) -> bool:
    """A point in (low, high] of the sorted `ordered`."""
    index = bisect.bisect_right(ordered, low)
    return index < len(ordered) and ordered[index] <= high


def _max_drawdown(points: Sequence[tuple[datetime, Decimal]],
                  *, flows: Sequence[tuple[datetime, Decimal, Decimal]]) -> float:
    """The largest fall from a peak of the bot's equity since the epoch's start, time-weighted:
    capital moved in or out scales the peak with the equity, so a transfer is never a loss."""
    mark: EquityWatermark | None = None
    worst = Decimal(0)
    pending = sorted(flows, key=lambda f: f[0])
    index = 0
    for ts, equity in sorted(points, key=lambda p: p[0]):
        while index < len(pending) and pending[index][0] <= ts:
            _, before, amount = pending[index]
            if mark is not None:
                mark = mark.observe(before).after_flow(equity_before=before, amount=amount)
            index += 1
        mark = EquityWatermark(equity) if mark is None else mark.observe(equity)
        worst = max(worst, mark.drawdown(equity))
    return float(worst)


def validation_items(status: ValidationStatus) -> list[ItemResult]:
    """The checklist's "Bot validation" section, from a status."""
    by_name = {c.name: c for c in status.criteria}
    epoch = status.epoch
    if epoch is None:
        where = "no validation epoch yet"
        start_it = ("run the bot in real time on a paper account (`quantshift paper`, `--broker alpaca`, or "
                    "`--broker coinbase --sandbox`); accelerated sessions never count")
    else:
        where = (f"epoch {epoch.number} on {epoch.account} since {epoch.started_at:%Y-%m-%d %H:%M}Z, "
                 f"fingerprint {epoch.short}")
        start_it = ""
    days, trips, rate, drawdown, critical = (by_name[n] for n in (
        "trading_days", "round_trips", "win_rate", "max_drawdown", "critical_errors"))

    def item(name: str, criterion: Criterion, requirement: str, figure: str, todo: str) -> ItemResult:
        ok = criterion.passed and epoch is not None
        return ItemResult(section=SECTION, item=name, requirement=requirement, figure=figure, passed=ok,
                          detail="" if ok else (start_it or todo))

    events = status.critical_events
    return [
        item("paper trading days", days, f"{days.requirement} {status.day_unit} of real-time paper trading in the "
             "current epoch", f"{status.trading_days} {status.day_unit} ({where})",
             f"keep it paper trading: {max(0, status.required.min_trading_days - status.trading_days)} more "
             f"{status.day_unit} with this configuration"),
        item("round trips", trips, f"{trips.requirement} round trips opened and closed in the epoch",
             str(status.round_trips), "keep it paper trading until it has closed enough trades"),
        item("win rate", rate, f"{rate.requirement} of the epoch's round trips won",
             percent(status.win_rate) if status.round_trips else "n/a (no round trip)",
             "the strategy loses too often: change it (a new epoch starts) or keep trading"),
        item("max drawdown", drawdown, f"{drawdown.requirement} fall of the bot's equity from its peak",
             percent(status.max_drawdown), "the bot fell too far: review its sizing and stops"),
        item("no critical event", critical, "no critical event of the bot or its account in the epoch",
             f"{len(events)} critical event(s)" + (f": {events[-1].ts:%Y-%m-%d %H:%M}Z {events[-1].message}"
                                                  if events else ""),
             "see `quantshift audit --kind error` and `--kind halt`; fix the cause, then "
             "`quantshift validation reset` starts a clean epoch"),
    ]
