"""What the admin platform shows of a bot: the latest record of each sort, the bot's own or the
deployment's (failover, backups, a kill-switch drill of no bot), the certificate's state."""

from __future__ import annotations

from datetime import timedelta

from application.golive.checklist import ItemResult
from application.golive.overview import bot_overview, evidence
from application.records import AuditEntry, AuditKind
from tests.fakes.builders import T0
from tests.fakes.memory_store import InMemoryStore

FP = "a" * 64
ITEM = ItemResult(section="Platform", item="serve reachable", requirement="/health answers 200", figure="200 in 4 ms",
                  passed=True)


def _entry(kind: AuditKind, minutes: int, *, bot: str = "btc", account: str = "", **data: object) -> AuditEntry:
    return AuditEntry(ts=T0 + timedelta(minutes=minutes), kind=kind, bot=bot, account=account, message="m", data=data)


def _certificate(minutes: int, certificate_id: str, *, fingerprint: str = FP, days: int = 7) -> AuditEntry:
    issued = T0 + timedelta(minutes=minutes)
    return _entry(AuditKind.GOLIVE, minutes, event="certificate", certificate_id=certificate_id, fingerprint=fingerprint,
                  items=[ITEM.to_json()], checked_by="op@example.com", issued_at=issued.isoformat(),
                  valid_until=(issued + timedelta(days=days)).isoformat(), broker="coinbase")


def _read(*entries: AuditEntry, minutes: int = 100, fingerprint: str | None = FP):
    store = InMemoryStore()
    with store() as uow:
        for entry in entries:
            uow.audit.append(entry)
        uow.commit()
    with store() as uow:
        found = evidence(uow)
    return bot_overview(found, bot="btc", fingerprint=fingerprint, now=T0 + timedelta(minutes=minutes))


def test_the_latest_record_of_each_sort_wins_and_other_bots_are_left_out():
    view = _read(
        _entry(AuditKind.VALIDATION, 1, account="paper", event="epoch_started", epoch=1, fingerprint="old",
               changed=[], reason="first run", actor="session"),
        _entry(AuditKind.VALIDATION, 2, account="paper", event="epoch_started", epoch=2, fingerprint=FP,
               changed=["params.fast"], reason="configuration changed", actor="session"),
        _entry(AuditKind.VALIDATION, 3, bot="eth", account="paper", event="epoch_started", epoch=9, fingerprint="x"),
        _entry(AuditKind.GOLIVE, 4, event="check", fingerprint=FP, items=[ITEM.to_json()], passed=True, actor="a",
               broker=""),
        _entry(AuditKind.GOLIVE, 5, bot="eth", event="check", fingerprint="x", items=[], passed=False, actor="b"),
        _entry(AuditKind.DRILL, 6, account="paper", drill="killswitch", passed=False, detail="late", cancel_seconds=3.2),
        _entry(AuditKind.DRILL, 7, bot="", account="paper", drill="killswitch", passed=True, detail="ok",
               cancel_seconds=0.4),
        _entry(AuditKind.DRILL, 8, bot="eth", account="paper", drill="killswitch", passed=False, detail="eth's"),
        _entry(AuditKind.DRILL, 9, bot="", drill="failover", passed=True, detail="", takeover_seconds=1.5),
        _entry(AuditKind.BACKUP, 10, bot="", event="taken", path="/b/1.db", engine="sqlite", tables={"orders": 3},
               sha256="f" * 64),
        _entry(AuditKind.BACKUP, 11, bot="", event="verified", path="/b/1.db", engine="sqlite", tables={}, sha256="",
               passed=True, detail="matched"),
        _entry(AuditKind.GOLIVE, 12, event="entries_blocked", reason="configuration changed", fingerprint=FP),
        _entry(AuditKind.GOLIVE, 13, event="probation_started", fraction="0.1", days=10, figures={"win_rate": 0.5},
               reason="certified"),
    )
    assert view.epoch is not None and (view.epoch.epoch, view.epoch.changed) == (2, ("params.fast",))
    assert view.last_check is not None and view.last_check.items == (ITEM,) and view.last_check.actor == "a"
    assert view.killswitch is not None and view.killswitch.detail == "ok"  # a drill of no bot counts for every bot
    assert view.killswitch.figures == {"cancel_seconds": 0.4}
    assert view.failover is not None and view.failover.figures == {"takeover_seconds": 1.5}
    assert view.backup_taken is not None and view.backup_taken.tables == {"orders": 3}
    assert view.backup_verified is not None and view.backup_verified.passed is True
    assert view.entries_blocked == "configuration changed"
    assert view.probation is not None and view.probation.event == "probation_started" and view.probation.days == 10
    assert view.certificate is None


def test_entries_unblocked_ends_the_block():
    view = _read(_entry(AuditKind.GOLIVE, 1, event="entries_blocked", reason="no certificate"),
                 _entry(AuditKind.GOLIVE, 2, event="entries_unblocked", reason="certified"))
    assert view.entries_blocked is None


def test_the_certificate_state_is_that_of_the_latest_one():
    approval = _entry(AuditKind.GOLIVE, 3, event="approval", certificate_id="c1", approved_by="boss@example.com")
    second_approval = _entry(AuditKind.GOLIVE, 4, event="approval", certificate_id="c1", approved_by="other@example.com")
    assert _read(_certificate(1, "c1")).certificate.state == "awaiting approval"  # type: ignore[union-attr]
    approved = _read(_certificate(1, "c1"), approval, second_approval).certificate
    assert approved is not None and approved.state == "valid" and approved.approved_by == "boss@example.com"
    assert approved.items == (ITEM,) and approved.checked_by == "op@example.com"
    changed = _read(_certificate(1, "c1"), approval, fingerprint="b" * 64).certificate
    assert changed is not None and changed.state == "configuration changed"
    expired = _read(_certificate(1, "c1", days=1), approval, minutes=1 + 24 * 60).certificate
    assert expired is not None and expired.state == "expired"
    newer = _read(_certificate(1, "c1"), approval, _certificate(5, "c2")).certificate
    assert newer is not None and (newer.certificate_id, newer.state) == ("c2", "awaiting approval")
