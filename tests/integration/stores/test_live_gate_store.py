"""The live gate's watch on the real stores (SQLite file and Postgres): the REDUCING it sets is the
switch the intent transaction reads (effective_state), its audit entries are the documented
GOLIVE records, and a restart's watch lifts what an earlier run left once the bot is certified."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from application.golive.certificates import certificate_problems, issue_certificate
from application.golive.checklist import ItemResult
from application.golive.fingerprint import BotFingerprint
from application.golive.live_gate import GOLIVE_ACTOR, CertificateWatch
from application.records import AuditEntry, AuditKind
from application.safety.control import effective_control
from domain.risk.trading_state import TradingState
from tests.fakes.notifier import RecordingNotifier

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)
RUNNING = BotFingerprint(bot="eq", ingredients={"params.fast": 10})
CHANGED = BotFingerprint(bot="eq", ingredients={"params.fast": 11})


def test_the_watch_blocks_and_unblocks_through_the_stores_switch(store):
    with store() as uow:
        certificate = issue_certificate(uow, bot="eq", fingerprint=RUNNING.digest, now=NOW, checked_by="op",
                                        broker="alpaca", items=[ItemResult(section="Platform", item="serve",
                                                                           requirement="up", figure="200",
                                                                           passed=True)])
        uow.audit.append(AuditEntry(ts=NOW, kind=AuditKind.GOLIVE, bot="eq", message="approved", data={
            "event": "approval", "certificate_id": certificate.certificate_id, "approved_by": "admin"}))
        uow.commit()
    current = {"eq": CHANGED}

    def watch() -> CertificateWatch:
        return CertificateWatch(account="alpaca-live", running={"eq": RUNNING}, read_fingerprints=lambda: current,
                                problems=certificate_problems, uow_factory=store, notifier=RecordingNotifier(),
                                every_seconds=0)

    assert "params.fast" in watch().check(now=NOW + timedelta(minutes=1))["eq"]
    with store() as uow:
        control = effective_control(uow, account="alpaca-live", bot="eq")
    assert control is not None and (control.state, control.actor) == (TradingState.REDUCING, GOLIVE_ACTOR)
    current = {"eq": RUNNING}  # put back; a new process's watch (a restart) lifts the block
    assert watch().check(now=NOW + timedelta(minutes=2)) == {}
    with store() as uow:
        control = effective_control(uow, account="alpaca-live", bot="eq")
        events = [(e.data["event"], e.data["fingerprint"], e.account) for e in uow.audit.list(kind="golive", limit=100)
                  if str(e.data.get("event")).startswith("entries_")]
    assert control is not None and control.state is TradingState.ACTIVE
    assert events == [("entries_blocked", RUNNING.digest, "alpaca-live"),
                      ("entries_unblocked", RUNNING.digest, "alpaca-live")]
