from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.risk.circuit_breakers import (DailyLossLimit, DrawdownBreaker, EquityWatermark,
                                     crypto_session_key)
from domain.risk.portfolio_heat import HeatVerdict, PortfolioHeat, portfolio_heat, position_risk
from domain.risk.trading_state import TradingState

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
SEVERITY = {ACTIVE: 0, REDUCING: 1, HALTED: 2}
BREAKER = DrawdownBreaker(warning=D("0.10"), limit=D("0.20"))


# --- watermark and drawdown breaker ---------------------------------------------------------------

def test_peak_of_100k_then_88k_is_a_12_percent_drawdown():
    mark = EquityWatermark(D(100_000)).observe(D(88_000))
    assert mark.peak == D(100_000)
    assert mark.drawdown(D(88_000)) == D("0.12")


def test_drawdown_is_from_the_peak_after_a_rise_not_from_the_start():
    mark = EquityWatermark(D(100_000))
    for equity in (D(110_000), D(120_000), D(108_000)):
        mark = mark.observe(equity)
    assert mark.peak == D(120_000)
    assert mark.drawdown(D(108_000)) == D("0.1")  # from the start it would be a gain
    assert mark.observe(D(50_000)).peak == D(120_000)  # the peak only rises


def test_12_percent_drawdown_crosses_the_10_percent_warning_into_reducing():
    decision = BREAKER.assess(watermark=EquityWatermark(D(100_000)), equity=D(88_000), current=ACTIVE)
    assert decision.state is REDUCING and decision.alert
    assert decision.drawdown == D("0.12")
    assert "12.00%" in decision.reason and "equity 88,000.00" in decision.reason and "peak 100,000.00" in decision.reason


def test_20_percent_drawdown_halts_and_below_warning_stays_active():
    halted = BREAKER.assess(watermark=EquityWatermark(D(100_000)), equity=D(80_000), current=REDUCING)
    assert halted.state is HALTED and halted.alert and "20.00%" in halted.reason
    fine = BREAKER.assess(watermark=EquityWatermark(D(100_000)), equity=D(91_000), current=ACTIVE)
    assert fine.state is ACTIVE and not fine.alert


def test_recovery_does_not_lower_the_state_without_resume():
    back = BREAKER.assess(watermark=EquityWatermark(D(100_000)), equity=D(100_000), current=REDUCING)
    assert back.state is REDUCING and not back.alert and "resume" in back.reason
    assert BREAKER.assess(watermark=EquityWatermark(D(100_000)), equity=D(99_000),
                          current=HALTED).state is HALTED


@pytest.mark.parametrize("warning,limit", [(D(0), D("0.2")), (D("0.2"), D("0.2")), (D("0.3"), D("0.2")),
                                           (D("0.1"), D(1))])
def test_breaker_thresholds_are_validated(warning, limit):
    with pytest.raises(ValueError):
        DrawdownBreaker(warning=warning, limit=limit)


equities = st.decimals(min_value=1, max_value=1_000_000, places=2)


@given(start=equities, path=st.lists(equities, max_size=40),
       current=st.sampled_from([ACTIVE, REDUCING, HALTED]))
def test_no_sequence_of_equities_lowers_the_state(start, path, current):
    mark = EquityWatermark(start)
    for equity in path:
        mark = mark.observe(equity)
        decision = BREAKER.assess(watermark=mark, equity=equity, current=current)
        assert SEVERITY[decision.state] >= SEVERITY[current]
        assert decision.alert == (decision.state is not current)
        assert mark.drawdown(equity) >= 0
        current = decision.state


# --- daily loss limit -----------------------------------------------------------------------------

def test_daily_loss_trips_then_stays_halted_and_rearms_next_session():
    limit = DailyLossLimit(max_loss_amount=D(2_000), max_loss_percent=D("0.03"))  # 3 % of 100k = 3k; 2k is tighter
    ok = limit.assess(session_key="2025-01-02", day_start_equity=D(100_000), equity=D(98_500), tripped_session=None)
    assert not ok.halt and ok.tripped_session is None and ok.loss == D(1_500)
    trip = limit.assess(session_key="2025-01-02", day_start_equity=D(100_000), equity=D(98_000),
                        tripped_session=None)
    assert trip.halt and trip.alert and trip.tripped_session == "2025-01-02"
    assert "loss 2000" in trip.reason and "limit 2000" in trip.reason
    # equity recovers the same session: still halted, no second alert
    later = limit.assess(session_key="2025-01-02", day_start_equity=D(100_000), equity=D(101_000),
                         tripped_session=trip.tripped_session)
    assert later.halt and not later.alert
    # next session re-arms
    nxt = limit.assess(session_key="2025-01-03", day_start_equity=D(101_000), equity=D(100_500),
                       tripped_session=trip.tripped_session)
    assert not nxt.halt and nxt.tripped_session is None


def test_daily_loss_percent_only():
    limit = DailyLossLimit(max_loss_percent=D("0.05"))
    assert limit.limit_for(D(40_000)) == D(2_000)
    assert limit.assess(session_key="s", day_start_equity=D(40_000), equity=D(38_000), tripped_session=None).halt
    assert not limit.assess(session_key="s", day_start_equity=D(40_000), equity=D("38000.01"),
                            tripped_session=None).halt


def test_daily_loss_limit_needs_a_limit():
    with pytest.raises(ValueError):
        DailyLossLimit()


def test_crypto_session_key_is_the_utc_date():
    new_york = timezone(timedelta(hours=-5))
    assert crypto_session_key(datetime(2025, 1, 2, 21, 0, tzinfo=new_york)) == "2025-01-03"
    with pytest.raises(ValueError):
        crypto_session_key(datetime(2025, 1, 2))


# --- portfolio heat -------------------------------------------------------------------------------

def test_heat_uses_the_mark_and_ignores_stops_on_the_profitable_side():
    assert position_risk(quantity=D(100), mark=D(110), stop=D(100)) == D(1_000)
    assert position_risk(quantity=D(-50), mark=D(20), stop=D(22)) == D(100)
    assert position_risk(quantity=D(100), mark=D(110), stop=D(112)) == 0
    assert position_risk(quantity=D(-50), mark=D(20), stop=D(19)) == 0
    assert portfolio_heat([(D(100), D(110), D(100)), (D(-50), D(20), D(22))]) == D(1_100)


HEAT = PortfolioHeat()  # 10 %


def test_heat_approves_a_candidate_that_fits():
    d = HEAT.check(positions=[(D(100), D(110), D(100))], equity=D(100_000), candidate_quantity=D(100),
                   candidate_price=D(50), candidate_stop=D(45), lot_size=D(1))
    assert d.verdict is HeatVerdict.APPROVED and d.quantity == D(100)
    assert d.heat_before == D(1_000) and d.heat_after == D(1_500) and d.limit == D(10_000)


def test_heat_resizes_to_the_largest_lot_multiple():
    # heat 8,000 of 10,000: room 2,000; 5 per unit -> 400 units; lots of 30 -> 390
    d = HEAT.check(positions=[(D(800), D(110), D(100))], equity=D(100_000), candidate_quantity=D(1_000),
                   candidate_price=D(50), candidate_stop=D(45), lot_size=D(30))
    assert d.verdict is HeatVerdict.RESIZED and d.quantity == D(390)
    assert d.heat_after == D(9_950)
    assert "1000 -> 390" in d.reason and "room 2000" in d.reason


def test_heat_resizes_a_short_keeping_the_sign():
    # limit 1,000; 2 per unit short -> 500 fit of the 600 asked
    d = HEAT.check(positions=[], equity=D(10_000), candidate_quantity=D(-600), candidate_price=D(20),
                   candidate_stop=D(22), lot_size=D(1))
    assert d.verdict is HeatVerdict.RESIZED and d.quantity == D(-500) and d.heat_after == D(1_000)


def test_heat_denies_when_there_is_no_room_or_less_than_a_lot():
    full = HEAT.check(positions=[(D(1_000), D(110), D(100))], equity=D(100_000), candidate_quantity=D(10),
                      candidate_price=D(50), candidate_stop=D(45), lot_size=D(1))
    assert full.verdict is HeatVerdict.DENIED and full.quantity == 0 and "no room" in full.reason
    tiny = HEAT.check(positions=[(D(999), D(110), D(100))], equity=D(100_000), candidate_quantity=D(100),
                      candidate_price=D(50), candidate_stop=D(45), lot_size=D(10))  # room 10 < one lot of 50
    assert tiny.verdict is HeatVerdict.DENIED and "less than one lot" in tiny.reason


def test_heat_denies_a_stop_on_the_wrong_side():
    d = HEAT.check(positions=[], equity=D(100_000), candidate_quantity=D(10), candidate_price=D(50),
                   candidate_stop=D(55), lot_size=D(1))
    assert d.verdict is HeatVerdict.DENIED and "losing side" in d.reason


prices = st.decimals(min_value=D("0.01"), max_value=10_000, places=2)
quantities = st.decimals(min_value=D("0.001"), max_value=100_000, places=3)
positions = st.lists(st.tuples(quantities | quantities.map(lambda q: -q), prices, prices),
                     max_size=6)


@given(positions=positions, equity=st.decimals(min_value=0, max_value=10_000_000, places=2),
       quantity=quantities, short=st.booleans(), price=prices, distance=prices,
       lot=st.sampled_from([D("0.001"), D("0.01"), D(1), D(10), D(100)]),
       fraction=st.sampled_from([D("0.01"), D("0.05"), D("0.10"), D("0.25")]))
def test_heat_never_exceeds_the_limit_and_resizes_to_a_smaller_lot_multiple(
        positions, equity, quantity, short, price, distance, lot, fraction):
    asked = -quantity if short else quantity
    stop = price + distance if short else price - distance
    d = PortfolioHeat(fraction).check(positions=positions, equity=equity, candidate_quantity=asked,
                                      candidate_price=price, candidate_stop=stop, lot_size=lot)
    limit = fraction * equity
    if d.verdict is HeatVerdict.DENIED:
        assert d.quantity == 0
        return
    after = portfolio_heat([*positions, (d.quantity, price, stop)])
    assert after == d.heat_after <= limit
    if d.verdict is HeatVerdict.APPROVED:
        assert d.quantity == asked
    else:
        assert abs(d.quantity) < abs(asked)
        assert abs(d.quantity) % lot == 0 and d.quantity != 0
        assert (d.quantity > 0) == (asked > 0)
        # largest: one more lot would break the limit
        assert portfolio_heat([*positions, (d.quantity + (lot if asked > 0 else -lot), price, stop)]) > limit
