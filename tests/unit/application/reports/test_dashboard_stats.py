"""The dashboard's figures and their daily snapshots, on the in-memory store with a fixed clock:
figures worked out by hand, the same figures for a bot with or without its configuration,
a second snapshot of the day replacing the first, and days without a snapshot staying absent."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest

from application.reports.dashboard_stats import (
    SCOPE_ALL,
    bot_scope_key,
    current_figures,
    recent_snapshots,
    seven_day_stats,
    take_snapshot,
    window_start,
)
from application.records import BotRunState, EquityPoint, Heartbeat
from application.reports.ports import DailySnapshot
from application.reports.risk_report import risk_report
from domain.accounting.instrument import crypto
from domain.accounting.position import Direction, Position, RoundTrip
from domain.risk.circuit_breakers import crypto_session_key
from domain.risk.portfolio_heat import PortfolioHeat
from domain.risk.stops import FixedPercentStop, StopLevel
from domain.strategy import Target
from tests.fakes.builders import always, spec
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore

NOW = datetime(2025, 3, 5, 15, 0, tzinfo=timezone.utc)  # a Wednesday, 15:00 UTC
TODAY = NOW.date()
YESTERDAY = NOW - timedelta(days=1)
ACCT = "acct"


def shifted_session(ts: datetime) -> str:
    """A session that starts at 14:30 UTC (an exchange's day, not the UTC day)."""
    return (ts - timedelta(hours=14, minutes=30)).date().isoformat()


# "alpha" is configured: a stop policy, heat limit and its own session boundary.
ALPHA = attrs.evolve(spec("alpha", strategy=always(Target.FLAT)), stop=FixedPercentStop(percent=Decimal(5)),
                     heat=PortfolioHeat(), session_key=shifted_session)
# The configuration "beta" would have if it were configured here (UTC-day sessions, stops).
BETA = attrs.evolve(spec("beta", strategy=always(Target.FLAT), instruments={"BTC-USD": crypto("BTC-USD")}),
                    stop=FixedPercentStop(percent=Decimal(5)), session_key=crypto_session_key)


def trip(bot: str, symbol: str, pnl: int, closed: datetime) -> RoundTrip:
    return RoundTrip(bot=bot, symbol=symbol, direction=Direction.LONG, quantity=Decimal(1), entry_price=Decimal(100),
                     exit_price=Decimal(100 + pnl), opened_at=closed - timedelta(hours=1), closed_at=closed,
                     gross_pnl=Decimal(pnl), commission=Decimal(0), closing_fill_id=f"{bot}-{closed.isoformat()}")


def beat(bot: str, at: datetime) -> Heartbeat:
    return Heartbeat(account=ACCT, bot=bot, pid=1, host="h", mode="paper", started_at=at, beat_at=at,
                     interval_seconds=5.0, run_state=BotRunState.RUNNING)


def seeded() -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        # alpha: 100 SPY at cost 100, marked 110 (11,000), cash 88,000: equity 99,000.
        uow.accounts.ensure(account=ACCT, bot="alpha", initial_cash=Decimal(100_000))
        uow.accounts.set_cash(account=ACCT, bot="alpha", cash=Decimal(88_000))
        uow.positions.upsert(Position(bot="alpha", symbol="SPY", quantity=Decimal(100), cost_basis=Decimal(10_000)),
                             account=ACCT, last_price=Decimal(110))
        uow.stops.upsert(account=ACCT, bot="alpha", symbol="SPY", updated_at=NOW,
                         level=StopLevel(price=Decimal(95), kind="fixed_percent", reason="r"))
        uow.equity.add_many(account=ACCT, bot="alpha", points=[
            EquityPoint(ts=YESTERDAY.replace(hour=23), equity=Decimal(101_000)),
            EquityPoint(ts=NOW.replace(hour=0, minute=30), equity=Decimal(102_000)),  # the UTC day's first
            EquityPoint(ts=NOW.replace(hour=14), equity=Decimal(100_500)),  # still yesterday's session
            EquityPoint(ts=NOW.replace(hour=14, minute=45), equity=Decimal(99_500)),  # this session's first
        ])
        # beta: 0.5 BTC at cost 60,000, marked 61,000 (30,500), cash 20,000: equity 50,500.
        uow.accounts.ensure(account=ACCT, bot="beta", initial_cash=Decimal(50_000))
        uow.accounts.set_cash(account=ACCT, bot="beta", cash=Decimal(20_000))
        uow.positions.upsert(Position(bot="beta", symbol="BTC-USD", quantity=Decimal("0.5"),
                                      cost_basis=Decimal(30_000)), account=ACCT, last_price=Decimal(61_000))
        uow.stops.upsert(account=ACCT, bot="beta", symbol="BTC-USD", updated_at=NOW,
                         level=StopLevel(price=Decimal(59_000), kind="fixed_percent", reason="r"))
        uow.equity.add_many(account=ACCT, bot="beta", points=[
            EquityPoint(ts=YESTERDAY.replace(hour=12), equity=Decimal(50_800)),
            EquityPoint(ts=NOW.replace(hour=10), equity=Decimal(50_600)),
        ])
        uow.trades.add(trip("alpha", "SPY", 500, YESTERDAY), account=ACCT)
        uow.trades.add(trip("alpha", "SPY", -200, NOW - timedelta(hours=2)), account=ACCT)
        uow.trades.add(trip("beta", "BTC-USD", 100, NOW - timedelta(hours=1)), account=ACCT)
        uow.heartbeats.beat(beat("alpha", NOW - timedelta(seconds=3)))  # fresh: up
        uow.heartbeats.beat(beat("beta", NOW - timedelta(minutes=5)))  # no beat for 60 intervals: stale
        uow.commit()
    return store


def figures(store: InMemoryStore, *, bots=(ALPHA,)):
    with store.unit_of_work(read_only=True) as uow:
        return current_figures(uow, now=NOW, bots=bots)


def test_figures_of_each_bot_and_of_all_of_them():
    current = figures(seeded())
    alpha, beta = current.bots
    assert (alpha.scope, alpha.state, beta.scope, beta.state) == ("bot:acct/alpha", "running", "bot:acct/beta", "stale")
    a = alpha.figures
    assert (a.equity, a.peak, a.drawdown) == (Decimal(99_000), Decimal(102_000), Decimal("0.02941176"))
    assert a.pnl_today == Decimal(-3_000)  # from the UTC day's first point, 102,000
    assert a.pnl_session == Decimal(-500)  # from its session's first point, 99,500
    assert (a.open_positions, a.exposure_gross, a.exposure_net) == (1, Decimal(11_000), Decimal(11_000))
    assert (a.trades_today, a.trades_total, a.win_rate) == (1, 2, 0.5)
    assert a.heat == Decimal(1_500)  # 100 x (110 - 95)
    assert (a.bots_total, a.bots_up, a.bots_stale, a.bots_halted, a.bots_stopped) == (1, 1, 0, 0, 0)
    b = beta.figures
    assert (b.equity, b.peak, b.drawdown) == (Decimal(50_500), Decimal(50_800), Decimal("0.00590551"))
    assert (b.pnl_today, b.pnl_session) == (Decimal(-100), None)  # no configuration: no session boundary
    assert b.heat == Decimal(1_000)  # 0.5 x (61,000 - 59,000), from its stored stop
    assert (b.trades_today, b.trades_total, b.win_rate, b.bots_stale) == (1, 1, 1.0, 1)

    every = current.overall
    assert (every.equity, every.peak) == (Decimal(149_500), Decimal(152_800))
    assert every.drawdown == Decimal("0.02159686")  # 3,300 below the sum of the peaks
    assert (every.pnl_today, every.pnl_session) == (Decimal(-3_100), Decimal(-500))
    assert (every.open_positions, every.exposure_gross, every.heat) == (2, Decimal(41_500), Decimal(2_500))
    assert (every.trades_today, every.trades_total, every.win_rate) == (2, 3, pytest.approx(2 / 3))
    assert (every.bots_total, every.bots_up, every.bots_stale) == (2, 1, 1)


def test_a_configured_bot_shows_what_the_risk_report_says():
    store = seeded()
    [alpha, _] = figures(store).bots
    with store.unit_of_work(read_only=True) as uow:
        [row] = risk_report(uow, account=ACCT, bots=[ALPHA], now=NOW)
    f = alpha.figures
    assert (f.equity, f.peak, f.pnl_session, f.heat, f.exposure_gross) == (
        row.equity, row.peak, row.daily_pnl, row.heat, row.exposure.gross)
    assert f.drawdown == row.drawdown.quantize(Decimal("0.00000001"))


def test_without_its_configuration_a_bot_gets_the_same_figures_from_its_ledger():
    store = seeded()
    unconfigured = figures(store, bots=[ALPHA]).bots[1].figures
    configured = figures(store, bots=[ALPHA, BETA]).bots[1].figures
    assert (unconfigured.equity, unconfigured.peak, unconfigured.drawdown, unconfigured.exposure_gross,
            unconfigured.heat, unconfigured.pnl_today) == (
        configured.equity, configured.peak, configured.drawdown, configured.exposure_gross, configured.heat,
        configured.pnl_today)
    assert configured.pnl_session == configured.pnl_today == Decimal(-100)  # its session is the UTC day


def test_an_empty_store_has_zero_figures_and_undefined_ratios():
    every = figures(InMemoryStore()).overall
    assert (every.equity, every.drawdown, every.trades_total, every.bots_total) == (0, 0, 0, 0)
    assert (every.win_rate, every.heat, every.pnl_session) == (None, None, None)


def test_a_snapshot_stores_every_scope_as_json_and_a_second_one_the_same_day_replaces_it():
    store, clock = seeded(), FixedClock(NOW)
    first = take_snapshot(store, clock, bots=[ALPHA], reader=lambda: store.unit_of_work(read_only=True))
    assert [s.scope for s in first] == [SCOPE_ALL, "bot:acct/alpha", "bot:acct/beta"]
    equity = first[0].figures["equity"]
    assert isinstance(equity, str) and Decimal(equity) == 149_500  # money as a decimal string
    assert first[0].figures["win_rate"] == pytest.approx(2 / 3)
    assert first[0].figures["drawdown"] == "0.02159686" and first[2].figures["pnl_session"] is None

    with store() as uow:  # alpha's mark falls; later the same UTC day the job runs again
        uow.positions.upsert(Position(bot="alpha", symbol="SPY", quantity=Decimal(100), cost_basis=Decimal(10_000)),
                             account=ACCT, last_price=Decimal(100))
        uow.commit()
    clock.advance(timedelta(hours=8, minutes=59))  # 23:59, still the same day
    take_snapshot(store, clock, bots=[ALPHA])
    with store.unit_of_work(read_only=True) as uow:
        [stored] = uow.snapshots.list(scope=SCOPE_ALL, since=TODAY)
        [alpha] = uow.snapshots.list(scope=bot_scope_key(ACCT, "alpha"), since=TODAY)
    assert (stored.day, stored.taken_at, Decimal(stored.figures["equity"])) == (TODAY, clock.now(), 148_500)
    assert Decimal(alpha.figures["equity"]) == 98_000


def test_the_series_holds_the_days_with_a_snapshot_and_nothing_for_the_others():
    store = seeded()
    with store() as uow:
        for days_ago, equity in ((8, "1"), (7, "2"), (6, "140000.50"), (4, "145000")):  # 8, 7: too old
            uow.snapshots.put(DailySnapshot(day=TODAY - timedelta(days=days_ago), scope=SCOPE_ALL,
                                            taken_at=NOW - timedelta(days=days_ago),
                                            figures={"equity": equity, "trades_total": 10 - days_ago, "heat": None}))
        uow.commit()
    take_snapshot(store, FixedClock(NOW), bots=[ALPHA])  # today's
    with store.unit_of_work(read_only=True) as uow:
        stats = seven_day_stats(uow, now=NOW, bots=[ALPHA])
    assert stats.since == TODAY - timedelta(days=6)
    equity = stats.overall.series["equity"]
    assert [(p.day, p.value) for p in equity] == [
        (TODAY - timedelta(days=6), Decimal("140000.50")), (TODAY - timedelta(days=4), Decimal(145_000)),
        (TODAY, Decimal(149_500))]
    assert [p.value for p in stats.overall.series["trades_total"]] == [4, 6, 3]
    # heat was undefined (null) on the older days: only today's value is a point.
    assert [(p.day, p.value) for p in stats.overall.series["heat"]] == [(TODAY, Decimal(2_500))]
    # A figure the older snapshots did not have yet starts when it was first stored.
    assert [p.day for p in stats.overall.series["win_rate"]] == [TODAY]
    assert stats.overall.figures == figures(store).overall
    alpha = stats.bots[0]
    assert (alpha.account, alpha.bot, alpha.state) == (ACCT, "alpha", "running")
    assert [(p.day, p.value) for p in alpha.stats.series["equity"]] == [(TODAY, Decimal(99_000))]


def test_the_window_is_the_last_days_ending_today_in_utc():
    late = datetime(2025, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC on the 6th
    assert window_start(late, days=7) == date(2025, 2, 28)
    assert window_start(NOW, days=1) == TODAY
    with pytest.raises(ValueError):
        window_start(NOW, days=0)
    store = InMemoryStore()
    with store() as uow:
        uow.snapshots.put(DailySnapshot(day=TODAY + timedelta(days=1), scope=SCOPE_ALL, taken_at=NOW, figures={}))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert recent_snapshots(uow, scope=SCOPE_ALL, now=NOW) == []  # a day not yet begun is not in the window
