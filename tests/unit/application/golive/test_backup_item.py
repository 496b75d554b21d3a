"""The checklist item "a backup taken within 24 h and verified by a restore", read from the
audit trail (records written with older ts move time; no patching)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from application.golive.backups import backup_item, latest_verified_backup
from application.records import AuditEntry, AuditKind
from tests.fakes.memory_store import InMemoryStore

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def record(store: InMemoryStore, *, event: str, at: datetime, sha: str = "a" * 64, passed: bool | None = None,
           path: str = "/backups/qs.db", detail: str = "") -> None:
    data: dict[str, object] = {"event": event, "path": path, "engine": "sqlite", "tables": {"orders": 3},
                               "sha256": sha, "detail": detail}
    if passed is not None:
        data["passed"] = passed
    with store() as uow:
        uow.audit.append(AuditEntry(ts=at, kind=AuditKind.BACKUP, message=f"backup {event}", data=data))
        uow.commit()


def item(store: InMemoryStore, **options):
    with store() as uow:
        return backup_item(uow, now=NOW, **options)


def test_no_backup_fails_and_says_what_to_run() -> None:
    result = item(InMemoryStore())
    assert (result.section, result.item, result.passed) == ("Infrastructure", "backup verified", False)
    assert result.figure == "no backup on record"
    assert "quantshift db backup --to PATH" in result.detail and "quantshift db verify-backup PATH" in result.detail


def test_a_recent_backup_with_a_passing_verification_passes() -> None:
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=3))
    record(store, event="verified", at=NOW - timedelta(hours=2, minutes=55), passed=True)
    result = item(store)
    assert result.passed, result
    assert "/backups/qs.db taken 2026-12-07 09:00 UTC (3 h ago)" in result.figure
    assert "within 24 h" in result.requirement
    with store() as uow:
        latest = latest_verified_backup(uow)
    assert latest is not None and latest.data["passed"] is True


def test_an_unverified_backup_fails_naming_the_command() -> None:
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=1), path="/b/one.db")
    result = item(store)
    assert not result.passed
    assert result.figure.endswith("not verified")
    assert result.detail == "verify it: `quantshift db verify-backup /b/one.db`"


def test_a_failed_verification_fails_with_its_reason() -> None:
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=1))
    record(store, event="verified", at=NOW - timedelta(minutes=50), passed=False, detail="table orders: row 2 differs")
    result = item(store)
    assert not result.passed
    assert "verification FAILED" in result.figure
    assert result.detail.startswith("table orders: row 2 differs; take a new backup")
    with store() as uow:
        assert latest_verified_backup(uow) is None


def test_a_backup_older_than_max_age_fails_even_when_verified() -> None:
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=25))
    record(store, event="verified", at=NOW - timedelta(hours=24, minutes=30), passed=True)
    result = item(store)
    assert not result.passed
    assert "(25 h ago)" in result.figure and "older than 24 h" in result.detail
    assert item(store, max_age=timedelta(hours=26)).passed  # the bound is the argument's


def test_a_verification_of_another_file_does_not_count() -> None:
    """A passing verification of a backup this store never took (another sha256) proves nothing
    about this store's backup."""
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=1), sha="a" * 64)
    record(store, event="verified", at=NOW - timedelta(minutes=30), sha="b" * 64, passed=True)
    assert not item(store).passed
    with store() as uow:
        assert latest_verified_backup(uow) is None


def test_a_newer_failing_backup_does_not_hide_an_older_passing_one() -> None:
    store = InMemoryStore()
    record(store, event="taken", at=NOW - timedelta(hours=5), sha="a" * 64)
    record(store, event="verified", at=NOW - timedelta(hours=4), sha="a" * 64, passed=True)
    record(store, event="taken", at=NOW - timedelta(hours=1), sha="c" * 64, path="/b/newer.db")
    assert item(store).passed
