import math
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.accounting.instrument import crypto, equity
from domain.accounting.position import Direction, RoundTrip
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.sizing import FixedFraction
from domain.risk.volatility import atr, true_range

T0 = datetime(2025, 1, 2, tzinfo=timezone.utc)
SPY = equity("SPY")
SPY_FRACTIONAL = equity("SPY", fractional=True)
BTC = crypto("BTC-USD")

# Hand-computed: TR = [1, max(1, 1.5, 0.5), max(2, 1.5, 0.5), max(2, 0.5, 2.5)] = [1, 1.5, 2, 2.5]
HIGHS = np.array([10.0, 11.0, 12.0, 11.0])
LOWS = np.array([9.0, 10.0, 10.0, 9.0])
CLOSES = np.array([9.5, 10.5, 11.5, 9.5])


def trip(net: Decimal | int | str, i: int = 0, commission: Decimal = Decimal(0)) -> RoundTrip:
    return RoundTrip(bot="b", symbol="SPY", direction=Direction.LONG, quantity=Decimal(1), entry_price=Decimal(100),
                     exit_price=Decimal(100), opened_at=T0, closed_at=T0, gross_pnl=Decimal(net) + commission,
                     commission=commission, closing_fill_id=f"f{i}")


def trips(*nets) -> list[RoundTrip]:
    return [trip(n, i) for i, n in enumerate(nets)]


# --- volatility -------------------------------------------------------------------------------------------------


def test_true_range_uses_the_previous_close():
    assert true_range(HIGHS, LOWS, CLOSES).tolist() == [1.0, 1.5, 2.0, 2.5]


def test_atr_is_seeded_with_the_mean_then_wilder_smoothed():
    # period 2: seed (1 + 1.5)/2 = 1.25; (1.25 + 2)/2 = 1.625; (1.625 + 2.5)/2 = 2.0625
    assert atr(HIGHS, LOWS, CLOSES, 2) == 2.0625
    # period 3: seed (1 + 1.5 + 2)/3 = 1.5; (1.5 x 2 + 2.5)/3 = 5.5/3
    assert atr(HIGHS, LOWS, CLOSES, 3) == pytest.approx(5.5 / 3)
    assert atr(HIGHS, LOWS, CLOSES, 4) == 1.75
    assert atr(HIGHS, LOWS, CLOSES, 1) == 2.5


def test_atr_is_nan_without_enough_bars():
    assert math.isnan(atr(HIGHS, LOWS, CLOSES, 5))
    assert math.isnan(atr(np.array([]), np.array([]), np.array([]), 1))


@pytest.mark.parametrize("period", [0, -1, 1.5, True])
def test_atr_rejects_a_bad_period(period):
    with pytest.raises(ValueError, match="period"):
        atr(HIGHS, LOWS, CLOSES, period)


def test_volatility_inputs_must_have_the_same_length():
    with pytest.raises(ValueError, match="same length"):
        true_range(HIGHS, LOWS[:3], CLOSES)
    with pytest.raises(ValueError, match="same length"):
        atr(HIGHS, LOWS, CLOSES[:2], 2)


# --- volatility sizing ------------------------------------------------------------------------------------------

VOL = VolatilitySizing(risk_fraction=Decimal("0.01"), atr_multiple=Decimal(2))


def test_volatility_size_risks_the_fraction_at_the_stop():
    # 100000 x 0.01 = 1000 at risk; 2.5 ATR x 2 = 5 stop; 1000 / 5 = 200 shares (cap 2000)
    result = VOL.size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), atr=2.5)
    assert result.quantity == Decimal(200)
    for figure in ("100000", "0.01", "1000", "2.5 ATR", "5.0 stop", "200.00000000", "-> 200", "lot 1"):
        assert figure in result.arithmetic


def test_volatility_size_rounds_to_the_lot():
    # 1000 / (3 x 2) = 166.666...
    assert VOL.size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), atr=3.0).quantity == Decimal(166)
    assert VOL.size(instrument=SPY_FRACTIONAL, equity=Decimal(100_000), price=Decimal(50),
                    atr=3.0).quantity == Decimal("166.666")
    # crypto: 10000 x 0.01 / (1234.5 x 2) = 100 / 2469 = 0.0405022276...
    assert VOL.size(instrument=BTC, equity=Decimal(10_000), price=Decimal(60_000),
                    atr=1234.5).quantity == Decimal("0.04050222")


def test_volatility_size_never_levers_past_the_equity():
    # 1000 / 0.02 = 50000 shares, but 100000 / 50 = 2000 is all the equity buys
    result = VOL.size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), atr=0.01)
    assert result.quantity == Decimal(2000)
    assert "cap" in result.arithmetic


@pytest.mark.parametrize("bad_atr", [float("nan"), 0.0, -1.0, float("inf")])
def test_volatility_size_is_zero_without_a_usable_atr(bad_atr):
    result = VOL.size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), atr=bad_atr)
    assert result.quantity == 0 and "ATR" in result.arithmetic


@pytest.mark.parametrize(("eq", "price"), [(Decimal(0), Decimal(50)), (Decimal(-5), Decimal(50)),
                                           (Decimal(1000), Decimal(0))])
def test_volatility_size_is_zero_for_non_positive_equity_or_price(eq, price):
    assert VOL.size(instrument=SPY, equity=eq, price=price, atr=2.0).quantity == 0


@pytest.mark.parametrize("kwargs", [dict(risk_fraction=Decimal(0), atr_multiple=Decimal(2)),
                                    dict(risk_fraction=Decimal("1.1"), atr_multiple=Decimal(2)),
                                    dict(risk_fraction=Decimal("0.01"), atr_multiple=Decimal(0)),
                                    dict(risk_fraction=Decimal("0.01"), atr_multiple=Decimal(2),
                                         max_fraction=Decimal(2))])
def test_volatility_sizing_validates_its_parameters(kwargs):
    with pytest.raises(ValueError):
        VolatilitySizing(**kwargs)


# --- fractional Kelly -------------------------------------------------------------------------------------------

FALLBACK = FixedFraction(fraction=Decimal("0.1"))
# 12 wins of 200 and 8 losses of 100: p = 0.6, b = 2, f* = 0.6 - 0.4/2 = 0.4
EDGE = trips(*([200] * 12 + [-100] * 8))


def kelly(kelly_fraction="0.5", cap="0.2", min_trades=20, fallback=FALLBACK) -> FractionalKelly:
    return FractionalKelly(kelly_fraction=Decimal(kelly_fraction), cap=Decimal(cap), min_trades=min_trades,
                           fallback=fallback)


def test_half_kelly_on_known_trips():
    # f* 0.4 x 0.5 = 0.2 (at the cap); 100000 x 0.2 / 50 = 400
    result = kelly().size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), trips=EDGE)
    assert result.quantity == Decimal(400)
    for figure in ("12 wins / 20 trips", "p 0.600000", "b 2.000000", "f* = p - (1-p)/b = 0.400000",
                   "x 0.5 = 0.200000", "clamp [0, 0.2] = 0.200000", "400.00000000", "-> 400"):
        assert figure in result.arithmetic


def test_kelly_is_capped():
    # 0.2 clamped to 0.15: 100000 x 0.15 / 50 = 300
    assert kelly(cap="0.15").size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50),
                                  trips=EDGE).quantity == Decimal(300)


def test_quarter_kelly_below_the_cap():
    # 0.4 x 0.25 = 0.1: 100000 x 0.1 / 50 = 200
    assert kelly(kelly_fraction="0.25").size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50),
                                             trips=EDGE).quantity == Decimal(200)


def test_kelly_uses_net_pnl_and_rounds_crypto_to_lots():
    # commissions turn a gross win of 50 into a net loss of -50: 12 wins of 200, 8 losses of 100 again
    mixed = EDGE[:19] + [trip(-100, 99, commission=Decimal(150))]
    result = kelly().size(instrument=BTC, equity=Decimal(10_000), price=Decimal(30_000), trips=mixed)
    assert result.quantity == Decimal("0.06666666")  # 10000 x 0.2 / 30000 = 0.0666...


def test_a_negative_edge_sizes_nothing():
    # p = 0.3, b = 1: f* = 0.3 - 0.7 = -0.4 -> 0
    result = kelly().size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50),
                          trips=trips(*([100] * 6 + [-100] * 14)))
    assert result.quantity == 0 and "f* = p - (1-p)/b = -0.400000" in result.arithmetic
    assert "no edge" in result.arithmetic


@pytest.mark.parametrize(("history", "reason"), [
    (EDGE[:19], "19 round trips < 20 required"),
    (trips(*([100] * 25)), "no losing trip"),
    (trips(*([-100] * 25)), "no winning trip"),
    (trips(*([0] * 20 + [100] * 5)), "no losing trip"),
])
def test_kelly_falls_back_and_says_why(history, reason):
    result = kelly().size(instrument=SPY, equity=Decimal(100_000), price=Decimal(50), trips=history)
    assert result.quantity == Decimal(200)  # FixedFraction 0.1: 100000 x 0.1 / 50
    assert result.arithmetic.startswith("Kelly fallback (") and reason in result.arithmetic


def test_kelly_is_zero_for_non_positive_equity_or_price():
    assert kelly().size(instrument=SPY, equity=Decimal(0), price=Decimal(50), trips=EDGE).quantity == 0
    assert kelly().size(instrument=SPY, equity=Decimal(1000), price=Decimal(-1), trips=EDGE).quantity == 0


@pytest.mark.parametrize("kwargs", [dict(kelly_fraction="0.2"), dict(kelly_fraction="0.6"), dict(cap="0"),
                                    dict(cap="1.5"), dict(min_trades=0),
                                    dict(fallback=FixedFraction(fraction=Decimal("0.3")))])
def test_kelly_validates_its_parameters(kwargs):
    with pytest.raises(ValueError):
        kelly(**kwargs)


# --- properties -------------------------------------------------------------------------------------------------

instruments = st.sampled_from([SPY, SPY_FRACTIONAL, BTC])
equities = st.decimals(min_value=-1000, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=-1, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
atrs = st.one_of(st.floats(min_value=-10, max_value=10_000), st.just(float("nan")), st.just(float("inf")))
vol_sizers = st.builds(
    VolatilitySizing,
    risk_fraction=st.decimals(min_value="0.0001", max_value="0.05", places=4),
    atr_multiple=st.decimals(min_value="0.25", max_value="5", places=2),
    max_fraction=st.decimals(min_value="0.01", max_value="1", places=2),
)
nets = st.lists(st.decimals(min_value=-1000, max_value=1000, places=2), max_size=40)


@st.composite
def kelly_sizers(draw) -> FractionalKelly:
    fallback_fraction = draw(st.decimals(min_value="0.01", max_value="1", places=2))
    cap = min(Decimal(1), fallback_fraction + draw(st.decimals(min_value="0", max_value="1", places=2)))
    return FractionalKelly(kelly_fraction=draw(st.decimals(min_value="0.25", max_value="0.5", places=2)), cap=cap,
                           min_trades=draw(st.integers(1, 30)), fallback=FixedFraction(fraction=fallback_fraction))


@given(sizer=vol_sizers, instrument=instruments, eq=equities, price=prices, vol=atrs)
def test_volatility_size_is_whole_lots_within_its_risk_budget(sizer, instrument, eq, price, vol):
    quantity = sizer.size(instrument=instrument, equity=eq, price=price, atr=vol).quantity
    assert quantity >= 0
    assert quantity % instrument.lot_size == 0
    if quantity > 0:
        atr_d = Decimal(repr(vol))
        assert quantity * price <= eq * sizer.risk_fraction / (sizer.atr_multiple * atr_d) * price
        assert quantity * price <= eq * sizer.max_fraction


@given(sizer=kelly_sizers(), instrument=instruments, eq=equities, price=prices, history=nets)
def test_kelly_size_is_whole_lots_within_the_cap(sizer, instrument, eq, price, history):
    quantity = sizer.size(instrument=instrument, equity=eq, price=price, trips=trips(*history)).quantity
    assert quantity >= 0
    assert quantity % instrument.lot_size == 0
    assert quantity * price <= max(eq, Decimal(0)) * sizer.cap


@given(sizer=vol_sizers, instrument=instruments, a=equities, b=equities, price=prices, vol=atrs)
def test_volatility_size_does_not_fall_as_equity_grows(sizer, instrument, a, b, price, vol):
    low, high = sorted((a, b))
    size = lambda e: sizer.size(instrument=instrument, equity=e, price=price, atr=vol).quantity  # noqa: E731
    assert size(low) <= size(high)


@given(sizer=kelly_sizers(), instrument=instruments, a=equities, b=equities, price=prices, history=nets)
def test_kelly_size_does_not_fall_as_equity_grows(sizer, instrument, a, b, price, history):
    low, high = sorted((a, b))
    history_trips = trips(*history)
    size = lambda e: sizer.size(instrument=instrument, equity=e, price=price, trips=history_trips).quantity  # noqa: E731
    assert size(low) <= size(high)
