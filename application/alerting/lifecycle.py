"""The life of an alert, read from the ALERT audit trail: the trail is the one state, so every
process (a bot, the watchdog, the API, the CLI) sees the same alerts without a table of its own.

A key's state is the fold of its entries since its latest "fired": open until "resolved";
"acked" stops the repeats but the alert stays open (and its occurrences deduplicated) until the
condition clears. The decisions here are pure; the dispatcher (dispatcher.py) applies them:

- a new occurrence of an open alert is not sent again (unless at a higher level): its count
  grows, written at most once per group window ("deduplicated");
- a notice (a legacy notify(), keyed by its title) is never open: the same title again within
  the group window is one notice;
- an open, unacknowledged critical alert is due to be sent again every `every` (due_repeats);
- the grouping of a flapping condition (resolved and fired again within the window is one
  alert) is the dispatcher's: it holds a resolve back for the window before it is final.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from application.alerting.alert import Alert, AlertEvent, is_notice
from application.ports import AlertLevel, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from domain.errors import RejectedError

log = logging.getLogger(__name__)

# The newest ALERT entries read for the state of every key. Deduplication keeps the trail to a few
# entries per alert episode, so this reaches back far further than any open alert.
READ_LIMIT = 20_000
_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}


class UnknownAlert(RejectedError):
    """No alert was ever raised under that key."""


class AlertClosed(RejectedError):
    """The alert under that key is resolved (or is a notice, which is never open): nothing to acknowledge."""


@attrs.frozen(kw_only=True)
class AlertState:
    """One key as the trail tells it: its latest episode (from its latest "fired")."""

    key: str
    level: AlertLevel
    title: str
    body: str
    account: str
    bot: str
    figures: Mapping[str, str]
    source: str
    since: datetime  # the episode's "fired"
    last_notice: datetime  # when people were last sent it (fired or repeated)
    last_entry: datetime  # the key's latest entry of any event
    count: int  # occurrences grouped into this episode so far
    repeats: int = 0
    acked_by: str = ""
    acked_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None and not is_notice(self.key)

    @property
    def acked(self) -> bool:
        return self.acked_at is not None


OpenAlert = AlertState  # what open_alerts() answers: states whose `open` is true


@attrs.frozen(kw_only=True)
class FireDecision:
    send: bool  # tell people ("fired")
    record: AlertEvent | None  # the entry to write now (None: the count waits for the next one)
    count: int


def alert_states(uow: UnitOfWork) -> dict[str, AlertState]:
    """Every key the trail knows (its latest episode), by key."""
    states: dict[str, AlertState] = {}
    for entry in uow.audit.list(kind=AuditKind.ALERT.value, limit=READ_LIMIT):
        try:
            apply_entry(states, entry)
        except (KeyError, ValueError, TypeError) as exc:  # a malformed entry must not hide the others
            log.warning("alert entry of %s skipped: %s", entry.ts.isoformat(), exc)
    return states


def open_alerts(uow: UnitOfWork) -> list[OpenAlert]:
    """The open alerts (acknowledged or not), oldest first."""
    return sorted((s for s in alert_states(uow).values() if s.open), key=lambda s: s.since)


def due_repeats(uow: UnitOfWork, *, now: datetime, every: timedelta) -> list[OpenAlert]:
    """Open, unacknowledged critical alerts last sent `every` or longer ago."""
    return [s for s in open_alerts(uow) if s.level is AlertLevel.CRITICAL and not s.acked
            and now - s.last_notice >= every]


def alert_view(state: AlertState) -> dict[str, object]:
    """A state as plain data (the CLI's --json; the API's AlertResponse has the same fields)."""
    return {"key": state.key, "level": state.level.value, "title": state.title, "body": state.body,
            "account": state.account, "bot": state.bot, "figures": dict(state.figures), "source": state.source,
            "since": state.since.isoformat(), "last_notice": state.last_notice.isoformat(), "count": state.count,
            "repeats": state.repeats, "open": state.open, "acked": state.acked, "acked_by": state.acked_by,
            "acked_at": state.acked_at.isoformat() if state.acked_at else None,
            "resolved_at": state.resolved_at.isoformat() if state.resolved_at else None}


def decide_fire(state: AlertState | None, *, alert: Alert, now: datetime, group: timedelta,
                unrecorded: int = 0) -> FireDecision:
    """A new occurrence of `alert`, given its key's state and the occurrences counted but not yet
    written (`unrecorded`): sent as new, or one more of an alert people have already been sent."""
    if state is None or not (state.open or _notice_in_window(state, now=now, group=group)):
        return FireDecision(send=True, record=AlertEvent.FIRED, count=1)
    count = state.count + unrecorded + 1
    if _RANK[alert.level] > _RANK[state.level]:  # worse than what people were told: tell them
        return FireDecision(send=True, record=AlertEvent.FIRED, count=count)
    quiet = now - state.last_entry < group  # keep the trail small: one entry per window at most
    return FireDecision(send=False, record=None if quiet else AlertEvent.DEDUPLICATED, count=count)


def _notice_in_window(state: AlertState, *, now: datetime, group: timedelta) -> bool:
    return is_notice(state.key) and now - state.last_notice < group


def acknowledge(*, key: str, by: str, uow_factory: UnitOfWorkFactory, now: datetime) -> tuple[AlertState, bool]:
    """Stop the repeats of the open alert `key`, recording who did. Returns its state and whether
    this call acknowledged it (False: it already was, by the person the state names)."""
    if not by.strip():
        raise RejectedError("an acknowledgement names who makes it")
    with uow_factory() as uow:
        state = alert_states(uow).get(key)
        if state is None:
            raise UnknownAlert(f"no alert has the key {key!r} (`quantshift alerts list` shows the open ones)")
        if not state.open:
            why = ("it is a notice, which is never open" if is_notice(key)
                   else f"it was resolved at {state.resolved_at.isoformat() if state.resolved_at else '?'}")
            raise AlertClosed(f"alert {key!r} is not open: {why}; there is nothing to acknowledge")
        if state.acked:
            return state, False
        uow.audit.append(alert_entry(event=AlertEvent.ACKED, state=state, now=now, acked_by=by))
        uow.commit()
    return attrs.evolve(state, acked_by=by, acked_at=now, last_entry=now), True


def alert_entry(*, event: AlertEvent, state: Alert | AlertState, now: datetime, count: int | None = None,
                deliveries: Sequence[Mapping[str, object]] = (), acked_by: str = "", title: str | None = None,
                body: str | None = None) -> AuditEntry:
    """The ALERT audit entry of one event (the contract's format, /work/notes/MONITORING.md)."""
    data: dict[str, object] = {
        "event": event.value, "key": state.key, "level": state.level.value,
        "title": state.title if title is None else title, "body": state.body if body is None else body,
        "figures": dict(state.figures), "source": state.source,
        "deliveries": [dict(d) for d in deliveries],
        "count": count if count is not None else getattr(state, "count", 1),
    }
    if acked_by:
        data["acked_by"] = acked_by
    return AuditEntry(ts=now, kind=AuditKind.ALERT, severity=state.level.value, account=state.account, bot=state.bot,
                      message=str(data["title"]), data=data)


def apply_entry(states: dict[str, AlertState], entry: AuditEntry) -> None:
    """Fold one ALERT entry (the next in time) into the states by key."""
    data = entry.data
    key, event = str(data["key"]), AlertEvent(data["event"])
    prior = states.get(key)
    count = int(data.get("count", 1))  # type: ignore[call-overload]
    if event is AlertEvent.FIRED and (prior is None or not prior.open):
        states[key] = AlertState(
            key=key, level=AlertLevel(data["level"]), title=str(data["title"]), body=str(data.get("body", "")),
            account=entry.account, bot=entry.bot, figures=dict(_figures(data.get("figures"))),
            source=str(data.get("source", "")), since=entry.ts, last_notice=entry.ts, last_entry=entry.ts,
            count=count)
        return
    if prior is None:  # the episode's "fired" is older than READ_LIMIT entries, or was never written
        return
    changes: dict[str, object] = {"last_entry": entry.ts, "count": max(count, prior.count)}
    if event is AlertEvent.FIRED:  # on an open key: escalated (sent again at a higher level), or a race
        changes |= {"last_notice": entry.ts, "level": AlertLevel(data["level"]), "title": str(data["title"]),
                    "body": str(data.get("body", "")), "figures": dict(_figures(data.get("figures")))}
    elif event is AlertEvent.REPEATED:
        changes |= {"last_notice": entry.ts, "repeats": prior.repeats + 1}
    elif event is AlertEvent.ACKED:
        changes |= {"acked_by": str(data.get("acked_by", "")), "acked_at": entry.ts}
    elif event is AlertEvent.RESOLVED:
        changes |= {"resolved_at": entry.ts}
    states[key] = attrs.evolve(prior, **changes)


def _figures(value: object) -> Iterable[tuple[str, str]]:
    return ((str(k), str(v)) for k, v in value.items()) if isinstance(value, Mapping) else ()
