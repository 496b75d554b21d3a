"""Go-live certificates: issued only for a checklist that passed, bound to one fingerprint,
expiring, and signed off by an admin who (where there are two) did not run the check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.golive.certificates import (
    ApprovalRefused,
    approve_certificate,
    certificate_problems,
    current_certificate,
    issue_certificate,
    latest_certificate,
    record_check,
)
from application.golive.checklist import ItemResult
from application.records import AuditEntry, AuditKind, Role, User
from tests.fakes.builders import T0
from tests.fakes.memory_store import InMemoryStore

FP, OTHER = "a" * 64, "b" * 64
PASSED = [ItemResult(section="Infrastructure", item="standby", requirement="a standby beats now",
                     figure="standby 7@db2 beat 0.3 s ago", passed=True)]
FAILED = [*PASSED, ItemResult(section="Platform", item="serve reachable", requirement="/health answers 200",
                              figure="connection refused", passed=False, detail="start `quantshift serve`")]


def _store(*admins: str) -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        for n, email in enumerate(admins):
            uow.users.add(User(user_id=f"u{n}", email=email, role=Role.ADMIN, password_hash="x", email_verified=True,
                               created_at=T0))
        uow.users.add(User(user_id="op", email="op@example.com", role=Role.OPERATOR, password_hash="x",
                           email_verified=True, created_at=T0))
        uow.commit()
    return store


def _issue(store: InMemoryStore, *, checked_by: str = "op@example.com", at=T0, days: int = 7, fingerprint: str = FP):
    with store() as uow:
        assert record_check(uow, bot="spy", fingerprint=fingerprint, items=PASSED, actor=checked_by,
                            broker="alpaca", now=at)
        certificate = issue_certificate(uow, bot="spy", fingerprint=fingerprint, items=PASSED, checked_by=checked_by,
                                        broker="alpaca", now=at, valid_for=timedelta(days=days))
        uow.commit()
    return certificate


def _approve(store: InMemoryStore, approver: str, *, at=T0 + timedelta(hours=1), fingerprint: str | None = None):
    with store() as uow:
        certificate = approve_certificate(uow, bot="spy", approver=approver, now=at, fingerprint=fingerprint)
        uow.commit()
    return certificate


def _current(store: InMemoryStore, *, at, fingerprint: str = FP):
    with store.unit_of_work(read_only=True) as uow:
        return (current_certificate(uow, bot="spy", fingerprint=fingerprint, now=at),
                certificate_problems(uow, bot="spy", fingerprint=fingerprint, now=at))


def test_an_approved_certificate_is_current_for_its_fingerprint_until_it_expires():
    store = _store("root@example.com")
    issued = _issue(store, days=7)
    assert issued.valid_until == T0 + timedelta(days=7)
    assert _current(store, at=T0 + timedelta(minutes=5)) == (None, [
        f"not approved: an admin runs `quantshift golive approve --bot spy` (certificate {issued.certificate_id})"])
    approved = _approve(store, "Root@Example.com")
    assert approved.approved_by == "root@example.com"
    current, problems = _current(store, at=T0 + timedelta(days=6, hours=23))
    assert current is not None and current.certificate_id == issued.certificate_id and problems == []
    assert current.items == tuple(PASSED) and current.checked_by == "op@example.com"
    expired, problems = _current(store, at=T0 + timedelta(days=7))
    assert expired is None and problems == [f"expired on 2025-01-09 15:00 UTC (certificate {issued.certificate_id}): "
                                            "run `quantshift golive check --bot spy` again"]


def test_a_changed_configuration_has_no_certificate_and_is_told_why():
    store = _store("root@example.com")
    _issue(store)
    _approve(store, "root@example.com")
    current, problems = _current(store, at=T0 + timedelta(hours=2), fingerprint=OTHER)
    assert current is None
    assert problems == ["issued for fingerprint aaaaaaaaaaaa..., the configuration is now bbbbbbbbbbbb...: "
                        "run `quantshift golive check --bot spy` again"]


def test_no_certificate_lists_the_failing_items_of_the_latest_check():
    store = _store("root@example.com")
    with store() as uow:
        assert not record_check(uow, bot="spy", fingerprint=FP, items=FAILED, actor="op@example.com", broker="",
                                now=T0)
        with pytest.raises(ValueError, match="every item passed"):
            issue_certificate(uow, bot="spy", fingerprint=FP, items=FAILED, checked_by="op", broker="", now=T0)
        uow.commit()
    _, problems = _current(store, at=T0)
    assert problems == ["no certificate: run `quantshift golive check --bot spy` until every item passes",
                        "failed at the latest check (2025-01-02 15:00 UTC): Platform / serve reachable: "
                        "connection refused (start `quantshift serve`)"]


def test_validity_is_one_to_thirty_days():
    store = _store()
    with store() as uow:
        for days in (0, 31):
            with pytest.raises(ValueError, match="1 to 30 days"):
                issue_certificate(uow, bot="spy", fingerprint=FP, items=PASSED, checked_by="op", broker="", now=T0,
                                  valid_for=timedelta(days=days))


def test_only_an_active_admin_approves_and_not_the_checker_where_there_are_two():
    store = _store("root@example.com", "second@example.com")
    _issue(store, checked_by="root@example.com")
    with pytest.raises(ApprovalRefused, match="op@example.com is not an active admin"):
        _approve(store, "op@example.com")
    with pytest.raises(ApprovalRefused, match="ran the check"):
        _approve(store, "ROOT@example.com")
    assert _approve(store, "second@example.com").approved_by == "second@example.com"
    # Approved once: a second approval records nothing more.
    _approve(store, "root@example.com")
    with store.unit_of_work(read_only=True) as uow:
        approvals = [e for e in uow.audit.list(kind=AuditKind.GOLIVE.value) if e.data["event"] == "approval"]
        assert [e.data["approved_by"] for e in approvals] == ["second@example.com"]
        assert latest_certificate(uow, bot="spy").approved_by == "second@example.com"


def test_a_single_admin_may_approve_their_own_check():
    store = _store("root@example.com")
    _issue(store, checked_by="root@example.com")
    assert _approve(store, "root@example.com").approved


def test_approval_is_refused_without_a_certificate_when_expired_or_for_another_configuration():
    store = _store("root@example.com")
    with pytest.raises(ApprovalRefused, match="no certificate to approve"):
        _approve(store, "root@example.com")
    _issue(store, days=1)
    with pytest.raises(ApprovalRefused, match="is for fingerprint aaaaaaaaaaaa"):
        _approve(store, "root@example.com", fingerprint=OTHER)
    with pytest.raises(ApprovalRefused, match="expired on 2025-01-03 15:00 UTC"):
        _approve(store, "root@example.com", at=T0 + timedelta(days=1))
    _, problems = _current(store, at=T0 + timedelta(days=1))
    assert [p.split(" (")[0].split(":")[0] for p in problems] == ["expired on 2025-01-03 15", "not approved"]


def test_a_demotion_from_live_voids_the_certificates_issued_before_it():
    store = _store("root@example.com")
    before = _issue(store)
    _approve(store, "root@example.com")
    demoted_at = T0 + timedelta(days=2)
    with store() as uow:  # the probation's record of a demotion (application/golive/probation.py)
        uow.audit.append(AuditEntry(ts=demoted_at, kind=AuditKind.GOLIVE, account="alpaca-live", bot="spy",
                                    message="spy demoted back to paper: win rate out of band",
                                    data={"event": "demoted", "fingerprint": FP,
                                          "certificate_id": before.certificate_id}))
        uow.commit()
    current, problems = _current(store, at=demoted_at + timedelta(hours=1))
    assert current is None
    assert problems == [f"demoted from live on 2025-01-04 15:00 UTC, after certificate {before.certificate_id} was "
                        "issued: run `quantshift golive check --bot spy` again"]
    after = _issue(store, at=demoted_at + timedelta(hours=2))
    _approve(store, "root@example.com", at=demoted_at + timedelta(hours=3))
    current, problems = _current(store, at=demoted_at + timedelta(hours=4))
    assert current is not None and current.certificate_id == after.certificate_id and problems == []


def test_a_certificate_checked_for_one_venue_does_not_take_the_bot_live_on_another():
    store = _store("root@example.com")
    issued = _issue(store)  # checked for alpaca
    _approve(store, "root@example.com")
    at = T0 + timedelta(hours=2)
    with store.unit_of_work(read_only=True) as uow:
        assert current_certificate(uow, bot="spy", fingerprint=FP, now=at, broker="alpaca") is not None
        assert current_certificate(uow, bot="spy", fingerprint=FP, now=at, broker="coinbase") is None
        assert certificate_problems(uow, bot="spy", fingerprint=FP, now=at, broker="coinbase") == [
            f"checked for alpaca, not coinbase (certificate {issued.certificate_id}): run "
            "`quantshift golive check --bot spy --broker coinbase`"]
