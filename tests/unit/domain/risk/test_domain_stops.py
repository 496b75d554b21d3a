from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.accounting.instrument import AssetClass, Instrument, equity
from domain.accounting.market import Bar
from domain.accounting.position import Direction
from domain.risk.stops import (
    ChandelierExit,
    FixedPercentStop,
    ParabolicSar,
    StopLevel,
    TrailingAtrStop,
    stop_hit,
)
from domain.strategy import BarWindow

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=timezone.utc)
SPY = equity("SPY")
LONG, SHORT = Direction.LONG, Direction.SHORT
D = Decimal


def bar(high, low, close, minute=0) -> Bar:
    h, l, c = D(str(high)), D(str(low)), D(str(close))
    return Bar(symbol="SPY", ts=T0 + timedelta(minutes=minute), open=c, high=h, low=l, close=c, volume=D(100))


# Hand-made series. True ranges: 2, 3, 1, 4 -> Wilder ATR(3): seed (2+3+1)/3 = 2, then (2*2 + 4)/3 = 8/3.
SERIES = [(10, 8, 9), (12, 9, 11), (11, 10, "10.5"), (14, 10, 13), (13, 12, "12.5"), (10, "8.5", 9), (9, 8, "8.5")]


def window_of(n, rows=SERIES) -> BarWindow:
    window = BarWindow(capacity=50)
    for i, row in enumerate(rows[:n]):
        window.append(bar(*row, minute=i))
    return window


# --- fixed percent -----------------------------------------------------------------


def test_fixed_percent_from_entry_rounded_against_the_position():
    policy = FixedPercentStop(percent=D(2))
    w = window_of(1)
    long = policy.initial(direction=LONG, entry_price=D("10.37"), window=w, instrument=SPY)
    short = policy.initial(direction=SHORT, entry_price=D("10.37"), window=w, instrument=SPY)
    assert long.price == D("10.16")  # 10.1626 rounded down
    assert short.price == D("10.58")  # 10.5774 rounded up
    assert "10.1626" in long.reason and long.kind == "fixed_percent"
    assert policy.update(current=long, direction=LONG, window=window_of(4), instrument=SPY) is long


# --- trailing ATR ------------------------------------------------------------------


def test_trailing_atr_initial_from_entry_then_trails_the_close():
    policy = TrailingAtrStop(period=3, multiple=D(2))
    long = policy.initial(direction=LONG, entry_price=D("10.5"), window=window_of(3), instrument=SPY)
    short = policy.initial(direction=SHORT, entry_price=D("10.5"), window=window_of(3), instrument=SPY)
    assert (long.price, short.price) == (D("6.50"), D("14.50"))  # 10.5 -/+ 2 x 2

    # After bar 4: close 13, ATR 8/3 -> 13 - 5.333 = 7.666 (down to 7.66); 13 + 5.333 = 18.333 (up to 18.34).
    moved = policy.update(current=long, direction=LONG, window=window_of(4), instrument=SPY)
    held = policy.update(current=short, direction=SHORT, window=window_of(4), instrument=SPY)
    assert moved.price == D("7.66")
    assert "ATR(3) 2.666666667" in moved.reason
    assert held.price == D("14.50")
    assert "held at 14.50" in held.reason and "18.34" in held.reason


# --- chandelier --------------------------------------------------------------------


def test_chandelier_hangs_from_the_extreme_of_the_period():
    policy = ChandelierExit(period=3, multiple=D(2))
    w = window_of(4)
    long = policy.initial(direction=LONG, entry_price=D(13), window=w, instrument=SPY)
    short = policy.initial(direction=SHORT, entry_price=D(13), window=w, instrument=SPY)
    assert long.price == D("8.66")  # highest high 14 - 5.333
    assert short.price == D("14.34")  # lowest low 9 + 5.333
    assert "highest high(3) 14" in long.reason
    # Bar 5 (13/12): highest high still 14, ATR (8/3*2 + 1)/3 = 2.111 -> 14 - 4.222 = 9.777 -> 9.77.
    assert policy.update(current=long, direction=LONG, window=window_of(5), instrument=SPY).price == D("9.77")


# --- parabolic SAR -----------------------------------------------------------------


def test_parabolic_sar_long_accelerates_on_new_highs():
    policy = ParabolicSar()
    level = policy.initial(direction=LONG, entry_price=D(11), window=window_of(3), instrument=SPY)
    assert level.price == D("8.00")  # lowest low
    assert (level.sar.extreme, level.sar.af) == (D(11), D("0.02"))
    level = policy.update(current=level, direction=LONG, window=window_of(4), instrument=SPY)
    assert level.price == D("8.24")  # new high 14: af 0.04; 8 + 0.04 x (14 - 8)
    assert (level.sar.extreme, level.sar.af) == (D(14), D("0.04"))
    level = policy.update(current=level, direction=LONG, window=window_of(5), instrument=SPY)
    assert level.price == D("8.47")  # no new high: 8.24 + 0.04 x 5.76 = 8.4704, rounded down
    assert level.sar.sar == D("8.4704")


def test_parabolic_sar_acceleration_is_capped_and_an_update_on_the_same_bar_changes_nothing():
    policy = ParabolicSar(step=D("0.1"), maximum=D("0.15"))
    level = policy.initial(direction=LONG, entry_price=D(11), window=window_of(3), instrument=SPY)
    level = policy.update(current=level, direction=LONG, window=window_of(4), instrument=SPY)
    assert level.sar.af == D("0.15")
    assert level.price == D("8.90")  # 8 + 0.15 x 6
    assert policy.update(current=level, direction=LONG, window=window_of(4), instrument=SPY) is level


def test_parabolic_sar_short_is_bounded_by_recent_highs_and_only_falls():
    policy = ParabolicSar()
    level = policy.initial(direction=SHORT, entry_price=D("10.5"), window=window_of(3), instrument=SPY)
    assert level.price == D("12.00")  # highest high
    for n in (4, 5, 6):  # the highs of bars 4 and 5 (14, 13) bound the SAR above 12: it holds
        level = policy.update(current=level, direction=SHORT, window=window_of(n), instrument=SPY)
        assert level.price == D("12.00")
    assert "held at 12.00" in level.reason
    level = policy.update(current=level, direction=SHORT, window=window_of(7), instrument=SPY)
    # New lows at bars 6 (8.5) and 7 (8): af 0.06; 12 + 0.06 x (8 - 12) = 11.76, above the recent highs 10 and 9.
    assert (level.sar.extreme, level.sar.af) == (D(8), D("0.06"))
    assert level.price == D("11.76")


# --- validation and edges ----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: FixedPercentStop(percent=D(0)),
        lambda: FixedPercentStop(percent=D(100)),
        lambda: FixedPercentStop(percent=2.0),
        lambda: TrailingAtrStop(period=0, multiple=D(2)),
        lambda: TrailingAtrStop(period=True, multiple=D(2)),
        lambda: ChandelierExit(period=3, multiple=D(-1)),
        lambda: ParabolicSar(step=D("0.3"), maximum=D("0.2")),
    ],
)
def test_bad_parameters_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_too_short_a_window_is_refused_with_the_counts():
    with pytest.raises(ValueError, match="needs 3 bars, the window has 2"):
        TrailingAtrStop(period=3, multiple=D(2)).initial(
            direction=LONG, entry_price=D(10), window=window_of(2), instrument=SPY
        )


def test_a_long_stop_never_drops_below_one_tick():
    level = TrailingAtrStop(period=3, multiple=D(10)).initial(
        direction=LONG, entry_price=D(10), window=window_of(3), instrument=SPY
    )
    assert level.price == D("0.01")


# --- stop_hit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "high", "low", "hit"),
    [
        (LONG, 12, "10.01", False),
        (LONG, 12, 10, True),  # touching is enough
        (LONG, 12, "9.5", True),
        (SHORT, "11.99", 11, False),
        (SHORT, 12, 11, True),
        (SHORT, 13, 11, True),
    ],
)
def test_stop_hit(direction, high, low, hit):
    price = D(10) if direction is LONG else D(12)
    level = StopLevel(price=price, kind="fixed_percent", reason="test")
    assert stop_hit(level=level, direction=direction, bar=bar(high, low, low)) is hit


# --- properties --------------------------------------------------------------------

POLICIES = [
    FixedPercentStop(percent=D(3)),
    TrailingAtrStop(period=5, multiple=D(3)),
    ChandelierExit(period=5, multiple=D("2.5")),
    ParabolicSar(),
]
NICKEL = Instrument(symbol="X", asset_class=AssetClass.CRYPTO, tick_size=D("0.05"), lot_size=D("0.001"))

# A path of bars in cents: each step moves the close, then spreads high and low around it.
steps = st.lists(
    st.tuples(st.integers(-300, 300), st.integers(0, 200), st.integers(0, 200)), min_size=8, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(
    path=steps,
    policy=st.sampled_from(POLICIES),
    direction=st.sampled_from([LONG, SHORT]),
    instrument=st.sampled_from([SPY, NICKEL]),
)
def test_stops_only_move_in_the_positions_favour_and_stay_on_the_tick_grid(path, policy, direction, instrument):
    cents = 10_000
    rows = []
    for move, up, down in path:
        cents = max(cents + move, 500)
        rows.append((D(cents + up) / 100, D(max(cents - down, 1)) / 100, D(cents) / 100))
    window = BarWindow(capacity=20)
    for i, row in enumerate(rows[:5]):
        window.append(bar(*row, minute=i))
    level = policy.initial(direction=direction, entry_price=rows[4][2], window=window, instrument=instrument)
    for i, row in enumerate(rows[5:], start=5):
        window.append(bar(*row, minute=i))
        new = policy.update(current=level, direction=direction, window=window, instrument=instrument)
        if direction is LONG:
            assert new.price >= level.price
        else:
            assert new.price <= level.price
        assert new.price % instrument.tick_size == 0
        assert new.price > 0
        level = new
