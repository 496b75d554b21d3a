"""The compiled backtest kernel: hand-worked examples, the plain-Python reference on random
data in every mode, and the invariants (cash, lookahead, lazy compilation)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from adapters.fast_backtest import Commission, FastBacktestConfig, FillAt, Sizing, run_strategy, run_targets
from adapters.fast_backtest import reference
from adapters.fast_backtest import kernel
from adapters.fast_backtest.kernel import fee_of, fill_price
from adapters.fast_backtest.sweep import sweep_ma_crossover
from domain.strategies.ma_crossover import FLAT as F
from domain.strategies.ma_crossover import KEEP as K
from domain.strategies.ma_crossover import LONG as L
from domain.strategies.ma_crossover import SHORT as S
from domain.strategies.ma_crossover import MovingAverageCrossover


def fills_of(result) -> list[tuple]:
    return [(int(f["bar"]), int(f["side"]), float(f["quantity"]), float(f["price"]), float(f["fee"]))
            for f in result.fills]


def trips_of(result) -> list[tuple]:
    return [tuple(t.item()) for t in result.round_trips]


def assert_rows(rows: list[tuple], expected: list[tuple]) -> None:
    assert len(rows) == len(expected)
    np.testing.assert_allclose(np.array(rows, dtype=float), np.array(expected, dtype=float), rtol=1e-12)


def test_the_kernel_reads_the_strategy_target_codes():
    assert (L, F, S, K) == (1, 0, -1, 2) and kernel.KEEP == K and reference.KEEP == K


# --- worked by hand ------------------------------------------------------------------------


def test_ten_bars_long_only_next_open_per_share_fees():
    # Cash 1000, all-in, whole shares, 0.05 per share with a 1.00 minimum, fills at the next open.
    # bar      0     1     2      3      4      5      6      7       8       9
    # open    10    11    12     11     10      9     10     12      13      12
    # close   11    12    11     10      9     10     12     13      12      11
    # target   K     L     K      F      K      L      L      F       K       L
    # bar 2 (L from bar 1) buys at 12: floor(1000 / (12 + 0.05)) = 82 shares, 82 * 12 = 984,
    #   fee max(0.05 * 82, 1) = 4.10, cash 1000 - 984 - 4.10 = 11.90; equity 11.90 + 82 * 11 = 913.90
    # bar 3: 11.90 + 82 * 10 = 831.90
    # bar 4 (F) sells 82 at 10: cash 11.90 + 820 - 4.10 = 827.80; trip pnl -2 * 82 - 8.20 = -172.20
    # bar 6 (L) buys at 10: floor(827.80 / 10.05) = 82 (83 would cost 834.15), cash 827.80 - 820 - 4.10
    #   = 3.70; equity 3.70 + 82 * 12 = 987.70
    # bar 7: L while long does nothing; equity 3.70 + 82 * 13 = 1069.70
    # bar 8 (F) sells 82 at 13: cash 3.70 + 1066 - 4.10 = 1065.60; trip pnl 3 * 82 - 8.20 = 237.80
    # bar 9's L would fill at bar 10's open, which never comes.
    # Max drawdown: from the 1000 start down to 827.80 = 17.22%.
    open_ = np.array([10, 11, 12, 11, 10, 9, 10, 12, 13, 12], dtype=float)
    close = np.array([11, 12, 11, 10, 9, 10, 12, 13, 12, 11], dtype=float)
    targets = np.array([K, L, K, F, K, L, L, F, K, L], dtype=np.int8)
    config = FastBacktestConfig(cash=1000.0, commission=Commission.per_share(0.05, minimum=1.0))
    result = run_targets(open=open_, close=close, targets=targets, config=config)
    assert_rows(fills_of(result), [(2, 1, 82, 12, 4.1), (4, -1, 82, 10, 4.1),
                                              (6, 1, 82, 10, 4.1), (8, -1, 82, 13, 4.1)])
    assert list(result.equity) == pytest.approx([1000, 1000, 913.9, 831.9, 827.8, 827.8, 987.7, 1069.7,
                                                 1065.6, 1065.6])
    assert_rows(trips_of(result), [(1, 2, 4, 82, 12, 10, -172.2), (1, 6, 8, 82, 10, 13, 237.8)])
    assert result.cash == pytest.approx(1065.6) and result.position == 0 and result.trades == 2
    assert result.max_drawdown == pytest.approx(0.1722)


def test_a_flip_from_short_to_long_is_one_order_sized_after_the_cover():
    # Cash 1000, shorts allowed, fills at this close, all-in, 10 bps per notional.
    # bar      0      1      2      3     4
    # close   10      8     10     12    12
    # target   S      K      L      F     K
    # bar 0 shorts at 10: floor(1000 / 10.01) = 99, notional 990, fee 0.99,
    #   cash 1000 + 990 - 0.99 = 1989.01, position -99, equity 1989.01 - 990 = 999.01
    # bar 1: 1989.01 - 99 * 8 = 1197.01
    # bar 2 (L at 10): equity marked at 10 is E = 1989.01 - 990 = 999.01. New leg:
    #   floor((999.01 - 99 * 0.01) / 10.01) = 99; one order of 99 + 99 = 198 at 10, fee 1.98.
    #   cash = E - 990 - 1.98 = 7.03, position +99, equity 7.03 + 990 = 997.03.
    #   The fee splits by quantity: 0.99 closes the short (pnl 0 - 0.99 - 0.99 = -1.98), 0.99 opens the long.
    # bar 3 (F at 12): sells 99, notional 1188, fee 1.188: cash 7.03 + 1188 - 1.188 = 1193.842;
    #   long pnl 2 * 99 - 0.99 - 1.188 = 195.822 (1000 - 1.98 + 195.822 = 1193.842).
    # Max drawdown: peak 1197.01 (bar 1) to 997.03 (bar 2) = 199.98 / 1197.01.
    close = np.array([10, 8, 10, 12, 12], dtype=float)
    targets = np.array([S, K, L, F, K], dtype=np.int8)
    config = FastBacktestConfig(cash=1000.0, fill_at=FillAt.THIS_CLOSE, allow_short=True,
                                commission=Commission.per_notional(10))
    result = run_targets(open=close, close=close, targets=targets, config=config)
    assert_rows(fills_of(result), [(0, -1, 99, 10, 0.99), (2, 1, 198, 10, 1.98), (3, -1, 99, 12, 1.188)])
    assert list(result.equity) == pytest.approx([999.01, 1197.01, 997.03, 1193.842, 1193.842])
    assert_rows(trips_of(result), [(-1, 0, 2, 99, 10, 10, -1.98), (1, 2, 3, 99, 10, 12, 195.822)])
    assert result.max_drawdown == pytest.approx(199.98 / 1197.01)
    # Without allow_short the S is FLAT (nothing to close), so the first fill is the L's buy.
    long_only = run_targets(open=close, close=close, targets=targets,
                            config=FastBacktestConfig(cash=1000.0, fill_at=FillAt.THIS_CLOSE))
    assert fills_of(long_only) == [(2, 1, 100.0, 10.0, 0.0), (3, -1, 100.0, 12.0, 0.0)]


def test_an_open_position_is_the_last_round_trip_marked_at_the_last_close():
    close = np.array([10.0, 11.0, 13.0])
    result = run_targets(open=close, close=close, targets=np.array([L, K, K], dtype=np.int8),
                         config=FastBacktestConfig(cash=100.0, fill_at=FillAt.THIS_CLOSE))
    assert trips_of(result) == [(1, 0, -1, 10.0, 10.0, 13.0, 30.0)] and result.trades == 1
    assert result.final_equity == 130.0 and result.cash == 0.0 and result.position == 10.0


def test_fixed_fraction_of_equity_at_the_fill_price():
    # Half the equity at the fill price: bar 1 buys 0.5 * 1000 / 10 = 50 at 10; bar 2 sells them at 30
    # (cash 500 + 1500 = 2000); bar 3 buys 0.5 * 2000 / 20 = 50 at 20.
    open_ = np.array([9.0, 10.0, 30.0, 20.0, 20.0])
    close = np.array([9.0, 10.0, 30.0, 20.0, 20.0])
    result = run_targets(open=open_, close=close, targets=np.array([L, F, L, K, K], dtype=np.int8),
                         config=FastBacktestConfig(cash=1000.0, sizing=Sizing.FRACTION, fraction=0.5))
    assert fills_of(result) == [(1, 1, 50.0, 10.0, 0.0), (2, -1, 50.0, 30.0, 0.0), (3, 1, 50.0, 20.0, 0.0)]


def test_prices_move_against_the_taker_and_round_away_from_it():
    assert fill_price(100.12, 1.0, 0.0, 0.01) == 100.12  # on the tick: float noise does not move it
    assert fill_price(100.12, -1.0, 0.0, 0.01) == 100.12
    assert fill_price(100.123, 1.0, 0.0, 0.01) == 100.13 and fill_price(100.123, -1.0, 0.0, 0.01) == 100.12
    assert fill_price(100.0, 1.0, 10.0, 0.0) == pytest.approx(100.1)
    assert fill_price(100.0, -1.0, 10.0, 0.0) == pytest.approx(99.9)
    assert fill_price(100.101, 1.0, 0.0, 0.05) == 100.15
    assert fill_price(0.004, -1.0, 0.0, 0.01) == 0.01  # a sell never rounds to zero
    assert fill_price(12345.678, 1.0, 0.0, 5.0) == 12350.0


def test_per_share_cap_wins_over_the_minimum():
    # 100 shares at 0.50: 0.005 * 100 = 0.50, minimum 1.00, cap 1% of 50.00 = 0.50.
    assert fee_of(100.0, 0.5, 1, 0.005, 1.0, 0.01) == pytest.approx(0.5)
    assert fee_of(100.0, 50.0, 1, 0.005, 1.0, 0.01) == 1.0
    assert fee_of(3.0, 200.0, 2, 25.0, 0.0, 0.0) == pytest.approx(1.5)  # 25 bps of 600


# --- the reference, on random data ---------------------------------------------------------

LOTS = st.sampled_from([1.0, 0.01, 1e-8, 5.0])
TICKS = st.sampled_from([0.0, 0.01, 0.05, 0.25, 1e-8, 1.0])


@st.composite
def runs(draw):
    n = draw(st.integers(1, 40))
    prices = st.one_of(st.floats(1.0, 200.0), st.integers(100, 20_000).map(lambda c: c / 100))
    open_ = draw(st.lists(prices, min_size=n, max_size=n))
    close = draw(st.lists(prices, min_size=n, max_size=n))
    targets = draw(st.lists(st.sampled_from([L, F, S, K, K, 7]), min_size=n, max_size=n))
    lot = draw(LOTS)
    kind = draw(st.sampled_from([0, 1, 2]))
    commission = Commission()
    if kind == 1:
        # A per-share minimum with crypto lots would make the reference step down millions of lots.
        minimum = draw(st.floats(0.0, 5.0)) if lot >= 0.01 else 0.0
        commission = Commission.per_share(draw(st.floats(0.0, 0.05)), minimum=minimum,
                                          max_fraction=draw(st.sampled_from([0.0, 0.01, 0.001])))
    elif kind == 2:
        commission = Commission.per_notional(draw(st.floats(0.0, 100.0)))
    config = FastBacktestConfig(
        cash=draw(st.floats(50.0, 1e6)), fill_at=draw(st.sampled_from(list(FillAt))),
        sizing=draw(st.sampled_from(list(Sizing))), fraction=draw(st.floats(0.05, 1.0)), lot=lot,
        tick=draw(TICKS), slippage_bps=draw(st.sampled_from([0.0, 1.0, 12.5])), commission=commission,
        allow_short=draw(st.booleans()))
    return np.array(open_), np.array(close), np.array(targets, dtype=np.int8), config


def by_reference(open_, close, targets, config):
    c = config.commission
    costs = reference.Costs(slippage_bps=config.slippage_bps, tick=config.tick, fee_kind=int(c.kind),
                            fee_rate=c.rate, fee_minimum=c.minimum, fee_max_fraction=c.max_fraction)
    return reference.simulate(open_=list(open_), close=list(close), targets=list(targets), cash=config.cash,
                              fill_at=int(config.fill_at), sizing=int(config.sizing), fraction=config.fraction,
                              lot=config.lot, costs=costs, allow_short=config.allow_short)


@settings(max_examples=300, deadline=None)
@given(run=runs())
def test_kernel_equals_the_reference_in_every_mode(run):
    open_, close, targets, config = run
    got = run_targets(open=open_, close=close, targets=targets, config=config)
    want = by_reference(open_, close, targets, config)
    # Same arithmetic, expression for expression: equal to the bit, not approximately.
    assert fills_of(got) == [(f.bar, f.side, f.quantity, f.price, f.fee) for f in want.fills]
    assert trips_of(got) == [attrs_tuple(t) for t in want.round_trips]
    assert list(got.equity) == want.equity
    assert (got.cash, got.position, got.max_drawdown) == (want.cash, want.position, want.max_drawdown)
    # Accounting: the round trips' pnl adds up to the change in equity.
    assert got.round_trips["pnl"].sum() == pytest.approx(got.final_equity - config.cash, abs=1e-6 * config.cash)


def attrs_tuple(trip: reference.RoundTrip) -> tuple:
    return (trip.side, trip.entry_bar, trip.exit_bar, trip.quantity, trip.entry_price, trip.exit_price, trip.pnl)


def test_the_size_search_bisects_to_the_same_answer_as_stepping_down():
    # A 5.00 minimum per order with crypto lots: the first guess is 5 / 100 / 1e-8 = 5,000,000 lots
    # too many; the kernel bisects, the reference steps down one lot at a time (slow, once).
    close = np.array([100.0, 100.0])
    config = FastBacktestConfig(cash=10.0, lot=1e-8, fill_at=FillAt.THIS_CLOSE,
                                commission=Commission.per_share(0.0001, minimum=5.0))
    got = run_targets(open=close, close=close, targets=np.array([L, K], dtype=np.int8), config=config)
    want = by_reference(close, close, np.array([L, K]), config)
    assert fills_of(got) == [(f.bar, f.side, f.quantity, f.price, f.fee) for f in want.fills]
    assert got.fills["quantity"][0] == pytest.approx(0.05, abs=1e-8) and got.cash >= 0.0


# --- invariants ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(price=st.floats(0.5, 5000.0), cash=st.floats(1.0, 1e7), lot=LOTS, slippage=st.floats(0.0, 50.0),
       tick=TICKS, kind=st.sampled_from([0, 1, 2]), rate=st.floats(0.0, 0.05), bps=st.floats(0.0, 100.0),
       minimum=st.floats(0.0, 2.0))
def test_all_in_buys_as_much_as_the_cash_pays_for_and_never_more(price, cash, lot, slippage, tick, kind, rate,
                                                                  bps, minimum):
    commission = (Commission(), Commission.per_share(rate, minimum=minimum, max_fraction=0.01),
                  Commission.per_notional(bps))[kind]
    config = FastBacktestConfig(cash=cash, lot=lot, tick=tick, slippage_bps=slippage, commission=commission,
                                fill_at=FillAt.THIS_CLOSE)
    close = np.array([price])
    result = run_targets(open=close, close=close, targets=np.array([L], dtype=np.int8), config=config)
    assert result.cash >= 0.0  # exactly: the size check is the cash update itself
    if len(result.fills):
        fill = result.fills[0]
        px, bigger = float(fill["price"]), float(fill["quantity"]) + lot
        c = config.commission
        assert bigger * px + fee_of(bigger, px, int(c.kind), c.rate, c.minimum, c.max_fraction) > cash * (1 - 1e-12)


@settings(max_examples=100, deadline=None)
@given(run=runs())
def test_all_in_opening_a_long_never_spends_more_than_the_cash(run):
    open_, close, targets, config = run
    config = FastBacktestConfig(cash=config.cash, fill_at=config.fill_at, lot=config.lot, tick=config.tick,
                                slippage_bps=config.slippage_bps, commission=config.commission,
                                allow_short=config.allow_short)
    result = run_targets(open=open_, close=close, targets=targets, config=config)
    opened_long = set(result.round_trips["entry_bar"][result.round_trips["side"] == 1].tolist())
    cash = config.cash
    for fill in result.fills:
        cash -= float(fill["side"]) * float(fill["quantity"]) * float(fill["price"]) + float(fill["fee"])
        if int(fill["bar"]) in opened_long:  # a buy that opened a long (perhaps covering a short too)
            assert cash >= -1e-9 * config.cash  # summed again here, so to rounding
    # (Covering a short that lost more than the equity may leave cash below zero: that is the loss.)


@settings(max_examples=100, deadline=None)
@given(run=runs(), cut=st.integers(0, 39), seed=st.integers(0, 2**32 - 1))
def test_no_lookahead(run, cut, seed):
    open_, close, targets, config = run
    assume(cut < len(close) - 1)
    rng = np.random.default_rng(seed)
    later = slice(cut + 1, None)
    open_2, close_2, targets_2 = open_.copy(), close.copy(), targets.copy()
    open_2[later] = rng.uniform(1, 200, len(close) - cut - 1)
    close_2[later] = rng.uniform(1, 200, len(close) - cut - 1)
    targets_2[later] = rng.choice([L, F, S, K], len(close) - cut - 1)
    one = run_targets(open=open_, close=close, targets=targets, config=config)
    two = run_targets(open=open_2, close=close_2, targets=targets_2, config=config)
    early = lambda r: [f for f in fills_of(r) if f[0] <= cut]  # noqa: E731
    assert early(one) == early(two)
    assert list(one.equity[: cut + 1]) == list(two.equity[: cut + 1])


def test_compiled_at_the_first_call_not_at_import():
    code = ("import numpy as np\n"
            "from adapters.fast_backtest import kernel, run_targets\n"
            "assert not kernel.simulate.signatures, 'compiled at import'\n"
            "c = np.array([10.0, 11.0])\n"
            "run_targets(open=c, close=c, targets=np.array([1, 0], dtype=np.int8))\n"
            "assert kernel.simulate.signatures\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- the API around it ---------------------------------------------------------------------


def test_targets_must_be_integers_shaped_like_the_bars():
    c = np.array([10.0, 11.0])
    with pytest.raises(ValueError, match="targets"):
        run_targets(open=c, close=c, targets=np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="targets"):
        run_targets(open=c, close=c, targets=np.array([1], dtype=np.int8))
    with pytest.raises(ValueError, match="close"):
        run_targets(open=c, close=np.array([10.0, np.nan]), targets=np.array([1, 0], dtype=np.int8))


def walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    return open_, close


def test_run_strategy_runs_the_strategy_targets():
    open_, close = walk(500, 3)
    strategy = MovingAverageCrossover(fast=5, slow=20, entry="cross")
    result = run_strategy(strategy, open=open_, high=close, low=close, close=close, volume=close)
    direct = run_targets(open=open_, close=close, targets=strategy.targets(open_, close, close, close, close))
    assert fills_of(result) == fills_of(direct) and result.trades > 5


def test_sweep_equals_one_run_per_parameter_set():
    open_, close = walk(800, 4)
    rows = sweep_ma_crossover(open=open_, close=close, fasts=[3, 5], slows=[10, 20], entry="cross", workers=1)
    assert [(r.fast, r.slow) for r in rows] == [(3, 10), (3, 20), (5, 10), (5, 20)]
    for row in rows:
        one = run_strategy(MovingAverageCrossover(fast=row.fast, slow=row.slow, entry="cross"),
                           open=open_, high=close, low=close, close=close, volume=close)
        assert (row.trades, row.final_equity, row.max_drawdown) == (one.trades, one.final_equity, one.max_drawdown)
        assert row.total_return == pytest.approx(one.final_equity / 100_000 - 1)
