"""Performance per bot and per strategy from the in-memory store: the metrics are domain/analytics/metrics.py's
on the curve that starts with the capital, bots of one strategy add up, capital moved by the
allocator is neither gain nor drawdown, and thinned curves keep their ends and extremes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from application.records import AllocationRecord, EquityPoint
from application.reports.performance import bot_performance, strategy_performance, strategy_performances
from domain.accounting.instrument import crypto
from domain.accounting.position import Direction, RoundTrip
from domain.analytics.metrics import compute_metrics
from domain.analytics.performance import max_drawdown, profit_factor, win_rate
from domain.strategy import Target
from tests.fakes.builders import always, spec
from tests.fakes.memory_store import InMemoryStore

ACCT = "acct"
T0 = datetime(2025, 1, 2, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SOLO = spec("solo", strategy=always(Target.FLAT, name="trend"))  # SPY: an equity calendar


def trip(bot: str, pnl: int, n: int) -> RoundTrip:
    closed = T0 + n * DAY
    return RoundTrip(bot=bot, symbol="SPY", direction=Direction.LONG, quantity=Decimal(1), entry_price=Decimal(100),
                     exit_price=Decimal(100 + pnl), opened_at=closed - DAY, closed_at=closed, gross_pnl=Decimal(pnl),
                     commission=Decimal(1), closing_fill_id=f"{bot}-{n}")


def store_with(bots: dict[str, tuple[int, list[tuple[datetime, int | str]]]], *, trips=()) -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        for bot, (capital, points) in bots.items():
            uow.accounts.ensure(account=ACCT, bot=bot, initial_cash=Decimal(capital))
            uow.equity.add_many(account=ACCT, bot=bot,
                                points=[EquityPoint(ts=ts, equity=Decimal(e)) for ts, e in points])
        for t in trips:
            uow.trades.add(t, account=ACCT)
        uow.commit()
    return store


def test_a_bots_metrics_are_domain_metrics_of_its_curve_from_the_capital():
    marks = [101_000, 99_000, 103_000, 98_000, 104_000]
    trips = [trip("solo", 900, 1), trip("solo", -400, 2), trip("solo", 300, 4)]
    store = store_with({"solo": (100_000, [(T0 + i * DAY, e) for i, e in enumerate(marks)])}, trips=trips)
    with store.unit_of_work(read_only=True) as uow:
        found = bot_performance(uow, account=ACCT, bot="solo", bots=[SOLO])
    assert found is not None and (found.name, found.strategy, found.bots) == ("solo", "trend", ("solo",))
    curve = [100_000, *marks]  # the capital, one bar (a day) before the first mark
    times = [T0 - DAY + i * DAY for i in range(len(curve))]
    expected = compute_metrics(equity=np.array(curve, dtype=float), timestamps=times, calendar="equity",
                               trade_pnl=[899.0, -401.0, 299.0])
    assert found.metrics is not None
    assert found.metrics.to_json() == {**expected.to_json(), "cagr": None, "calmar": None}  # 5 days: no CAGR
    assert found.metrics.periods_per_year == 252 and found.metrics.trades == 3
    assert found.metrics.max_drawdown == pytest.approx(max_drawdown([Decimal(e) for e in curve]))
    assert found.metrics.win_rate == pytest.approx(win_rate(trips))
    assert found.metrics.profit_factor == pytest.approx(profit_factor(trips))
    assert (found.equity_start, found.equity_end, found.net_pnl, found.points_total) == (100_000, 104_000, 4_000, 6)
    assert found.equity_curve == tuple((t, Decimal(e)) for t, e in zip(times, curve))
    assert [d for _, d in found.drawdown_curve] == pytest.approx([0, 0, -2 / 101, 0, -5 / 103, 0])
    assert [s.bot for s in found.sleeves] == ["solo"] and found.sleeves[0].trades == 3


def test_cagr_is_given_for_a_quarter_of_a_year_or_more():
    points = [(T0 + i * 7 * DAY, 100_000 + 500 * i) for i in range(14)]  # 13 weeks
    store = store_with({"solo": (100_000, points)})
    with store.unit_of_work(read_only=True) as uow:
        metrics = bot_performance(uow, account=ACCT, bot="solo", bots=[SOLO]).metrics
    assert metrics.cagr is not None and metrics.cagr > 0 and metrics.calmar is None  # never below its peak


def test_the_bots_of_one_strategy_add_up_as_each_ones_last_mark():
    a = spec("a", strategy=always(Target.FLAT, name="trend"), instruments={"BTC-USD": crypto("BTC-USD")})
    b = spec("b", strategy=always(Target.FLAT, name="trend"))
    c = spec("c", strategy=always(Target.FLAT, name="other"))
    t1, t2, t3 = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    store = store_with({"a": (10_000, [(t1, 10_500), (t3, 10_200)]), "b": (20_000, [(t2, 20_400), (t3, 19_900)]),
                        "c": (5_000, [(t1, 5_100), (t2, 5_000)])},
                       trips=[trip("a", 50, 1), trip("b", -10, 1), trip("c", 5, 1)])
    with store.unit_of_work(read_only=True) as uow:
        every = strategy_performances(uow, account=ACCT, bots=[a, b, c])
        trend = strategy_performance(uow, account=ACCT, name="trend", bots=[a, b, c])
        assert strategy_performance(uow, account=ACCT, name="nothing", bots=[a, b, c]) is None
    assert [(p.name, p.bots) for p in every] == [("other", ("c",)), ("trend", ("a", "b"))]
    assert trend == every[1]
    assert trend.equity_curve == ((t1 - timedelta(hours=1), Decimal(30_000)), (t1, Decimal(30_500)),
                                  (t2, Decimal(30_900)), (t3, Decimal(30_100)))
    assert trend.metrics.trades == 2 and trend.metrics.win_rate == 0.5
    assert trend.metrics.periods_per_year == 365 * 24  # hourly, and a crypto bot among them: 24/7
    assert [s.bot for s in trend.sleeves] == ["a", "b"]
    assert (trend.equity_start, trend.equity_end, trend.net_pnl) == (30_000, 30_100, 100)


def test_capital_moved_by_the_allocator_is_neither_return_nor_drawdown():
    t1, t2, t3 = T0, T0 + DAY, T0 + 2 * DAY
    store = store_with({"solo": (100_000, [(t1, 100_000), (t2, 80_000), (t3, 80_800)])})
    with store() as uow:  # 20,000 moved out at t2: the allocator's own mark at t2 carries it
        uow.allocations.add(AllocationRecord(account=ACCT, bot="solo", ts=t2, weight=Decimal("0.8"),
                                             equity=Decimal(100_000), transfer=Decimal(-20_000), reason="r"))
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        found = bot_performance(uow, account=ACCT, bot="solo", bots=[SOLO])
    assert found.metrics.max_drawdown == 0
    assert found.metrics.total_return == pytest.approx(0.01)  # the 800 earned on the 80,000 left
    assert found.net_pnl == 800
    assert [e for _, e in found.equity_curve][-2:] == [80_000, 80_800]  # the money as it was
    assert all(d == 0 for _, d in found.drawdown_curve)


def test_a_long_curve_is_thinned_to_its_ends_and_extremes():
    n = 2_000
    values = 100_000 + np.round(5_000 * np.sin(np.linspace(0, 12 * math.pi, n)) + np.linspace(0, 3_000, n), 2)
    values[1_234] = 80_000  # one deep dip
    points = [(T0 + i * timedelta(minutes=15), str(v)) for i, v in enumerate(values)]
    store = store_with({"solo": (100_000, points)})
    with store.unit_of_work(read_only=True) as uow:
        found = bot_performance(uow, account=ACCT, bot="solo", bots=[SOLO], max_points=100)
        full = bot_performance(uow, account=ACCT, bot="solo", bots=[SOLO], max_points=5_000)
    assert found.points_total == n + 1 and len(full.equity_curve) == n + 1
    assert len(found.equity_curve) <= 100 and len(found.drawdown_curve) <= 100
    assert found.equity_curve[0] == full.equity_curve[0] and found.equity_curve[-1] == full.equity_curve[-1]
    raw = [e for _, e in full.equity_curve]
    kept = [e for _, e in found.equity_curve]
    assert min(kept) == min(raw) == 80_000 and max(kept) == max(raw)
    assert min(d for _, d in found.drawdown_curve) == min(d for _, d in full.drawdown_curve)
    assert found.metrics == full.metrics  # thinning is for the chart only


def test_unknown_bots_and_out_of_range_point_counts():
    store = store_with({"solo": (100_000, [(T0, 100_000), (T0 + DAY, 100_100)])})
    with store.unit_of_work(read_only=True) as uow:
        assert bot_performance(uow, account=ACCT, bot="ghost") is None
        assert bot_performance(uow, account="other", bot="solo") is None
        for points in (9, 5_001):
            with pytest.raises(ValueError):
                bot_performance(uow, account=ACCT, bot="solo", max_points=points)


def test_a_bot_with_fewer_than_two_marks_has_no_metrics_yet():
    store = store_with({"new": (1_000, [(T0, 1_000)]), "idle": (1_000, [])})
    with store.unit_of_work(read_only=True) as uow:
        new = bot_performance(uow, account=ACCT, bot="new")
        idle = bot_performance(uow, account=ACCT, bot="idle")
    assert new.metrics is None and new.equity_curve == ((T0, Decimal(1_000)),) and new.drawdown_curve == ((T0, 0.0),)
    assert idle.metrics is None and idle.equity_curve == () and idle.equity_end == 1_000 and idle.net_pnl == 0
