"""Backtest metrics: the return ratios against empyrical (empyrical-reloaded, a dev-only dependency)
on random return series, the trade figures and drawdown spells on hand-worked examples, and the
edge cases (no trades, flat equity, all wins, one bar) that must come out as None or "inf", never NaN.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import empyrical
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analytics.metrics import (
    bar_returns,
    compute_metrics,
    drawdown_series,
    infer_periods_per_year,
    monthly_returns,
)

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def daily(n: int, start: datetime = START) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(n)]


def same(ours: float | None, theirs: float) -> None:
    """Our None is empyrical's NaN; infinities must match exactly; the rest to 1e-9."""
    if math.isnan(theirs):
        assert ours is None
    elif math.isinf(theirs):
        assert ours == theirs
    else:
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


# Bar returns of -20 % .. +20 % on a 0.001 % grid, flat stretches and repeated values included.
# The grid keeps out returns of 1e-15: there a drawdown is all rounding, and a Calmar ratio divided
# by it compares the two libraries' last bits, not their formulas.
return_series = st.lists(
    st.one_of(st.integers(min_value=-20_000, max_value=20_000), st.just(0)).map(lambda k: k / 100_000),
    min_size=3, max_size=300,
)


def curve_of(returns: list[float]) -> np.ndarray:
    return 100.0 * np.cumprod(np.concatenate(([1.0], 1.0 + np.asarray(returns))))


@settings(max_examples=300, deadline=None)
@given(return_series, st.sampled_from([0.0, 0.03]), st.sampled_from([252.0, 365.0]))
def test_return_ratios_agree_with_empyrical(returns, risk_free, ppy):
    equity = curve_of(returns)
    r = bar_returns(equity)  # the same floats go to both sides: formulas are compared, not rounding
    m = compute_metrics(equity=equity, periods_per_year=ppy, risk_free_rate=risk_free)
    rf = (1 + risk_free) ** (1 / ppy) - 1  # empyrical takes the per-bar rate
    same(m.sharpe, empyrical.sharpe_ratio(r, risk_free=rf, annualization=ppy))
    same(m.sortino, empyrical.sortino_ratio(r, required_return=rf, annualization=ppy))
    same(m.annual_volatility, empyrical.annual_volatility(r, annualization=ppy))
    same(-m.max_drawdown, empyrical.max_drawdown(r))  # empyrical reports it negative
    # Without timestamps the CAGR's years are bars / periods_per_year: empyrical's annual_return.
    same(m.cagr, empyrical.annual_return(r, annualization=ppy))
    same(m.calmar, empyrical.calmar_ratio(r, annualization=ppy))


@settings(max_examples=200, deadline=None)
@given(return_series)
def test_calendar_cagr_is_empyricals_annual_return_over_elapsed_years(returns):
    """With timestamps, years = elapsed days / 365.25; daily bars make that n / 365.25, which
    is empyrical's annual_return with annualization=365.25."""
    equity = curve_of(returns)
    r = bar_returns(equity)
    m = compute_metrics(equity=equity, timestamps=daily(len(equity)), calendar="crypto")
    same(m.cagr, empyrical.annual_return(r, annualization=365.25))
    same(m.calmar, empyrical.calmar_ratio(r, annualization=365.25))
    assert m.periods_per_year == 365.0
    same(m.sharpe, empyrical.sharpe_ratio(r, annualization=365))


def test_calendar_cagr_by_hand():
    # $100 -> $200 between 2022-01-01 and 2023-01-01 (365 days) is 100 % a year whatever the bar count.
    ts = [datetime(2022, 1, 1), datetime(2022, 7, 1), datetime(2023, 1, 1)]
    m = compute_metrics(equity=np.array([100.0, 150.0, 200.0]), timestamps=ts, periods_per_year=252)
    assert m.cagr == pytest.approx(2.0 ** (365.25 / 365) - 1)
    assert m.total_return == pytest.approx(1.0)


def test_trade_figures_by_hand():
    m = compute_metrics(equity=np.array([100.0, 180.0]), periods_per_year=252,
                        trade_pnl=[100.0, -50.0, 30.0], trade_returns=[0.10, -0.05, 0.03])
    assert m.trades == 3
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(130 / 50)
    assert m.expectancy == pytest.approx(80 / 3)  # 26.67
    assert m.expectancy_return == pytest.approx(0.08 / 3)
    assert m.average_win == pytest.approx(65.0)
    assert m.average_loss == pytest.approx(-50.0)
    assert m.payoff_ratio == pytest.approx(1.3)


def test_break_even_trades_count_against_the_win_rate_but_not_the_profit_factor():
    m = compute_metrics(equity=np.array([100.0]), periods_per_year=252, trade_pnl=[10.0, 0.0, -5.0, 0.0])
    assert m.win_rate == 0.25
    assert m.profit_factor == 2.0


def test_exposure_is_the_fraction_of_bars_holding_a_position():
    m = compute_metrics(equity=np.full(8, 100.0), periods_per_year=252,
                        position_held=[False, True, True, False, True, False, False, False])
    assert m.exposure == 3 / 8


def test_drawdown_spells_on_a_hand_made_curve():
    #          0    1    2   3    4    5    6    7    8    9
    equity = [100, 120, 90, 100, 120, 130, 117, 104, 125, 128]
    # spell A: peak bar 1, back at 120 on bar 4 -> 3 bars; spell B: peak bar 5, never regained -> 4 bars.
    ts = daily(10)
    ts[4:] = [t + timedelta(days=30) for t in ts[4:]]  # a month without bars inside spell A
    m = compute_metrics(equity=np.array(equity, dtype=float), timestamps=ts, periods_per_year=252)
    assert m.max_drawdown == pytest.approx(0.25)  # 120 -> 90
    assert (m.max_drawdown_bars, m.max_drawdown_duration) == (3, timedelta(days=33))  # longest in time
    untimed = compute_metrics(equity=np.array(equity, dtype=float), periods_per_year=252)
    assert (untimed.max_drawdown_bars, untimed.max_drawdown_duration) == (4, None)  # longest in bars
    np.testing.assert_allclose(drawdown_series(np.array(equity, dtype=float))[:4], [0, 0, -0.25, -1 / 6])


def test_no_trades():
    m = compute_metrics(equity=np.array([100.0, 101.0, 102.0]), periods_per_year=252)
    assert m.trades == 0
    assert (m.win_rate, m.profit_factor, m.expectancy, m.average_win, m.average_loss, m.payoff_ratio) == (None,) * 6
    checks = {c.name: c for c in m.targets()}
    assert not checks["win_rate"].passed and checks["win_rate"].value is None
    assert not checks["profit_factor"].passed


def test_flat_equity():
    m = compute_metrics(equity=np.full(50, 1_000.0), timestamps=daily(50), calendar="crypto",
                        position_held=np.zeros(50, dtype=bool))
    assert (m.total_return, m.cagr, m.annual_volatility, m.max_drawdown) == (0.0, 0.0, 0.0, 0.0)
    assert (m.sharpe, m.sortino, m.calmar) == (None, None, None)  # 0 / 0: undefined, as empyrical's NaN
    assert (m.max_drawdown_bars, m.max_drawdown_duration) == (0, timedelta(0))
    assert m.exposure == 0.0
    json.dumps(m.to_json(), allow_nan=False)


def test_all_wins_report_infinity_the_same_way_everywhere():
    equity = 100.0 * 1.01 ** np.arange(30)  # rises every bar: no downside, no drawdown
    m = compute_metrics(equity=equity, periods_per_year=252, trade_pnl=[5.0, 7.0])
    assert m.profit_factor == math.inf and m.payoff_ratio == math.inf and m.average_loss is None
    assert m.sortino == math.inf and m.calmar is None  # calmar: no drawdown to divide by (empyrical: NaN)
    data = m.to_json()
    assert (data["profit_factor"], data["payoff_ratio"], data["sortino"], data["calmar"]) == ("inf", "inf", "inf", None)
    json.dumps(data, allow_nan=False)
    checks = {c.name: c for c in m.targets()}
    assert checks["profit_factor"].passed and checks["max_drawdown"].passed


def test_one_bar():
    with pytest.raises(ValueError, match="two or more timestamps"):  # nothing to infer a bar spacing from
        compute_metrics(equity=np.array([100.0]), timestamps=[START])
    m = compute_metrics(equity=np.array([100.0]), timestamps=[START], periods_per_year=252)
    assert (m.bars, m.total_return, m.max_drawdown, m.max_drawdown_bars) == (1, 0.0, 0.0, 0)
    assert (m.cagr, m.sharpe, m.sortino, m.annual_volatility, m.calmar) == (None,) * 5
    json.dumps(m.to_json(), allow_nan=False)


def test_a_ruined_curve_reports_minus_100_percent_and_no_ratios():
    m = compute_metrics(equity=np.array([100.0, 50.0, 0.0, -10.0]), periods_per_year=252)
    assert m.cagr == -1.0
    assert (m.sharpe, m.sortino, m.annual_volatility) == (None, None, None)
    assert m.max_drawdown == pytest.approx(1.1)


def test_targets_are_the_product_plan():
    good = compute_metrics(equity=np.array([100.0, 99.0, 140.0, 150.0]), timestamps=daily(4, datetime(2024, 1, 1)),
                           periods_per_year=252, trade_pnl=[10.0, 10.0, -4.0])
    checks = good.targets()
    assert [c.name for c in checks] == ["sharpe", "max_drawdown", "win_rate", "profit_factor", "annual_return"]
    assert all(c.passed for c in checks), checks
    name, requirement, value, passed = checks[1]
    assert (name, requirement, passed) == ("max_drawdown", "max drawdown < 15 %", True)
    assert value == pytest.approx(0.01)


def test_to_json_is_plain_and_has_every_figure():
    m = compute_metrics(equity=np.array([100.0, 90.0, 110.0]), timestamps=daily(3), periods_per_year=252,
                        trade_pnl=[1.0, -1.0], trade_returns=[0.01, -0.01], position_held=[0, 1, 1])
    data = m.to_json()
    assert data["max_drawdown_seconds"] == 2 * 86_400.0  # peak on day 0, back above it on day 2
    assert all(v is None or type(v) in (int, float, str) for v in data.values())
    assert json.loads(json.dumps(data, allow_nan=False)) == data


@pytest.mark.parametrize(("spacing", "calendar", "expected"), [
    (timedelta(days=1), "crypto", 365.0),
    (timedelta(hours=1), "crypto", 8_760.0),
    (timedelta(minutes=1), "crypto", 525_600.0),
    (timedelta(minutes=1), "equity", 98_280.0),
    (timedelta(hours=1), "equity", 1_638.0),
    (timedelta(days=7), "equity", 365.25 / 7),
])
def test_periods_per_year_from_the_median_spacing(spacing, calendar, expected):
    ts = np.array([np.datetime64("2024-01-02T14:30") + i * np.timedelta64(int(spacing.total_seconds()), "s")
                   for i in range(20)])
    assert infer_periods_per_year(ts, calendar=calendar) == pytest.approx(expected)


def test_daily_equity_bars_with_weekends_are_252_a_year():
    weekdays = [d for d in daily(60) if d.weekday() < 5]
    assert infer_periods_per_year(weekdays, calendar="equity") == 252.0
    m = compute_metrics(equity=np.linspace(100, 110, len(weekdays)), timestamps=weekdays)
    assert m.periods_per_year == 252.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="periods_per_year"):
        compute_metrics(equity=np.array([100.0, 101.0]))
    with pytest.raises(ValueError, match="calendar"):
        infer_periods_per_year(daily(3), calendar="forex")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        compute_metrics(equity=np.array([100.0, math.nan]), periods_per_year=252)
    with pytest.raises(ValueError, match="increasing"):
        compute_metrics(equity=np.array([100.0, 101.0]), timestamps=[START, START])
    with pytest.raises(ValueError, match="length"):
        compute_metrics(equity=np.array([100.0, 101.0]), timestamps=[START])


def test_monthly_returns_compound_within_each_month():
    ts = [datetime(2024, 1, 1), datetime(2024, 1, 15), datetime(2024, 1, 31),
          datetime(2024, 2, 10), datetime(2024, 2, 29), datetime(2024, 4, 2)]
    equity = np.array([100.0, 110.0, 121.0, 108.9, 119.79, 131.769])
    got = monthly_returns(ts, equity)
    assert list(got) == [(2024, 1), (2024, 2), (2024, 4)]  # March had no bars
    assert got[(2024, 1)] == pytest.approx(0.21)  # 1.1 * 1.1 - 1
    assert got[(2024, 2)] == pytest.approx(-0.01)  # 0.9 * 1.1 - 1
    assert got[(2024, 4)] == pytest.approx(0.10)


def test_monthly_returns_use_utc_months():
    eastern = timezone(timedelta(hours=-5))
    ts = [datetime(2024, 1, 31, 12, tzinfo=eastern), datetime(2024, 1, 31, 20, tzinfo=eastern)]  # 01:00 UTC Feb 1
    assert monthly_returns(ts, np.array([100.0, 105.0])) == {(2024, 1): 0.0, (2024, 2): pytest.approx(0.05)}
