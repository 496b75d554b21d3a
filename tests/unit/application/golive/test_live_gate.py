"""The live gate's watch: a bot whose configuration changed, or whose certificate expired, is held
REDUCING (entries refused, exits allowed) under its own actor, audited and alerted, and let go
only when a current certificate holds for the running configuration; other actors' switches
are never lifted by it. And the checklist's live-credentials item."""

from __future__ import annotations

from datetime import timedelta

import attrs

from application.golive.certificates import certificate_problems, issue_certificate
from application.golive.checklist import ItemResult
from application.golive.fingerprint import BotFingerprint
from application.golive.live_credentials import equal_keys, live_credentials_item, live_key_problems
from application.golive.live_gate import GOLIVE_ACTOR, CertificateWatch, refusals
from application.ports import AlertLevel
from application.records import AuditEntry, AuditKind, ControlState, bot_scope
from application.venues.ports import VenuePermissions
from domain.errors import ConfigurationError
from domain.risk.trading_state import TradingState
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.venue_account import FakeVenueAccount, snapshot

ACCOUNT = "alpaca-live"
RUNNING = BotFingerprint(bot="eq", ingredients={"params.fast": 10, "bot.capital": 1000})
CHANGED = BotFingerprint(bot="eq", ingredients={"params.fast": 12, "bot.capital": 1000})
PASSED = [ItemResult(section="Platform", item="serve", requirement="answers", figure="200", passed=True)]


def _certify(store: InMemoryStore, *, fingerprint: str = RUNNING.digest, at=T0, approved: bool = True) -> None:
    with store() as uow:
        certificate = issue_certificate(uow, bot="eq", fingerprint=fingerprint, items=PASSED, checked_by="op",
                                        broker="alpaca", now=at)
        if approved:
            uow.audit.append(AuditEntry(ts=at, kind=AuditKind.GOLIVE, bot="eq", message="approved", data={
                "event": "approval", "certificate_id": certificate.certificate_id, "approved_by": "admin"}))
        uow.commit()


@attrs.define
class _File:
    """The configuration file as the watch re-reads it."""

    prints: dict = attrs.field(factory=lambda: {"eq": RUNNING})
    error: str = ""

    def read(self) -> dict:
        if self.error:
            raise ConfigurationError(self.error)
        return self.prints


def _watch(store: InMemoryStore, file: _File, notifier: RecordingNotifier) -> CertificateWatch:
    return CertificateWatch(account=ACCOUNT, running={"eq": RUNNING}, read_fingerprints=file.read,
                            problems=certificate_problems, uow_factory=store, notifier=notifier, every_seconds=0)


def _state(store: InMemoryStore) -> ControlState | None:
    with store() as uow:
        return uow.control.get(bot_scope(ACCOUNT, "eq"))


def _events(store: InMemoryStore) -> list[str]:
    with store() as uow:
        return [str(e.data["event"]) for e in uow.audit.list(kind="golive", limit=1000)
                if str(e.data.get("event", "")).startswith("entries_")]


def test_a_config_change_holds_the_bot_reducing_until_the_certified_config_is_back():
    store, file, notifier = InMemoryStore(), _File(), RecordingNotifier()
    _certify(store)
    watch = _watch(store, file, notifier)
    assert watch.check(now=T0 + timedelta(hours=1)) == {}
    assert _state(store) is None and _events(store) == []  # certified: nothing written
    file.prints = {"eq": CHANGED}
    blocked = watch.check(now=T0 + timedelta(hours=2))
    assert "configuration changed (params.fast)" in blocked["eq"]
    state = _state(store)
    assert state is not None and (state.state, state.actor) == (TradingState.REDUCING, GOLIVE_ACTOR)
    assert state.state.allows(reduces_risk=True) and not state.state.allows(reduces_risk=False)
    watch.check(now=T0 + timedelta(hours=3))  # still changed: told once
    assert _events(store) == ["entries_blocked"]
    assert notifier.titles(AlertLevel.CRITICAL) == ["live bot eq: new entries blocked"]
    # A certificate for the NEW configuration does not help: the session still runs the old one.
    _certify(store, fingerprint=CHANGED.digest, at=T0 + timedelta(hours=3))
    assert "eq" in watch.check(now=T0 + timedelta(hours=4))
    file.prints = {"eq": RUNNING}
    assert watch.check(now=T0 + timedelta(hours=5)) == {}
    assert _state(store).state is TradingState.ACTIVE  # type: ignore[union-attr]
    assert _events(store) == ["entries_blocked", "entries_unblocked"]
    with store() as uow:
        blocked_entry = [e for e in uow.audit.list(kind="golive", limit=100) if e.data.get("event") == "entries_blocked"]
    assert blocked_entry[0].data["fingerprint"] == RUNNING.digest and blocked_entry[0].account == ACCOUNT


def test_expiry_an_unreadable_file_and_a_removed_bot_block_too():
    store, file, notifier = InMemoryStore(), _File(), RecordingNotifier()
    _certify(store)  # valid for 7 days from T0
    watch = _watch(store, file, notifier)
    assert "expired on" in watch.check(now=T0 + timedelta(days=8))["eq"]
    store2, file2 = InMemoryStore(), _File(error="config file bots.toml is not valid TOML")
    _certify(store2)
    assert "cannot be read" in _watch(store2, file2, notifier).check(now=T0)["eq"]
    store3, file3 = InMemoryStore(), _File(prints={})
    _certify(store3)
    assert "no longer in the configuration" in _watch(store3, file3, notifier).check(now=T0)["eq"]


def test_a_resume_does_not_lift_the_block_and_other_actors_switches_are_left_alone():
    store, file, notifier = InMemoryStore(), _File(prints={"eq": CHANGED}), RecordingNotifier()
    _certify(store)
    watch = _watch(store, file, notifier)
    watch.check(now=T0)
    with store() as uow:  # an operator's resume
        uow.control.set(ControlState(scope=bot_scope(ACCOUNT, "eq"), state=TradingState.ACTIVE, reason="resume",
                                     actor="op", changed_at=T0))
        uow.commit()
    watch.tick(now=T0 + timedelta(seconds=1))
    assert _state(store).state is TradingState.REDUCING  # type: ignore[union-attr]
    # A halt by someone else stays a halt, and the unblock does not lift it.
    with store() as uow:
        uow.control.set(ControlState(scope=bot_scope(ACCOUNT, "eq"), state=TradingState.HALTED, reason="breaker",
                                     actor="risk:drawdown", changed_at=T0))
        uow.commit()
    watch.tick(now=T0 + timedelta(seconds=2))
    assert _state(store).state is TradingState.HALTED  # type: ignore[union-attr]
    file.prints = {"eq": RUNNING}
    assert watch.check(now=T0 + timedelta(seconds=3)) == {}
    assert _state(store).state is TradingState.HALTED  # type: ignore[union-attr]
    assert _events(store) == ["entries_blocked", "entries_unblocked"]


def test_a_block_left_by_an_earlier_run_is_lifted_once_certified_and_refusals_list_the_uncertified():
    store, file, notifier = InMemoryStore(), _File(), RecordingNotifier()
    _certify(store)
    with store() as uow:
        uow.control.set(ControlState(scope=bot_scope(ACCOUNT, "eq"), state=TradingState.REDUCING, reason="old",
                                     actor=GOLIVE_ACTOR, changed_at=T0))
        uow.commit()
    _watch(store, file, notifier).check(now=T0)
    assert _state(store).state is TradingState.ACTIVE  # type: ignore[union-attr]
    with store() as uow:
        other = BotFingerprint(bot="eq2", ingredients={"x": 1})
        refused = refusals(uow, fingerprints={"eq": RUNNING, "eq2": other}, now=T0, problems=certificate_problems)
    assert list(refused) == ["eq2"] and "no certificate" in refused["eq2"][0]


def test_live_credentials_item_and_the_live_start_key_checks():
    clock = FixedClock(T0)
    account = FakeVenueAccount(clock_ts=T0)
    keys = {"ALPACA_LIVE_API_KEY": True, "ALPACA_LIVE_SECRET_KEY": True}
    item = live_credentials_item(venue="alpaca", keys=keys, connect=lambda: account, clock=clock)
    assert item.passed and item.section == "Infrastructure" and item.item == "live credentials"
    account.snapshot = snapshot(status="ACCOUNT_CLOSED", trading_blocked=True)
    item = live_credentials_item(venue="alpaca", keys=keys, connect=lambda: account, clock=clock)
    assert not item.passed and "account" in item.detail
    assert live_key_problems(account) and "trading blocked" in live_key_problems(account)[0]
    account.snapshot = snapshot()
    account.permissions_value = VenuePermissions(can_read=True, can_trade=False, detail="view only")
    assert live_key_problems(account) == ["the key may not trade (view only)"]
    missing = live_credentials_item(venue="alpaca", keys={**keys, "ALPACA_LIVE_SECRET_KEY": False},
                                    connect=lambda: account, clock=clock)
    assert not missing.passed and "ALPACA_LIVE_SECRET_KEY" in missing.detail
    same = equal_keys(live={"ALPACA_LIVE_API_KEY": "PK1", "ALPACA_LIVE_SECRET_KEY": "s2"},
                      paper={"ALPACA_API_KEY": "PK1", "ALPACA_SECRET_KEY": "s1"})
    assert same == ["ALPACA_LIVE_API_KEY"]
    refused = live_credentials_item(venue="alpaca", keys=keys, connect=lambda: account, clock=clock,
                                    same_as_paper=same)
    assert not refused.passed and "paper" in refused.figure
