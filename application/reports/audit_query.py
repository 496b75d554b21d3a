"""Reading the audit trail a page at a time, filtered by what a person asks for.

A kind a person asks for is not always a kind the trail records: a strategy's signal and the
risk engine's checks are recorded inside the intent's entry (an `order` entry when approved, a
`risk` entry when denied), so `signal` and `risk` also match by what an entry's data holds.
Every kind listed in KIND_FILTERS works; any other is refused, naming the valid ones.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from application.ports import UnitOfWork
from application.records import AuditEntry, AuditKind
from domain.errors import ConfigurationError


@attrs.frozen(kw_only=True)
class KindFilter:
    kinds: tuple[str, ...]  # recorded kinds that match
    data_key: str | None  # or: entries whose data holds this key
    means: str  # for --help and the docs


KIND_FILTERS: dict[str, KindFilter] = {
    "signal": KindFilter(kinds=(AuditKind.SIGNAL.value,), data_key="signal",
                         means="strategy signals that became order intents, approved or denied"),
    "risk": KindFilter(kinds=(AuditKind.RISK.value,), data_key="checks",
                       means="the risk checks of every intent, denials and limits tripped"),
    **{k.value: KindFilter(kinds=(k.value,), data_key=None, means=k.value)
       for k in AuditKind if k not in (AuditKind.SIGNAL, AuditKind.RISK)},
}


def kind_filter(kind: str) -> KindFilter:
    found = KIND_FILTERS.get(kind.strip().lower())
    if found is None:
        raise ConfigurationError(f"--kind {kind!r} is not a kind of audit entry: use one of {', '.join(KIND_FILTERS)}")
    return found


@attrs.frozen(kw_only=True)
class AuditQuery:
    account: str | None = None
    symbol: str | None = None
    kind: str | None = None
    since: datetime | None = None
    limit: int = 200
    page: int = 1  # 1: the newest `limit` entries; 2: the `limit` before them, ...


@attrs.frozen(kw_only=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]  # oldest first
    page: int
    limit: int
    older: bool  # more entries match before this page


def audit_page(uow: UnitOfWork, query: AuditQuery) -> AuditPage:
    if query.limit < 1 or query.page < 1:
        raise ConfigurationError("--limit and --page start at 1")
    chosen = kind_filter(query.kind) if query.kind is not None else None
    # One more than asked for: whether older entries remain, without counting them all.
    rows = uow.audit.list(account=query.account, symbol=query.symbol, since=query.since, limit=query.limit + 1,
                          offset=(query.page - 1) * query.limit,
                          kinds=chosen.kinds if chosen else (), data_key=chosen.data_key if chosen else None)
    older = len(rows) > query.limit
    return AuditPage(entries=tuple(rows[1:] if older else rows), page=query.page, limit=query.limit, older=older)
