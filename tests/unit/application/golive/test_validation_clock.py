"""The validation clock on a real SQLite store file: epochs bound to the fingerprint and the paper
account, and the figures of the current epoch only (days the bot ran, by the NYSE calendar for
equities and UTC days for crypto; round trips, win rate, drawdown, critical events)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import attrs
import pytest

from adapters.sqlite import SqliteStore
from application.golive.validation_clock import (
    current_epoch,
    ensure_epoch,
    restart_epoch,
    validation_items,
    validation_status,
)
from application.records import AuditEntry, AuditKind
from domain.analytics.golive import GoLiveCriteria
from domain.errors import ConfigurationError
from entrypoints.golive_calendar import NyseCalendar
from tests.support.validation_records import beat, critical, fingerprint, hourly, trip, write

UTC = timezone.utc
# Thanksgiving week 2026: Thursday the 26th is an NYSE holiday, Friday the 27th closes at 13:00 New York.
MON = datetime(2026, 11, 23, tzinfo=UTC)
NOON_NY = timedelta(hours=17)  # 12:00 in New York (EST), inside every session of the week
CRITERIA = GoLiveCriteria(min_trading_days=3, min_trades=2, min_win_rate=0.5, max_drawdown=0.2)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(path=tmp_path / "store.db")
    yield s
    s.close()


def _status(store, bot, *, asset_class="equity", now):
    with store.unit_of_work(read_only=True) as uow:
        return validation_status(uow, bot=bot, asset_class=asset_class, now=now, criteria=CRITERIA,
                                 calendar=NyseCalendar())


def _epoch(store, bot="eq", *, at=MON, account="paper", **ingredients):
    with store() as uow:
        epoch = ensure_epoch(uow, fingerprint=fingerprint(bot, **ingredients), account=account, now=at)
        uow.commit()
    return epoch


def _validation_entries(store):
    with store.unit_of_work(read_only=True) as uow:
        return uow.audit.list(kind="validation", limit=1000)


def test_a_fresh_account_gets_epoch_one_once_and_the_record_has_the_contract_fields(store):
    with store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="eq") is None
    first = _epoch(store)
    again = _epoch(store, at=MON + timedelta(days=3))  # a restart with the same configuration
    assert again == first
    assert (first.number, first.account, first.reason, first.changed, first.started_at) == (
        1, "paper", "first run", (), MON)
    [entry] = _validation_entries(store)
    assert (entry.kind, entry.bot, entry.account, entry.ts) == (AuditKind.VALIDATION, "eq", "paper", MON)
    assert entry.data == {"event": "epoch_started", "epoch": 1, "fingerprint": fingerprint("eq").digest,
                          "ingredients": dict(fingerprint("eq").ingredients), "changed": [], "reason": "first run",
                          "actor": "session"}


def test_a_parameter_change_starts_a_new_epoch_audited_with_what_changed(store):
    _epoch(store)
    changed = _epoch(store, at=MON + timedelta(days=1), **{"params.fast": 12})
    assert (changed.number, changed.reason, changed.changed) == (2, "configuration changed", ("params.fast",))
    moved = _epoch(store, at=MON + timedelta(days=2), account="alpaca-paper", **{"params.fast": 12})
    assert (moved.number, moved.reason, moved.changed) == (3, "account changed", ())
    with store() as uow:
        reset = restart_epoch(uow, fingerprint=fingerprint("eq", **{"params.fast": 12}), account="alpaca-paper",
                              now=MON + timedelta(days=3), reason="fresh start", actor="ops@desk")
        uow.commit()
    assert (reset.number, reset.reason, reset.actor) == (4, "reset: fresh start", "ops@desk")
    entries = _validation_entries(store)
    assert [e.data["changed"] for e in entries] == [[], ["params.fast"], [], []]
    assert "params.fast" in entries[1].message
    with store.unit_of_work(read_only=True) as uow:
        assert current_epoch(uow, bot="eq") == reset


@pytest.mark.parametrize("account", ["sim-0001", "alpaca-live", "coinbase"])
def test_accounts_that_are_not_real_time_paper_never_get_an_epoch(store, account):
    with store() as uow, pytest.raises(ConfigurationError, match="not real-time paper"):
        ensure_epoch(uow, fingerprint=fingerprint("eq"), account=account, now=MON)
    assert _validation_entries(store) == []


def test_equity_counts_nyse_sessions_and_crypto_every_utc_day_the_bot_ran(store):
    _epoch(store, "eq")
    _epoch(store, "btc")
    week = [MON + timedelta(days=d) + NOON_NY for d in range(7)]  # Mon .. Sun, one point a day
    write(store, bot="eq", points=[(ts, 100_000) for ts in week])
    write(store, bot="btc", points=[(ts, 50_000) for ts in week])
    now = MON + timedelta(days=8)
    equity = _status(store, "eq", now=now)
    assert equity.days == (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27))
    assert equity.trading_days == 4 and equity.day_unit == "NYSE sessions"  # not Thanksgiving, not the weekend
    crypto = _status(store, "btc", asset_class="crypto", now=now)
    assert crypto.trading_days == 7 and crypto.day_unit == "UTC days"
    # A point after Friday's early close (13:00 New York) is not inside that session.
    _epoch(store, "late")
    write(store, bot="late", points=[(datetime(2026, 11, 27, 19, 0, tzinfo=UTC), 1)])
    assert _status(store, "late", now=now).trading_days == 0


def test_days_without_records_are_not_counted_but_the_current_run_is(store):
    _epoch(store, "btc")
    write(store, bot="btc", points=[(ts, 50_000) for ts in hourly(MON, 30)])  # Monday and Tuesday
    # Switched off for the rest of the week; started again on the next Monday, running till Wednesday.
    restarted = MON + timedelta(days=7, hours=10)
    beat(store, bot="btc", started=restarted, last=restarted + timedelta(days=2))
    status = _status(store, "btc", asset_class="crypto", now=restarted + timedelta(days=2, minutes=1))
    assert status.days == (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 30), date(2026, 12, 1),
                           date(2026, 12, 2))
    # Records before the epoch's start never count: a new epoch on Tuesday evening starts from zero days.
    _epoch(store, "btc", at=MON + timedelta(days=1, hours=23), **{"params.fast": 5})
    assert _status(store, "btc", asset_class="crypto", now=MON + timedelta(days=2)).trading_days == 0


def test_the_figures_are_the_current_epochs_only(store):
    start = MON + timedelta(hours=15)
    # Before the epoch: a trade, a deep fall and a crash, all of the earlier configuration.
    write(store, bot="eq", points=[(MON + timedelta(hours=14, minutes=45), 100_000)],
          trips=[trip("eq", opened=MON - timedelta(days=3), closed=MON - timedelta(days=2), pnl=-50)],
          audit=[critical(MON + timedelta(hours=14), "bot eq ended without a clean stop", bot="eq")])
    _epoch(store, "eq", at=start)
    t = start + timedelta(hours=1)
    write(store, bot="eq", points=[(t, 100_000), (t + timedelta(hours=1), 110_000), (t + timedelta(hours=2), 99_000),
                                   (t + timedelta(hours=3), 105_000)],
          trips=[trip("eq", opened=start - timedelta(hours=1), closed=t, pnl=30),  # opened before: not this epoch's
                 trip("eq", opened=t, closed=t + timedelta(hours=1), pnl=20),
                 trip("eq", opened=t + timedelta(hours=1), closed=t + timedelta(hours=2), pnl=-10),
                 trip("eq", opened=t + timedelta(hours=2), closed=t + timedelta(hours=3), pnl=5)],
          audit=[critical(t, "strategy ma_crossover disabled: ZeroDivisionError", bot="eq"),
                 critical(t, "reconciliation MISMATCH (1): position SPY"),  # the account's, no bot: counted
                 critical(t, "halted (bot paper/eq): risk throttle", bot="eq", kind=AuditKind.HALT, actor="risk-engine"),
                 critical(t, "halted (bot paper/eq): drill", bot="eq", kind=AuditKind.HALT, actor="ops@desk"),
                 critical(t, "strategy failed", bot="other"),  # another bot's
                 critical(t, "strategy failed", bot="eq", account="sim-0001")])  # an accelerated session's
    write(store, account="sim-0001", bot="eq", trips=[trip("eq", opened=t, closed=t + timedelta(hours=1), pnl=99)])
    status = _status(store, "eq", now=t + timedelta(hours=4))
    assert status.round_trips == 3
    assert status.win_rate == pytest.approx(2 / 3)
    assert status.max_drawdown == pytest.approx(0.1)  # 110,000 -> 99,000, not the fall before the epoch
    assert [e.message for e in status.critical_events] == [
        "strategy ma_crossover disabled: ZeroDivisionError", "reconciliation MISMATCH (1): position SPY",
        "halted (bot paper/eq): risk throttle"]
    assert status.trading_days == 1 and not status.passed
    assert {c.name: c.passed for c in status.criteria} == {
        "trading_days": False, "round_trips": True, "win_rate": True, "max_drawdown": True, "critical_errors": False}


def test_the_instance_a_failover_drill_killed_is_not_a_crash_but_any_other_unclean_end_is(store):
    start = MON + timedelta(hours=15)
    _epoch(store, "eq", at=start)
    t = start + timedelta(hours=1)

    def unclean(at, pid, host="db1"):
        return attrs.evolve(critical(at, f"bot eq ended without a clean stop: pid {pid} on {host}", bot="eq"),
                            data={"event": "unclean_end", "pid": pid, "host": host})

    drill = AuditEntry(ts=t + timedelta(seconds=2), kind=AuditKind.DRILL, account="paper",
                       message="failover drill of paper: PASSED",
                       data={"drill": "failover", "from_instance": "41@db1", "to_instance": "42@db1", "passed": True})
    write(store, bot="eq", audit=[unclean(t, 41), drill,
                                  unclean(t, 43),  # another instance: a real crash
                                  unclean(t, 41, host="db2"),  # the same pid on another host
                                  unclean(t + timedelta(hours=1), 41)])  # pid 41 again, after the drill: a crash
    events = _status(store, "eq", now=t + timedelta(hours=2)).critical_events
    assert [e.message for e in events] == ["bot eq ended without a clean stop: pid 43 on db1",
                                           "bot eq ended without a clean stop: pid 41 on db2",
                                           "bot eq ended without a clean stop: pid 41 on db1"]
    assert events[-1].ts == t + timedelta(hours=1)


def test_items_say_what_to_do_and_pass_only_on_a_full_record(store):
    [*items] = validation_items(_status(store, "eq", now=MON))  # no epoch at all
    assert [i.item for i in items] == ["paper trading days", "round trips", "win rate", "max drawdown",
                                       "no critical event"]
    assert {i.section for i in items} == {"Bot validation"} and not any(i.passed for i in items)
    assert "quantshift paper" in items[0].detail and "accelerated sessions never count" in items[0].detail

    _epoch(store, "eq", at=MON + timedelta(hours=14))
    days = [MON + timedelta(days=d) + NOON_NY for d in (0, 1, 2, 4)]
    write(store, bot="eq", points=[(ts, 100_000 + i) for i, ts in enumerate(days)],
          trips=[trip("eq", opened=days[0], closed=days[1], pnl=5), trip("eq", opened=days[1], closed=days[2], pnl=7)])
    status = _status(store, "eq", now=days[-1] + timedelta(hours=1))
    items = validation_items(status)
    assert status.passed and all(i.passed for i in items), [(i.item, i.figure) for i in items]
    assert items[0].figure.startswith("4 NYSE sessions (epoch 1 on paper since 2026-11-23 14:00Z, fingerprint ")
    assert items[2].figure == "100.00%"
