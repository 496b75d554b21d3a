import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.accounting.instrument import AssetClass
from domain.risk.exposure_limits import CorrelationLimit, SectorLimits, rolling_correlation

EQ, CR = AssetClass.EQUITY, AssetClass.CRYPTO


def closes_from(returns) -> np.ndarray:
    return 100.0 * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(returns, dtype=float)]))


RNG = np.random.default_rng(7)
BASE = RNG.normal(0.0, 0.01, 80)
NOISE = RNG.normal(0.0, 0.01, 80)


# --- rolling_correlation ------------------------------------------------------------------

def test_perfectly_correlated_series_give_one():
    a = closes_from(BASE)
    assert rolling_correlation(a, 3.0 * a, 60) == pytest.approx(1.0)
    assert rolling_correlation(a, closes_from(2.0 * BASE), 60) == pytest.approx(1.0)


def test_anti_correlated_series_give_minus_one():
    assert rolling_correlation(closes_from(BASE), closes_from(-BASE), 60) == pytest.approx(-1.0)


def test_only_the_last_window_returns_count_and_series_align_on_their_ends():
    # First 40 returns opposite, last 20 identical: a 20-return window sees only the identical part.
    a = closes_from(BASE[:60])
    b = closes_from(np.concatenate([-BASE[:40], BASE[40:60]]))
    assert rolling_correlation(a, b, 20) == pytest.approx(1.0)
    assert rolling_correlation(a, b, 60) < 0.5
    longer = np.concatenate([[50.0, 51.0, 49.0], a])
    assert rolling_correlation(longer, b, 20) == pytest.approx(1.0)


def test_too_short_constant_or_bad_series_give_nan():
    a = closes_from(BASE[:10])  # 11 closes, 10 returns
    assert math.isnan(rolling_correlation(a, a, 11))
    assert not math.isnan(rolling_correlation(a, a, 10))
    assert math.isnan(rolling_correlation(a, np.full(11, 100.0), 10))
    assert math.isnan(rolling_correlation(a, 100.0 * 1.01 ** np.arange(11), 10))  # constant return
    bad = a.copy()
    bad[-1] = np.nan
    assert math.isnan(rolling_correlation(a, bad, 10))
    with pytest.raises(ValueError):
        rolling_correlation(a, a, 1)


closes_lists = st.lists(st.floats(min_value=1.0, max_value=1000.0), min_size=3, max_size=30)


@given(closes_lists, closes_lists, st.integers(min_value=2, max_value=30))
def test_correlation_is_symmetric_and_within_bounds(a, b, window):
    ab = rolling_correlation(np.array(a), np.array(b), window)
    ba = rolling_correlation(np.array(b), np.array(a), window)
    assert (math.isnan(ab) and math.isnan(ba)) or ab == ba
    assert math.isnan(ab) or -1.0 <= ab <= 1.0


# --- CorrelationLimit ---------------------------------------------------------------------

CLOSES = {
    "AAPL": closes_from(BASE),
    "MSFT": closes_from(BASE + 0.3 * NOISE),  # strongly correlated with AAPL
    "GLD": closes_from(NOISE),  # unrelated
    "SH": closes_from(-BASE),  # inverse
    "NEW": closes_from(BASE[:5]),  # too little history
}


def test_correlated_exposure_over_the_cap_is_denied_naming_symbol_and_correlation():
    limit = CorrelationLimit()
    corr = rolling_correlation(CLOSES["AAPL"], CLOSES["MSFT"], 60)
    assert corr > 0.9
    result = limit.check(candidate="AAPL", candidate_notional=Decimal(2000),
                         held={"MSFT": Decimal(4000), "GLD": Decimal(9000), "SH": Decimal(9000)},
                         closes=CLOSES, equity=Decimal(10_000))
    assert result.check == "correlation" and not result.passed
    assert f"MSFT corr {corr:.2f}" in result.detail
    assert "correlated exposure 6000.00" in result.detail and "limit 5000.00" in result.detail
    assert "GLD" not in result.detail and "SH" not in result.detail


def test_uncorrelated_and_inverse_holdings_do_not_count():
    result = CorrelationLimit().check(candidate="AAPL", candidate_notional=Decimal(2000),
                                      held={"GLD": Decimal(9000), "SH": Decimal(9000)},
                                      closes=CLOSES, equity=Decimal(10_000))
    assert result.passed and "no other holding correlates with AAPL" in result.detail


def test_short_history_is_treated_as_uncorrelated_but_named():
    result = CorrelationLimit().check(candidate="AAPL", candidate_notional=Decimal(1000),
                                      held={"NEW": Decimal(9000), "NOPRICES": Decimal(9000)},
                                      closes=CLOSES, equity=Decimal(10_000))
    assert result.passed
    assert "too little history, treated as uncorrelated: NEW, NOPRICES" in result.detail


def test_a_position_alone_is_not_correlated_with_itself():
    # All in on one symbol: no other holding, so no correlated group (issue 13, point 9).
    result = CorrelationLimit().check(candidate="AAPL", candidate_notional=Decimal(9000),
                                      held={"AAPL": Decimal(4500)}, closes=CLOSES, equity=Decimal(10_000))
    assert result.passed and "no correlated group" in result.detail and "corr 1.00" not in result.detail


def test_the_candidates_own_holding_joins_a_correlated_group():
    result = CorrelationLimit().check(candidate="AAPL", candidate_notional=Decimal(1000),
                                      held={"AAPL": Decimal(2500), "MSFT": Decimal(2000)}, closes=CLOSES,
                                      equity=Decimal(10_000))
    assert not result.passed and "correlated exposure 5500.00" in result.detail and "AAPL corr" not in result.detail


def test_correlation_limit_validates_its_settings():
    with pytest.raises(ValueError):
        CorrelationLimit(threshold=1.5)
    with pytest.raises(ValueError):
        CorrelationLimit(max_correlated_fraction=Decimal(0))
    with pytest.raises(ValueError):
        CorrelationLimit(window=1)


money = st.decimals(min_value=0, max_value=100_000, places=2)
SYMBOLS = ["AAPL", "MSFT", "GLD", "SH", "NEW"]


@given(candidate=st.sampled_from(SYMBOLS), notional=money,
       held=st.dictionaries(st.sampled_from(SYMBOLS + ["NOPRICES"]), money, max_size=6),
       equity=st.decimals(min_value=1, max_value=200_000, places=2),
       threshold=st.floats(min_value=-1.0, max_value=1.0),
       fraction=st.decimals(min_value="0.01", max_value=2, places=2))
def test_an_approved_candidate_never_pushes_correlated_exposure_past_the_cap(
        candidate, notional, held, equity, threshold, fraction):
    limit = CorrelationLimit(threshold=threshold, max_correlated_fraction=fraction)
    result = limit.check(candidate=candidate, candidate_notional=notional, held=held, closes=CLOSES, equity=equity)
    exposure, group = notional + held.get(candidate, Decimal(0)), False
    for symbol, value in held.items():
        if symbol == candidate:
            continue
        corr = rolling_correlation(CLOSES[candidate], CLOSES.get(symbol, np.array([])), 60)
        if not math.isnan(corr) and corr >= threshold:
            exposure, group = exposure + value, True
    assert result.passed == (not group or exposure <= fraction * equity)


# --- SectorLimits -------------------------------------------------------------------------

SECTORS = SectorLimits(
    sector_of={"AAPL": "tech", "MSFT": "tech", "XOM": "energy", "BTC-USD": "crypto"},
    max_sector_fraction={"tech": Decimal("0.4"), "energy": Decimal("0.2")},
    max_asset_class_fraction={EQ: Decimal("0.8"), CR: Decimal("0.1")},
)
HELD = {"MSFT": (EQ, Decimal(3000)), "XOM": (EQ, Decimal(1500)), "BTC-USD": (CR, Decimal(800))}


def test_sector_over_its_limit_is_denied_with_figures():
    result = SECTORS.check(candidate="AAPL", candidate_asset_class=EQ, candidate_notional=Decimal(1500),
                           held=HELD, equity=Decimal(10_000))
    assert result.check == "sector_exposure" and not result.passed
    assert "sector tech 4500.00 after vs limit 4000.00 (0.4 x equity 10000.00) EXCEEDED" in result.detail
    assert "asset class equity 6000.00 after vs limit 8000.00" in result.detail


def test_asset_class_over_its_limit_is_denied_with_figures():
    result = SECTORS.check(candidate="ETH-USD", candidate_asset_class=CR, candidate_notional=Decimal(300),
                           held=HELD, equity=Decimal(10_000))
    assert not result.passed
    assert "asset class crypto 1100.00 after vs limit 1000.00 (0.1 x equity 10000.00) EXCEEDED" in result.detail


def test_within_both_limits_passes():
    result = SECTORS.check(candidate="XOM", candidate_asset_class=EQ, candidate_notional=Decimal(500),
                           held=HELD, equity=Decimal(10_000))
    assert result.passed and "sector energy 2000.00 after vs limit 2000.00" in result.detail


def test_unknown_sector_has_no_limit_without_a_default():
    result = SECTORS.check(candidate="ZZZ", candidate_asset_class=EQ, candidate_notional=Decimal(3000),
                           held=HELD, equity=Decimal(10_000))
    assert result.passed and "sector unknown 3000.00 after (no limit)" in result.detail


def test_unknown_sector_takes_the_star_default():
    limits = SectorLimits(sector_of={"AAPL": "tech"}, max_sector_fraction={"*": Decimal("0.1")},
                          max_asset_class_fraction={})
    result = limits.check(candidate="ZZZ", candidate_asset_class=EQ, candidate_notional=Decimal(600),
                          held={"YYY": (EQ, Decimal(500)), "AAPL": (EQ, Decimal(5000))}, equity=Decimal(10_000))
    assert not result.passed
    assert "sector unknown 1100.00 after vs limit 1000.00" in result.detail
    assert "asset class equity 6100.00 after (no limit)" in result.detail


def test_sector_limits_validate_fractions():
    with pytest.raises(ValueError):
        SectorLimits(sector_of={}, max_sector_fraction={"tech": Decimal(-1)}, max_asset_class_fraction={})


@given(candidate=st.sampled_from(["AAPL", "MSFT", "XOM", "BTC-USD", "ZZZ"]),
       asset_class=st.sampled_from([EQ, CR]), notional=money,
       held=st.dictionaries(st.sampled_from(["AAPL", "MSFT", "XOM", "BTC-USD", "ZZZ", "YYY"]),
                            st.tuples(st.sampled_from([EQ, CR]), money), max_size=6),
       equity=st.decimals(min_value=1, max_value=200_000, places=2))
def test_an_approved_candidate_never_pushes_sector_or_asset_class_past_its_limit(
        candidate, asset_class, notional, held, equity):
    result = SECTORS.check(candidate=candidate, candidate_asset_class=asset_class, candidate_notional=notional,
                           held=held, equity=equity)
    sector = SECTORS.sector(candidate)
    sector_after = notional + sum((n for s, (_, n) in held.items() if SECTORS.sector(s) == sector), Decimal(0))
    class_after = notional + sum((n for c, n in held.values() if c is asset_class), Decimal(0))
    sector_ok = SECTORS.sector_limit(sector) is None or sector_after <= SECTORS.sector_limit(sector) * equity
    class_ok = class_after <= SECTORS.max_asset_class_fraction[asset_class] * equity
    assert result.passed == (sector_ok and class_ok)


# --- crypto against equities: aligned on shared bar times ----------------------------------

def _btc_and_spy():
    """Hourly BTC around the clock; SPY only in 7 hours of each weekday. BTC follows SPY over
    the hours both trade and wanders on its own overnight and at weekends."""
    rng = np.random.default_rng(11)
    hours = np.arange(0, 24 * 7 * 8) * 3600.0  # 8 weeks of hours, from a Monday 00:00
    weekday = (hours // 86400) % 7 < 5
    session = weekday & (((hours % 86400) // 3600) >= 14) & (((hours % 86400) // 3600) < 21)
    spy_times = hours[session]
    spy_returns = rng.normal(0.0, 0.004, len(spy_times))
    spy = closes_from(spy_returns)[1:]
    btc_returns = rng.normal(0.0, 0.002, len(hours))  # its own moves outside the session ...
    btc_returns[session] = 1.5 * spy_returns  # ... and SPY's (scaled) inside it
    btc = closes_from(btc_returns)[1:]
    return hours, btc, spy_times, spy


def test_btc_and_an_equity_are_correlated_at_the_times_both_trade():
    btc_times, btc, spy_times, spy = _btc_and_spy()
    # End-aligned, the two series pair unrelated hours: the link is invisible ...
    assert abs(rolling_correlation(btc, spy, 60)) < 0.5
    # ... sampled at the shared times it shows. (Overnight BTC moves fold into the first
    # session return of each day, so it is high but not 1.)
    limit = CorrelationLimit(threshold=0.6, max_correlated_fraction=Decimal("0.5"), window=60)
    hits, short = limit.correlated(candidate="BTC-USD", held={"SPY": Decimal(1000)},
                                   closes={"BTC-USD": btc, "SPY": spy},
                                   times={"BTC-USD": btc_times, "SPY": spy_times})
    assert short == [] and hits["SPY"] > 0.6
    denied = limit.check(candidate="BTC-USD", candidate_notional=Decimal(4000), held={"SPY": Decimal(3000)},
                         closes={"BTC-USD": btc, "SPY": spy}, equity=Decimal(10000),
                         times={"BTC-USD": btc_times, "SPY": spy_times})
    assert not denied.passed and "SPY corr" in denied.detail
    # Without the times the same order would pass as uncorrelated: the alignment is what catches it.
    assert limit.check(candidate="BTC-USD", candidate_notional=Decimal(4000), held={"SPY": Decimal(3000)},
                       closes={"BTC-USD": btc, "SPY": spy}, equity=Decimal(10000)).passed
