"""Walk-forward: window shapes, no look-ahead, stitched out-of-sample equity; the named objectives."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pytest

from application.research.objectives import OBJECTIVES, WORST, objective_named
from application.research.ports import Direction, EvaluationResult, OptimisationResult, TrialRecord
from application.research.walk_forward import (
    optimiser_search,
    out_of_sample_split,
    run_walk_forward,
    stitch_equity,
    walk_forward_windows,
)

START = np.datetime64("2024-01-01T00:00:00", "ns")
THRESHOLDS = tuple(range(80, 125, 5))


class ThresholdEvaluator:
    """A "strategy" over a fixed price array: long through bar i when the close of bar i-1 is above
    `threshold`. It reads only bars before the window's end (bar start-1 to warm up), and records
    every window it is asked about, and who asked."""

    def __init__(self, prices: np.ndarray) -> None:
        self.prices = np.asarray(prices, dtype=float)
        self.calls: list[tuple[str, slice]] = []
        self.phase = "outside"

    def __call__(self, params: Mapping[str, object], window: slice) -> EvaluationResult:
        self.calls.append((self.phase, window))
        visible = self.prices[: window.stop]  # never a bar at or after the window's end
        start = window.start
        previous = visible[max(start - 1, 0): window.stop - 1]
        closes = visible[start: window.stop]
        if start == 0:
            previous = np.concatenate([[closes[0]], previous])
        returns = closes / previous - 1
        held = previous > float(params["threshold"])  # type: ignore[arg-type]
        equity = 100.0 * np.cumprod(1 + np.where(held, returns, 0.0))
        trade_pnls = 100.0 * returns[held]
        peaks = np.maximum.accumulate(equity)
        metrics = {"total_return": float(equity[-1] / 100.0 - 1), "trades": float(held.sum()),
                   "max_drawdown": float(((peaks - equity) / peaks).max())}
        times = START + np.arange(start, window.stop) * np.timedelta64(1, "D")
        return EvaluationResult(equity=equity, trade_pnls=trade_pnls, bar_times=times, metrics=metrics)


def grid_optimiser(evaluator: ThresholdEvaluator | None = None) -> Callable:
    def optimise(score: Callable[[Mapping[str, object]], float], /, *, window: int) -> Mapping[str, object]:
        if evaluator is not None:
            evaluator.phase = f"optimising {window}"
        try:
            scores = [score({"threshold": t}) for t in THRESHOLDS]
        finally:
            if evaluator is not None:
                evaluator.phase = "outside"
        return {"threshold": THRESHOLDS[int(np.argmax(scores))]}

    return optimise


def total_return(result: EvaluationResult) -> float:
    return float(result.metrics["total_return"])  # type: ignore[arg-type]


def wavy_prices(n: int = 400, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + 15 * np.sin(np.arange(n) / 9) + rng.normal(0, 1.5, n).cumsum() * 0.3


# --- windows -------------------------------------------------------------------------------


def test_rolling_windows_slide_and_their_tests_follow_each_other():
    windows = walk_forward_windows(100, train=30, test=10)
    assert len(windows) == 7
    for number, (train, test) in enumerate(windows):
        assert (train.start, train.stop) == (number * 10, number * 10 + 30)
        assert (test.start, test.stop) == (train.stop, train.stop + 10)
    covered = [bar for _, test in windows for bar in range(test.start, test.stop)]
    assert covered == list(range(30, 100))  # consecutive, no overlap, no gap


def test_anchored_windows_start_at_zero_and_grow():
    windows = walk_forward_windows(100, train=30, test=20, anchored=True)
    assert [(t.start, t.stop) for t, _ in windows] == [(0, 30), (0, 50), (0, 70)]
    assert [(t.start, t.stop) for _, t in windows] == [(30, 50), (50, 70), (70, 90)]


def test_a_step_longer_than_the_test_leaves_gaps_and_the_tail_is_not_tested_on_a_short_window():
    windows = walk_forward_windows(100, train=20, test=10, step=25)
    assert [(t.start, t.stop) for _, t in windows] == [(20, 30), (45, 55), (70, 80)]  # 95:105 would run past the end
    assert all(test.stop <= 100 for _, test in windows)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (dict(n_bars=50, train=40, test=20), "n_bars"),
        (dict(n_bars=1, train=1, test=1), "n_bars"),
        (dict(n_bars=100, train=0, test=10), "train"),
        (dict(n_bars=100, train=30, test=True), "test"),
        (dict(n_bars=100, train=30.0, test=10), "train"),
        (dict(n_bars=100, train=30, test=10, step=0), "step"),
        (dict(n_bars=100, train=30, test=10, step=5), "step"),  # overlapping tests
    ],
)
def test_window_errors_name_the_argument(arguments, named):
    n_bars = arguments.pop("n_bars")
    with pytest.raises(ValueError, match=named):
        walk_forward_windows(n_bars, **arguments)


def test_out_of_sample_split_holds_out_the_last_fraction():
    assert out_of_sample_split(100, 0.2) == (slice(0, 80), slice(80, 100))
    for fraction in (0, 1, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="fraction"):
            out_of_sample_split(100, fraction)
    with pytest.raises(ValueError, match="fraction"):
        out_of_sample_split(10, 0.01)  # rounds to no bar held out


# --- no look-ahead ---------------------------------------------------------------------------


def test_the_optimiser_only_ever_evaluates_inside_its_train_window():
    evaluator = ThresholdEvaluator(wavy_prices())
    windows = walk_forward_windows(400, train=100, test=50)
    run_walk_forward(evaluate=evaluator, optimise=grid_optimiser(evaluator), windows=windows, objective=total_return)

    optimising = [(phase, window) for phase, window in evaluator.calls if phase.startswith("optimising")]
    assert len(optimising) == len(windows) * len(THRESHOLDS)
    for phase, window in optimising:
        train, _ = windows[int(phase.split()[1])]
        assert train.start <= window.start and window.stop <= train.stop, (phase, window)
    # The test windows are evaluated once each, after their parameters were chosen.
    tests = [test for _, test in windows]
    test_calls = [window for phase, window in evaluator.calls if phase == "outside" and window in tests]
    assert len(test_calls) == len(windows)


def hindsight_threshold(prices: np.ndarray, window: slice) -> int:
    """What a cheat would pick: the best threshold on the test window itself."""
    evaluator = ThresholdEvaluator(prices)
    return THRESHOLDS[int(np.argmax([total_return(evaluator({"threshold": t}, window)) for t in THRESHOLDS]))]


@pytest.mark.parametrize("anchored", [False, True])
def test_chosen_parameters_do_not_depend_on_the_test_window_prices(anchored):
    prices = wavy_prices()
    windows = walk_forward_windows(len(prices), train=100, test=50, anchored=anchored)

    def chosen(series: np.ndarray) -> list[int]:
        result = run_walk_forward(evaluate=ThresholdEvaluator(series), optimise=grid_optimiser(), windows=windows,
                                  objective=total_return)
        return [row.params["threshold"] for row in result.windows]

    honest = chosen(prices)
    rng = np.random.default_rng(11)
    for number, (_, test) in enumerate(windows):
        hindsight = {hindsight_threshold(prices, test)}
        for _ in range(4):
            rigged = prices.copy()
            # Wild test prices: a cheat's answer moves with them (checked below), ours must not.
            rigged[test] = 80 + 45 * rng.random() + rng.normal(0, 6, test.stop - test.start).cumsum()
            rigged[test] = np.clip(rigged[test], 20, None)
            hindsight.add(hindsight_threshold(rigged, test))
            assert chosen(rigged)[: number + 1] == honest[: number + 1], f"window {number} saw its test prices"
        assert len(hindsight) > 1, f"the rigged prices of test window {number} would not tempt a cheat"


def test_an_out_of_sample_result_is_not_the_hindsight_one():
    prices = wavy_prices()
    windows = walk_forward_windows(len(prices), train=100, test=50)
    result = run_walk_forward(evaluate=ThresholdEvaluator(prices), optimise=grid_optimiser(), windows=windows,
                              objective=total_return)
    evaluator = ThresholdEvaluator(prices)
    hindsight = [total_return(evaluator({"threshold": hindsight_threshold(prices, row.test)}, row.test))
                 for row in result.windows]
    achieved = [row.out_of_sample_objective for row in result.windows]
    assert all(a <= h + 1e-12 for a, h in zip(achieved, hindsight))
    assert sum(achieved) < sum(hindsight)


def test_windows_whose_train_runs_into_the_test_are_refused():
    evaluator = ThresholdEvaluator(wavy_prices())
    with pytest.raises(ValueError, match="optimiser would see test bars"):
        run_walk_forward(evaluate=evaluator, optimise=grid_optimiser(), objective=total_return,
                         windows=[(slice(0, 120), slice(100, 150))])
    with pytest.raises(ValueError, match="inside the previous one"):
        run_walk_forward(evaluate=evaluator, optimise=grid_optimiser(), objective=total_return,
                         windows=[(slice(0, 100), slice(100, 150)), (slice(20, 120), slice(140, 190))])
    with pytest.raises(ValueError, match="windows is empty"):
        run_walk_forward(evaluate=evaluator, optimise=grid_optimiser(), objective=total_return, windows=[])


# --- stitching -------------------------------------------------------------------------------


def test_stitched_segments_start_where_the_previous_ended_and_keep_their_returns():
    segments = [np.array([100.0, 110.0, 121.0]), np.array([100.0, 90.0, 99.0]), np.array([50.0, 55.0])]
    stitched = stitch_equity(segments)
    assert len(stitched) == 8
    np.testing.assert_allclose(stitched, [100, 110, 121, 121, 108.9, 119.79, 119.79, 131.769])
    with pytest.raises(ValueError, match=r"segments\[1\]"):
        stitch_equity([np.array([100.0, 90.0]), np.array([0.0, 10.0])])


def test_walk_forward_stitches_the_out_of_sample_curve_continuously():
    prices = wavy_prices()
    windows = walk_forward_windows(len(prices), train=100, test=50)
    result = run_walk_forward(evaluate=ThresholdEvaluator(prices), optimise=grid_optimiser(), windows=windows,
                              objective=total_return)
    stitched = result.out_of_sample
    assert len(stitched.equity) == len(stitched.bar_times) == sum(t.stop - t.start for _, t in windows)
    assert np.all(np.diff(stitched.bar_times) > np.timedelta64(0, "ns"))
    boundary = 0
    for row in result.windows:
        segment = row.out_of_sample.equity
        piece = stitched.equity[boundary: boundary + len(segment)]
        np.testing.assert_allclose(piece / piece[0], segment / segment[0])  # the window's own returns
        if boundary:
            assert piece[0] == pytest.approx(stitched.equity[boundary - 1])  # no jump at the seam
        boundary += len(segment)
    growth = np.prod([row.out_of_sample.equity[-1] / row.out_of_sample.equity[0] for row in result.windows])
    assert stitched.metrics["total_return"] == pytest.approx(growth - 1)
    assert stitched.metrics["trades"] == sum(len(row.out_of_sample.trade_pnls) for row in result.windows)
    assert 0 <= stitched.metrics["max_drawdown"] < 1


def test_an_evaluator_that_returns_the_wrong_number_of_bars_is_named():
    def short(params, window):
        return EvaluationResult(equity=[100.0], trade_pnls=[], bar_times=[START], metrics={"total_return": 0.0})

    with pytest.raises(ValueError, match="one per bar of the window"):
        run_walk_forward(evaluate=short, optimise=grid_optimiser(), objective=total_return,
                         windows=walk_forward_windows(100, train=50, test=10))


def test_a_minimising_objective_is_turned_for_the_optimiser():
    prices = wavy_prices()
    windows = walk_forward_windows(len(prices), train=100, test=50)
    result = run_walk_forward(evaluate=ThresholdEvaluator(prices), optimise=grid_optimiser(), windows=windows,
                              objective=objective_named("max_drawdown"))
    evaluator = ThresholdEvaluator(prices)
    for row in result.windows:
        drawdowns = [evaluator({"threshold": t}, row.train).metrics["max_drawdown"] for t in THRESHOLDS]
        assert row.in_sample_objective == pytest.approx(min(drawdowns))


def test_optimiser_search_runs_one_maximising_study_per_window():
    calls = []

    class RecordingOptimizer:
        def optimise(self, **arguments):
            calls.append(arguments)
            value = arguments["objective"]({"threshold": 100})
            record = TrialRecord(number=0, state="COMPLETE", params={"threshold": 100}, values=(value,),
                                 duration_seconds=0.0)
            return OptimisationResult(study_name="s", directions=(Direction.MAXIMISE,), best=(record,),
                                      trials=(record,))

    optimise = optimiser_search(RecordingOptimizer(), space={}, n_trials=5, study_name="wf", seed=3)
    prices = wavy_prices()
    run_walk_forward(evaluate=ThresholdEvaluator(prices), optimise=optimise, objective=total_return,
                     windows=walk_forward_windows(len(prices), train=100, test=100))
    assert [c["study_name"] for c in calls] == ["wf-window-0", "wf-window-1", "wf-window-2"]
    assert all(c["directions"] == (Direction.MAXIMISE,) and c["n_trials"] == 5 and c["seed"] == 3 for c in calls)


# --- objectives ------------------------------------------------------------------------------


def result_with(**metrics) -> EvaluationResult:
    equity = np.array([100.0, 101.0, 99.0, 103.0])
    times = START + np.arange(4) * np.timedelta64(1, "D")
    return EvaluationResult(equity=equity, trade_pnls=[1.0, -2.0, 4.0], bar_times=times, metrics=metrics)


def test_undefined_figures_are_the_worst_value_never_nan():
    for name, objective in OBJECTIVES.items():
        value = objective(result_with(sharpe=None, total_return=float("nan"), cagr=None, profit_factor=None,
                                      max_drawdown=None, sortino=None))
        assert np.isfinite(value), name
        assert value == (-WORST if objective.direction is Direction.MAXIMISE else WORST), name
    assert objective_named("profit_factor")(result_with(profit_factor=float("inf"))) == WORST


def test_named_objectives_read_the_metrics():
    result = result_with(sharpe=1.5, total_return=0.2, max_drawdown=0.1, cagr=0.3, profit_factor=2.0)
    assert objective_named("sharpe")(result) == 1.5
    assert objective_named("return_over_drawdown")(result) == pytest.approx(2.0)
    assert objective_named("sortino")(result) > 0  # computed from the curve when not reported
    assert objective_named("max_drawdown").higher_is_better(result) == -0.1
    with pytest.raises(ValueError, match="objective: unknown name 'calmar'"):
        objective_named("calmar")
