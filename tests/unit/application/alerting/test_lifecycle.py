"""The alert lifecycle read from the ALERT audit trail of a real SQLite store: the state of a key,
deduplication, repeats due until acknowledged, and acknowledgement's errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.sqlite import SqliteStore
from application.alerting.alert import Alert, AlertEvent, notice
from application.alerting.lifecycle import (
    AlertClosed,
    UnknownAlert,
    acknowledge,
    alert_entry,
    alert_states,
    decide_fire,
    due_repeats,
    open_alerts,
)
from application.ports import AlertLevel
from domain.errors import RejectedError

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=timezone.utc)
GROUP = timedelta(seconds=60)
BREAKER = Alert(key="drawdown_breaker:paper/eq", level=AlertLevel.CRITICAL, title="bot eq halted",
                body="drawdown 12.00%", account="paper", bot="eq", figures={"drawdown": "12.00%"})


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(path=tmp_path / "qs.db")


def write(store: SqliteStore, event: AlertEvent, alert: Alert, *, at: datetime, count: int = 1, **extra) -> None:
    with store() as uow:
        uow.audit.append(alert_entry(event=event, state=alert, now=at, count=count, **extra))
        uow.commit()


def state_of(store: SqliteStore, key: str = BREAKER.key):
    with store() as uow:
        return alert_states(uow).get(key)


def test_a_fired_alert_is_open_with_its_figures_and_since(store: SqliteStore) -> None:
    write(store, AlertEvent.FIRED, BREAKER, at=T0, deliveries=[{"channel": "ops", "delivered": True, "detail": ""}])
    with store() as uow:
        (found,) = open_alerts(uow)
        (entry,) = uow.audit.list(kind="alert")
    assert (found.key, found.level, found.since, found.count, found.acked) == (BREAKER.key, AlertLevel.CRITICAL, T0, 1, False)
    assert (found.account, found.bot, dict(found.figures)) == ("paper", "eq", {"drawdown": "12.00%"})
    # The contract's entry: severity the level, message the title, the deliveries in data.
    assert (entry.severity, entry.message, entry.account, entry.bot) == ("critical", "bot eq halted", "paper", "eq")
    assert entry.data["deliveries"] == [{"channel": "ops", "delivered": True, "detail": ""}]
    assert entry.data["event"] == "fired" and entry.data["source"] == "bot"


def test_an_open_key_is_not_sent_again_and_its_count_is_written_once_per_window(store: SqliteStore) -> None:
    write(store, AlertEvent.FIRED, BREAKER, at=T0)
    state = state_of(store)
    soon = decide_fire(state, alert=BREAKER, now=T0 + timedelta(seconds=10), group=GROUP)
    assert (soon.send, soon.record, soon.count) == (False, None, 2)  # counted, not written yet
    later = decide_fire(state, alert=BREAKER, now=T0 + GROUP, group=GROUP, unrecorded=4)
    assert (later.send, later.record, later.count) == (False, AlertEvent.DEDUPLICATED, 6)
    write(store, AlertEvent.DEDUPLICATED, BREAKER, at=T0 + GROUP, count=6)
    state = state_of(store)
    assert (state.open, state.count, state.last_notice, state.last_entry) == (True, 6, T0, T0 + GROUP)


def test_worse_than_what_people_were_told_is_sent(store: SqliteStore) -> None:
    warning = Alert(key="venue_errors:alpaca", level=AlertLevel.WARNING, title="alpaca errors", body="25%")
    write(store, AlertEvent.FIRED, warning, at=T0)
    worse = decide_fire(state_of(store, warning.key), alert=Alert(key=warning.key, level=AlertLevel.CRITICAL,
                        title="alpaca errors", body="80%"), now=T0 + timedelta(seconds=1), group=GROUP)
    assert (worse.send, worse.record, worse.count) == (True, AlertEvent.FIRED, 2)
    write(store, AlertEvent.FIRED, Alert(key=warning.key, level=AlertLevel.CRITICAL, title="alpaca errors", body="80%"),
          at=T0 + timedelta(seconds=1), count=2)
    state = state_of(store, warning.key)
    assert (state.level, state.body, state.since, state.count) == (AlertLevel.CRITICAL, "80%", T0, 2)


def test_a_resolved_key_fires_anew(store: SqliteStore) -> None:
    write(store, AlertEvent.FIRED, BREAKER, at=T0)
    write(store, AlertEvent.RESOLVED, BREAKER, at=T0 + timedelta(minutes=2), count=3)
    state = state_of(store)
    assert not state.open and state.resolved_at == T0 + timedelta(minutes=2)
    again = decide_fire(state, alert=BREAKER, now=T0 + timedelta(minutes=3), group=GROUP)
    assert (again.send, again.count) == (True, 1)
    write(store, AlertEvent.FIRED, BREAKER, at=T0 + timedelta(minutes=3))
    assert (state_of(store).since, state_of(store).open) == (T0 + timedelta(minutes=3), True)


def test_a_notice_is_one_within_the_window_and_never_open(store: SqliteStore) -> None:
    halt = notice(level=AlertLevel.CRITICAL, title="venue corrected a fill in paper", body="busted f-1")
    write(store, AlertEvent.FIRED, halt, at=T0)
    state = state_of(store, halt.key)
    assert not state.open
    with store() as uow:
        assert open_alerts(uow) == []
    assert not decide_fire(state, alert=halt, now=T0 + timedelta(seconds=59), group=GROUP).send
    assert decide_fire(state, alert=halt, now=T0 + GROUP, group=GROUP).send


def test_critical_alerts_repeat_every_period_until_acknowledged(store: SqliteStore) -> None:
    write(store, AlertEvent.FIRED, BREAKER, at=T0)
    warning = Alert(key="drawdown_warning:paper/eq", level=AlertLevel.WARNING, title="bot eq reducing", body="")
    write(store, AlertEvent.FIRED, warning, at=T0)
    every = timedelta(minutes=5)
    with store() as uow:
        assert due_repeats(uow, now=T0 + timedelta(minutes=4), every=every) == []
        assert [s.key for s in due_repeats(uow, now=T0 + every, every=every)] == [BREAKER.key]  # not the warning
    write(store, AlertEvent.REPEATED, BREAKER, at=T0 + every, count=1)
    with store() as uow:
        assert due_repeats(uow, now=T0 + timedelta(minutes=9), every=every) == []
        (due,) = due_repeats(uow, now=T0 + 2 * every, every=every)
    assert (due.repeats, due.last_notice) == (1, T0 + every)
    state, newly = acknowledge(key=BREAKER.key, by="ops@example.com", uow_factory=store,
                               now=T0 + timedelta(minutes=11))
    assert newly and state.acked_by == "ops@example.com"
    with store() as uow:
        assert due_repeats(uow, now=T0 + timedelta(hours=5), every=every) == []
        (still,) = [s for s in open_alerts(uow) if s.key == BREAKER.key]
    # Acknowledged is still open until resolved, and stays acknowledged through later occurrences.
    write(store, AlertEvent.DEDUPLICATED, BREAKER, at=T0 + timedelta(minutes=12), count=4)
    state = state_of(store)
    assert (state.open, state.acked, state.acked_by, state.count) == (True, True, "ops@example.com", 4)


def test_acknowledging_twice_says_so_and_writes_once(store: SqliteStore) -> None:
    write(store, AlertEvent.FIRED, BREAKER, at=T0)
    acknowledge(key=BREAKER.key, by="a@example.com", uow_factory=store, now=T0 + timedelta(minutes=1))
    state, newly = acknowledge(key=BREAKER.key, by="b@example.com", uow_factory=store, now=T0 + timedelta(minutes=2))
    assert not newly and state.acked_by == "a@example.com"
    with store() as uow:
        acks = [e for e in uow.audit.list(kind="alert") if e.data["event"] == "acked"]
    assert [e.data["acked_by"] for e in acks] == ["a@example.com"]


def test_acknowledging_an_unknown_or_closed_key_is_a_clear_error(store: SqliteStore) -> None:
    with pytest.raises(UnknownAlert, match="no alert has the key 'halted:nope'"):
        acknowledge(key="halted:nope", by="ops", uow_factory=store, now=T0)
    write(store, AlertEvent.FIRED, BREAKER, at=T0)
    write(store, AlertEvent.RESOLVED, BREAKER, at=T0 + timedelta(minutes=1))
    with pytest.raises(AlertClosed, match="is not open: it was resolved at 2025-03-03T14:31:00"):
        acknowledge(key=BREAKER.key, by="ops", uow_factory=store, now=T0 + timedelta(minutes=2))
    busted = notice(level=AlertLevel.CRITICAL, title="venue corrected a fill", body="")
    write(store, AlertEvent.FIRED, busted, at=T0)
    with pytest.raises(AlertClosed, match="a notice, which is never open"):
        acknowledge(key=busted.key, by="ops", uow_factory=store, now=T0)
    with pytest.raises(RejectedError, match="names who"):
        acknowledge(key=BREAKER.key, by=" ", uow_factory=store, now=T0)


def test_a_malformed_entry_does_not_hide_the_others(store: SqliteStore) -> None:
    from application.records import AuditEntry, AuditKind

    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ALERT, message="?", data={"event": "exploded", "key": "x"}))
        uow.commit()
    write(store, AlertEvent.FIRED, BREAKER, at=T0 + timedelta(seconds=1))
    with store() as uow:
        assert [s.key for s in open_alerts(uow)] == [BREAKER.key]
