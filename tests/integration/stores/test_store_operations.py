"""The store contract for running the platform (application/trading/ports.py,
reports/ports.py, venues/ports.py, accounts/ports.py): settings, bots' desired run state,
daily snapshots, venue health.
Runs on SQLite and Postgres through the `store` fixture, and on the in-memory fake."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from application.records import Invitation, Role
from application.reports.ports import DailySnapshot
from application.trading.ports import BotRun, DesiredState
from application.venues.ports import HISTOGRAM_SIZE, VenueHealthBucket
from tests.fakes.memory_store import InMemoryStore

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)
NEW_YORK = timezone(timedelta(hours=-5))


@pytest.fixture(params=["engine", "memory"])
def any_store(request, store):
    """Each engine's store, and the fake the unit tests use, held to the same promises."""
    return store if request.param == "engine" else InMemoryStore()


def _bucket(*, calls=1, errors=0, latency=3.0, minute=T0, op="submit", venue="simulated", success=None,
            error_at=None, error="") -> VenueHealthBucket:
    histogram = [0] * HISTOGRAM_SIZE
    histogram[2] = calls
    return VenueHealthBucket(venue=venue, operation=op, minute=minute, calls=calls, errors=errors,
                             latency_sum_ms=latency * calls, latency_max_ms=latency, histogram=tuple(histogram),
                             last_success_at=success, last_error_at=error_at, last_error=error)


def test_settings_round_trip_replace_and_isolation(any_store) -> None:
    with any_store() as uow:
        assert uow.settings.get("notifications") is None
        document = {"email_enabled": True, "recipients": ["a@example.com"], "nested": {"n": 1.5, "x": None}}
        uow.settings.put("notifications", document, at=T0)
        document["recipients"].append("mutated@example.com")  # the caller's dict is not the stored one
        uow.commit()
    with any_store() as uow:
        assert uow.settings.get("notifications") == {"email_enabled": True, "recipients": ["a@example.com"],
                                                     "nested": {"n": 1.5, "x": None}}
        uow.settings.put("notifications", {"email_enabled": False}, at=T0 + timedelta(1))
        uow.commit()
    with any_store() as uow:
        assert uow.settings.get("notifications") == {"email_enabled": False}
        uow.settings.put("other", {"a": 1}, at=T0)
        # not committed: gone
    with any_store() as uow:
        assert uow.settings.get("other") is None


def test_bot_runs_latest_request_wins_and_lists_by_account(any_store) -> None:
    with any_store() as uow:
        assert uow.bot_runs.get(account="paper", bot="trend") is None
        uow.bot_runs.set(BotRun(account="paper", bot="trend", desired=DesiredState.STOPPED, actor="op@example.com",
                                reason="maintenance", updated_at=T0.astimezone(NEW_YORK)))
        uow.bot_runs.set(BotRun(account="paper", bot="meanrev", desired=DesiredState.RUNNING, actor="a",
                                reason="", updated_at=T0))
        uow.bot_runs.set(BotRun(account="other", bot="trend", desired=DesiredState.STOPPED, actor="a",
                                reason="r", updated_at=T0))
        uow.commit()
    with any_store() as uow:
        got = uow.bot_runs.get(account="paper", bot="trend")
        assert got == BotRun(account="paper", bot="trend", desired=DesiredState.STOPPED, actor="op@example.com",
                             reason="maintenance", updated_at=T0)
        assert got.updated_at.tzinfo is not None and got.updated_at.utcoffset() == timedelta(0)
        uow.bot_runs.set(BotRun(account="paper", bot="trend", desired=DesiredState.RUNNING, actor="b",
                                reason="back", updated_at=T0 + timedelta(hours=1)))
        uow.commit()
    with any_store() as uow:
        assert uow.bot_runs.get(account="paper", bot="trend").desired is DesiredState.RUNNING
        assert [(r.account, r.bot) for r in uow.bot_runs.list(account="paper")] == [("paper", "meanrev"),
                                                                                    ("paper", "trend")]
        assert len(uow.bot_runs.list()) == 3


def test_snapshots_one_per_scope_and_day_oldest_first(any_store) -> None:
    days = [date(2026, 3, d) for d in (5, 1, 3)]
    with any_store() as uow:
        for i, day in enumerate(days):
            uow.snapshots.put(DailySnapshot(day=day, scope="all", taken_at=T0, figures={"equity": str(100 + i)}))
        uow.snapshots.put(DailySnapshot(day=days[0], scope="bot:paper/trend", taken_at=T0, figures={"equity": "1"}))
        uow.commit()
    with any_store() as uow:
        # A second snapshot the same day replaces the first.
        uow.snapshots.put(DailySnapshot(day=date(2026, 3, 3), scope="all", taken_at=T0 + timedelta(hours=2),
                                        figures={"equity": "999.5", "series": [1, 2]}))
        uow.commit()
    with any_store() as uow:
        got = uow.snapshots.list(scope="all", since=date(2026, 3, 2))
        assert [(s.day, dict(s.figures)) for s in got] == [
            (date(2026, 3, 3), {"equity": "999.5", "series": [1, 2]}), (date(2026, 3, 5), {"equity": "100"})]
        assert got[0].taken_at == T0 + timedelta(hours=2)
        assert len(uow.snapshots.list(scope="all", since=date(2026, 1, 1))) == 3
        assert [s.scope for s in uow.snapshots.list(scope="bot:paper/trend", since=date(2026, 1, 1))] == [
            "bot:paper/trend"]


def test_venue_health_buckets_add_up(any_store) -> None:
    with any_store() as uow:
        uow.venue_health.add(_bucket(calls=2, latency=3.0, success=T0 + timedelta(seconds=5)))
        uow.commit()
    with any_store() as uow:
        uow.venue_health.add(_bucket(calls=3, errors=1, latency=8.0, success=T0 + timedelta(seconds=2),
                                     error_at=T0 + timedelta(seconds=40), error="HTTP 503"))
        uow.venue_health.add(_bucket(calls=1, op="bars", minute=T0 + timedelta(minutes=1)))
        uow.commit()
    with any_store() as uow:
        got = uow.venue_health.list(since=T0)
        assert [(b.operation, b.minute) for b in got] == [("bars", T0 + timedelta(minutes=1)), ("submit", T0)]
        submit = got[1]
        assert (submit.calls, submit.errors) == (5, 1)
        assert submit.latency_sum_ms == pytest.approx(2 * 3.0 + 3 * 8.0)
        assert submit.latency_max_ms == 8.0
        assert submit.histogram[2] == 5 and sum(submit.histogram) == 5
        assert submit.last_success_at == T0 + timedelta(seconds=5)  # the later success stays
        assert (submit.last_error_at, submit.last_error) == (T0 + timedelta(seconds=40), "HTTP 503")
        assert uow.venue_health.list(since=T0 + timedelta(seconds=30)) == [got[0]]
        assert uow.venue_health.list(since=T0, venue="alpaca") == []
        assert uow.venue_health.prune(before=T0 + timedelta(minutes=1)) == 1
        uow.commit()
    with any_store() as uow:
        assert [b.operation for b in uow.venue_health.list(since=T0 - timedelta(days=1))] == ["bars"]


def test_venue_health_concurrent_writers_lose_no_call(store) -> None:
    """Two processes' recorders flushing into the same minute at once: every call counts."""
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(10):
                with store() as uow:
                    uow.venue_health.add(_bucket(calls=1))
                    uow.commit()
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store() as uow:
        (bucket,) = uow.venue_health.list(since=T0)
        assert bucket.calls == 40 and sum(bucket.histogram) == 40


def test_a_histogram_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="histogram"):
        VenueHealthBucket(venue="v", operation="o", minute=T0, calls=1, errors=0, latency_sum_ms=1, latency_max_ms=1,
                          histogram=(1, 2))


def test_a_revoked_invitation_cannot_be_accepted_and_an_accepted_one_cannot_be_revoked(any_store) -> None:
    def invitation(invitation_id: str) -> Invitation:
        return Invitation(invitation_id=invitation_id, email=f"{invitation_id}@example.com", role=Role.VIEWER,
                          invited_by="u-admin", created_at=T0, expires_at=T0 + timedelta(days=3))

    with any_store() as uow:
        uow.invitations.add(invitation("i-revoked"))
        uow.invitations.add(invitation("i-accepted"))
        uow.commit()
    later = T0.astimezone(NEW_YORK) + timedelta(hours=1)
    with any_store() as uow:
        assert uow.invitations.revoke("i-revoked", at=later) is True
        assert uow.invitations.revoke("i-revoked", at=later) is False  # once
        assert uow.invitations.revoke("i-missing", at=later) is False
        assert uow.invitations.accept("i-revoked", at=later) is False
        assert uow.invitations.accept("i-accepted", at=later) is True
        assert uow.invitations.revoke("i-accepted", at=later) is False
        uow.commit()
    with any_store() as uow:
        revoked = uow.invitations.get("i-revoked")
        assert revoked.revoked_at == T0 + timedelta(hours=1) and revoked.accepted_at is None
        accepted = uow.invitations.get("i-accepted")
        assert accepted.revoked_at is None and accepted.accepted_at == T0 + timedelta(hours=1)
        assert {i.invitation_id: i.revoked_at is not None for i in uow.invitations.list()} == {
            "i-revoked": True, "i-accepted": False}
