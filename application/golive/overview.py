"""Where each bot stands on its way to live money, for the admin platform (API and dashboard):
its validation epoch, the checklist as last checked, the last drills, the backups, the
certificate and its approval, probation. Read only from the append-only audit trail (the
records of docs/golive.md), so the page shows exactly the evidence the gate used.

The validation clock's live figures (days, trades, win rate, drawdown) need the calendar and
the criteria: the caller adds them (entrypoints/web/golive_desk.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from application.golive.checklist import ItemResult
from application.records import AuditEntry, AuditKind
from application.ports import UnitOfWork

EVIDENCE_KINDS = (AuditKind.VALIDATION, AuditKind.DRILL, AuditKind.BACKUP, AuditKind.GOLIVE)
# Go-live evidence is a few records a day per bot; this bounds one read all the same.
MAX_EVIDENCE = 100_000
PROBATION_EVENTS = ("probation_started", "promoted", "demoted")


@attrs.frozen(kw_only=True)
class Epoch:
    epoch: int
    started_at: datetime
    account: str  # the paper account it is earned on
    fingerprint: str
    reason: str
    changed: tuple[str, ...]
    actor: str


@attrs.frozen(kw_only=True)
class Drill:
    drill: str  # killswitch | failover
    at: datetime
    account: str
    passed: bool
    detail: str
    figures: Mapping[str, object]  # the record's data without drill/passed/detail


@attrs.frozen(kw_only=True)
class Backup:
    event: str  # taken | verified
    at: datetime
    path: str
    engine: str
    tables: Mapping[str, object]
    sha256: str
    passed: bool | None  # verified only
    detail: str


@attrs.frozen(kw_only=True)
class Check:
    at: datetime
    fingerprint: str
    items: tuple[ItemResult, ...]
    passed: bool
    actor: str
    broker: str


@attrs.frozen(kw_only=True)
class Certificate:
    certificate_id: str
    fingerprint: str
    checked_by: str
    issued_at: datetime | None
    valid_until: datetime | None
    broker: str
    approved_by: str | None
    approved_at: datetime | None
    state: str  # valid | awaiting approval | expired | configuration changed
    items: tuple[ItemResult, ...] = ()


@attrs.frozen(kw_only=True)
class Probation:
    event: str  # probation_started | promoted | demoted
    at: datetime
    fraction: object
    days: object
    figures: Mapping[str, object]
    reason: str


@attrs.frozen(kw_only=True)
class BotGoLive:
    bot: str
    fingerprint: str | None  # the configuration's now (None: the bot is not configured here)
    epoch: Epoch | None
    last_check: Check | None
    certificate: Certificate | None  # the latest issued, whatever its state
    killswitch: Drill | None
    failover: Drill | None  # deployment-wide: the same for every bot
    backup_taken: Backup | None  # deployment-wide
    backup_verified: Backup | None
    probation: Probation | None
    entries_blocked: str | None  # the reason, while live entries are blocked


def evidence(uow: UnitOfWork) -> list[AuditEntry]:
    """Every go-live record, oldest first (one read for a whole page)."""
    return uow.audit.list(kinds=[k.value for k in EVIDENCE_KINDS], limit=MAX_EVIDENCE)


def bot_overview(entries: Sequence[AuditEntry], *, bot: str, fingerprint: str | None, now: datetime) -> BotGoLive:
    """`entries`: `evidence(uow)`; the latest record of each sort wins."""
    epoch = check = certificate = killswitch = failover = taken = verified = probation = None
    approvals: dict[str, AuditEntry] = {}
    blocked: str | None = None
    for entry in entries:
        data = entry.data
        if entry.kind is AuditKind.DRILL:
            if data.get("drill") == "failover":
                failover = entry
            elif data.get("drill") == "killswitch" and entry.bot in (bot, ""):
                killswitch = entry
        elif entry.kind is AuditKind.BACKUP:
            if data.get("event") == "taken":
                taken = entry
            elif data.get("event") == "verified":
                verified = entry
        elif entry.bot != bot:
            continue
        elif entry.kind is AuditKind.VALIDATION and data.get("event") == "epoch_started":
            epoch = entry
        elif entry.kind is AuditKind.GOLIVE:
            event = data.get("event")
            if event == "check":
                check = entry
            elif event == "certificate":
                certificate = entry
            elif event == "approval":  # the first one counts (certificates.certificates does the same)
                approvals.setdefault(str(data.get("certificate_id", "")), entry)
            elif event in PROBATION_EVENTS:
                probation = entry
            elif event == "entries_blocked":
                blocked = str(data.get("reason", "")) or "entries blocked"
            elif event == "entries_unblocked":
                blocked = None
    return BotGoLive(bot=bot, fingerprint=fingerprint, epoch=_epoch(epoch), last_check=_check(check),
                     certificate=_certificate(certificate, approvals, fingerprint=fingerprint, now=now),
                     killswitch=_drill(killswitch), failover=_drill(failover), backup_taken=_backup(taken),
                     backup_verified=_backup(verified), probation=_probation(probation), entries_blocked=blocked)


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def items_of(data: Mapping[str, object]) -> tuple[ItemResult, ...]:
    raw = data.get("items")
    if not isinstance(raw, list):
        return ()
    return tuple(ItemResult.from_json(item) for item in raw if isinstance(item, Mapping))


def _epoch(entry: AuditEntry | None) -> Epoch | None:
    if entry is None:
        return None
    data = entry.data
    changed = data.get("changed")
    return Epoch(epoch=int(str(data.get("epoch", 0)) or 0), started_at=entry.ts, account=entry.account,
                 fingerprint=str(data.get("fingerprint", "")), reason=str(data.get("reason", "")),
                 changed=tuple(str(c) for c in changed) if isinstance(changed, list) else (),
                 actor=str(data.get("actor", "")))


def _check(entry: AuditEntry | None) -> Check | None:
    if entry is None:
        return None
    data = entry.data
    return Check(at=entry.ts, fingerprint=str(data.get("fingerprint", "")), items=items_of(data),
                 passed=bool(data.get("passed")), actor=str(data.get("actor", "")), broker=str(data.get("broker", "")))


def _certificate(entry: AuditEntry | None, approvals: Mapping[str, AuditEntry], *, fingerprint: str | None,
                 now: datetime) -> Certificate | None:
    if entry is None:
        return None
    data = entry.data
    certificate_id = str(data.get("certificate_id", ""))
    approval = approvals.get(certificate_id)
    valid_until = parse_time(data.get("valid_until"))
    if valid_until is None or valid_until <= now:
        state = "expired"
    elif fingerprint is not None and data.get("fingerprint") != fingerprint:
        state = "configuration changed"
    elif approval is None:
        state = "awaiting approval"
    else:
        state = "valid"
    return Certificate(certificate_id=certificate_id, fingerprint=str(data.get("fingerprint", "")),
                       checked_by=str(data.get("checked_by", "")), issued_at=parse_time(data.get("issued_at")),
                       valid_until=valid_until, broker=str(data.get("broker", "")),
                       approved_by=str(approval.data.get("approved_by", "")) if approval else None,
                       approved_at=approval.ts if approval else None, state=state, items=items_of(data))


_DRILL_KEYS = frozenset({"drill", "passed", "detail"})


def drill_of(entry: AuditEntry) -> Drill | None:
    """A DRILL record as the page shows it."""
    return _drill(entry)


def _drill(entry: AuditEntry | None) -> Drill | None:
    if entry is None:
        return None
    data = entry.data
    return Drill(drill=str(data.get("drill", "")), at=entry.ts, account=entry.account, passed=bool(data.get("passed")),
                 detail=str(data.get("detail", "")), figures={k: v for k, v in data.items() if k not in _DRILL_KEYS})


def _backup(entry: AuditEntry | None) -> Backup | None:
    if entry is None:
        return None
    data = entry.data
    tables = data.get("tables")
    passed = data.get("passed")
    return Backup(event=str(data.get("event", "")), at=entry.ts, path=str(data.get("path", "")),
                  engine=str(data.get("engine", "")), tables=dict(tables) if isinstance(tables, Mapping) else {},
                  sha256=str(data.get("sha256", "")), passed=None if passed is None else bool(passed),
                  detail=str(data.get("detail", "")))


def _probation(entry: AuditEntry | None) -> Probation | None:
    if entry is None:
        return None
    data = entry.data
    figures = data.get("figures")
    return Probation(event=str(data.get("event", "")), at=entry.ts, fraction=data.get("fraction"),
                     days=data.get("days"), figures=dict(figures) if isinstance(figures, Mapping) else {},
                     reason=str(data.get("reason", "")))
