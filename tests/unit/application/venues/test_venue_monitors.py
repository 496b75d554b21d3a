"""Buying power, margin and funding monitors, and `doctor`'s checks, over fake venue ports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from application.ports import AlertLevel
from application.venues.doctor import Verdict, diagnose, healthy
from application.venues.ports import FundingRate
from application.venues.venue_monitors import AccountMonitor, FundingMonitor, assess_account, assess_funding
from tests.fakes.clock import FixedClock
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.venue_account import FakeFunding, FakeVenueAccount, snapshot

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


class Ticks:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_healthy_account_has_nothing_to_say():
    assert assess_account(snapshot()).level is AlertLevel.INFO


def test_blocked_accounts_and_margin_calls_are_critical_and_thin_buying_power_warns():
    blocked = assess_account(snapshot(trading_blocked=True))
    assert blocked.level is AlertLevel.CRITICAL and "trading blocked" in blocked.summary
    call = assess_account(snapshot(equity=Decimal(9_000), maintenance_margin=Decimal(9_500)))
    assert call.level is AlertLevel.CRITICAL and "margin call: equity 9000.00" in call.summary
    thin = assess_account(snapshot(buying_power=Decimal(1_000)))
    assert thin.level is AlertLevel.WARNING and "buying power 1000.00 is below 5% of equity" in thin.summary
    intraday = assess_account(snapshot(daytrading_buying_power=Decimal(0)))
    assert intraday.level is AlertLevel.WARNING and "intraday" in intraday.summary
    near = assess_account(snapshot(maintenance_margin=Decimal(85_000)))
    assert near.level is AlertLevel.WARNING and "85% of equity" in near.summary


def test_the_account_monitor_alerts_on_a_change_once_and_when_it_clears():
    venue, notes, ticks = FakeVenueAccount(clock_ts=NOW), RecordingNotifier(), Ticks()
    monitor = AccountMonitor(account=venue, notifier=notes, every_seconds=60, monotonic=ticks)
    monitor.tick(now=NOW)
    assert notes.sent == []
    venue.snapshot = snapshot(buying_power=Decimal(0))
    monitor.tick(now=NOW)  # not due yet: the venue is not asked
    assert venue.calls == 1 and notes.sent == []
    for _ in range(3):
        ticks.t += 60
        monitor.tick(now=NOW)
    assert notes.titles() == ["fakevenue account: warning"]  # told once, not on every look
    venue.snapshot = snapshot()
    ticks.t += 60
    monitor.tick(now=NOW)
    assert notes.titles()[-1] == "fakevenue account: back to normal"
    venue.down = True
    ticks.t += 60
    monitor.tick(now=NOW)  # a venue that does not answer is not an account finding (and never raises)
    assert len(notes.sent) == 2


def test_funding_rates_beyond_the_threshold_warn_and_a_venue_without_perpetuals_is_skipped_once():
    rate = FundingRate(symbol="BTC-PERP-INTX", rate=Decimal("0.0008"), ts=NOW, interval=timedelta(hours=1))
    assessment = assess_funding([rate])
    assert assessment.level is AlertLevel.WARNING
    assert assessment.summary == "BTC-PERP-INTX funding 0.0800% per 1h: longs pay shorts"
    notes, ticks = RecordingNotifier(), Ticks()
    funding = FakeFunding(rates=[rate])
    FundingMonitor(funding=funding, symbols=["BTC-PERP-INTX"], notifier=notes, venue="coinbase",
                   monotonic=ticks).tick(now=NOW)
    assert notes.titles(AlertLevel.WARNING) == ["coinbase funding rates"]
    none = FakeFunding(supported=False)
    monitor = FundingMonitor(funding=none, symbols=["BTC-USD"], notifier=notes, venue="alpaca", every_seconds=0,
                             monotonic=ticks)
    monitor.tick(now=NOW)
    monitor.tick(now=NOW)
    assert none.calls == 1 and monitor.unsupported == "fakevenue lists no perpetual futures"


def test_doctor_says_which_keys_are_missing_and_checks_nothing_else():
    checks = diagnose(venue="alpaca", keys={"ALPACA_API_KEY": False, "ALPACA_SECRET_KEY": True},
                      connect=lambda: FakeVenueAccount(clock_ts=NOW), symbols=["SPY"], clock=FixedClock(NOW))
    assert checks[0].verdict is Verdict.FAIL and checks[0].detail == "set ALPACA_API_KEY in the environment"
    assert {c.verdict for c in checks[1:]} == {Verdict.SKIPPED} and not healthy(checks)


def test_doctor_passes_a_healthy_venue_and_names_each_problem():
    keys = {"K": True}
    venue = FakeVenueAccount(clock_ts=NOW)
    checks = diagnose(venue="fakevenue", keys=keys, connect=lambda: venue, symbols=["SPY"], clock=FixedClock(NOW))
    assert [(c.name, c.verdict) for c in checks] == [(n, Verdict.OK) for n in
                                                    ("keys", "connectivity", "clock", "account", "permissions",
                                                     "symbols")]
    assert healthy(checks)
    venue.clock_ts = NOW - timedelta(seconds=5)
    venue.snapshot = snapshot(trading_blocked=True)
    venue.listed["SPY"] = False
    venue.permissions_value = attrs.evolve(venue.permissions_value, can_trade=False, detail="view only")
    checks = {c.name: c for c in diagnose(venue="fakevenue", keys=keys, connect=lambda: venue, symbols=["SPY"],
                                          clock=FixedClock(NOW))}
    assert checks["clock"].verdict is Verdict.FAIL and "5.0s ahead of fakevenue's" in checks["clock"].detail
    assert checks["account"].verdict is Verdict.FAIL and "trading blocked" in checks["account"].detail
    assert checks["permissions"].detail.startswith("the key may not trade")
    assert checks["symbols"].detail == "not tradable at fakevenue: SPY"
    unknown = diagnose(venue="fakevenue", keys=keys, connect=lambda: FakeVenueAccount(clock_ts=NOW),
                       symbols=["NOPE"], clock=FixedClock(NOW))
    assert unknown[-1].verdict is Verdict.FAIL and "does not list NOPE" in unknown[-1].detail


def test_doctor_reports_a_venue_that_does_not_answer():
    venue = FakeVenueAccount(clock_ts=NOW)
    venue.down = True
    checks = diagnose(venue="fakevenue", keys={"K": True}, connect=lambda: venue, symbols=[], clock=FixedClock(NOW))
    assert checks[1].verdict is Verdict.FAIL and "connection refused" in checks[1].detail
    assert all(c.verdict is Verdict.SKIPPED for c in checks[2:])

