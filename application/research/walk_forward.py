"""Walk-forward analysis: choose parameters on a past window, trade the next one with them, move on.

The only honest out-of-sample figure a parameter search gives. Leakage is ruled out by
construction: the optimiser never sees a slice, only `score(params)`, which evaluates the
train window and nothing else; the test window is evaluated once, after the parameters are
chosen. The test windows' equity curves are stitched into one out-of-sample curve.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Protocol

import attrs
import numpy as np

from application.research.objectives import Objective
from application.research.ports import (
    Direction,
    EvaluationResult,
    Evaluator,
    Optimizer,
    Params,
    ParamSpace,
    metrics_mapping,
)
from domain.analytics.metrics import Calendar, compute_metrics

Window = tuple[slice, slice]  # (train, test), both with step None


def _whole(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def walk_forward_windows(
    n_bars: int, *, train: int, test: int, step: int | None = None, anchored: bool = False
) -> list[Window]:
    """(train, test) slices over `n_bars` bars, oldest first.

    Rolling (the default): a train window of `train` bars slides by `step` (default `test`,
    so the test windows follow each other without gap). Anchored: every train window starts
    at bar 0 and grows. Each test window starts where its train window ends. Bars after the
    last whole test window are left out rather than tested on a shorter window.
    """
    n_bars = _whole("n_bars", n_bars, minimum=2)
    train = _whole("train", train, minimum=1)
    test = _whole("test", test, minimum=1)
    step = test if step is None else _whole("step", step, minimum=1)
    if step < test:
        raise ValueError(
            f"step ({step}) must be at least test ({test}): a smaller step makes test windows overlap, "
            "and the stitched out-of-sample curve would count bars twice"
        )
    if train + test > n_bars:
        raise ValueError(f"n_bars: {n_bars} bars cannot hold one train window ({train}) and one test window ({test})")
    windows = []
    start = 0
    while start + train + test <= n_bars:
        end = start + train
        windows.append((slice(0 if anchored else start, end), slice(end, end + test)))
        start += step
    return windows


def out_of_sample_split(n_bars: int, fraction: float) -> Window:
    """(in-sample, out-of-sample) slices: the last `fraction` of the bars held out, the rest before them."""
    n_bars = _whole("n_bars", n_bars, minimum=2)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction < 1:
        raise ValueError(f"fraction must be a number between 0 and 1 (exclusive), got {fraction!r}")
    held_out = round(n_bars * fraction)
    if not 1 <= held_out <= n_bars - 1:
        raise ValueError(f"fraction {fraction} of {n_bars} bars leaves an empty in-sample or out-of-sample part")
    return slice(0, n_bars - held_out), slice(n_bars - held_out, n_bars)


class WindowOptimiser(Protocol):
    def __call__(self, score: Callable[[Params], float], /, *, window: int) -> Params:
        """The parameters with the highest `score` (higher is always better), for window number
        `window` (0-based). `score` evaluates the train window only; nothing else is reachable."""
        ...


def optimiser_search(
    optimizer: Optimizer,
    *,
    space: ParamSpace,
    n_trials: int,
    sampler: str = "tpe",
    seed: int | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    n_jobs: int = 1,
    progress: bool = False,
) -> WindowOptimiser:
    """A WindowOptimiser that runs one search per window with an Optimizer (e.g. the Optuna adapter);
    a named study gets one study per window, "<study_name>-window-<n>"."""

    def optimise(score: Callable[[Params], float], /, *, window: int) -> Params:
        result = optimizer.optimise(
            space=space, objective=score, directions=(Direction.MAXIMISE,), n_trials=n_trials, sampler=sampler,
            seed=seed, storage=storage, study_name=f"{study_name}-window-{window}" if study_name else None,
            n_jobs=n_jobs, progress=progress,
        )
        return result.best_params

    return optimise


@attrs.frozen(kw_only=True, eq=False)
class WindowResult:
    index: int
    train: slice
    test: slice
    params: Params = attrs.field(converter=lambda p: MappingProxyType(dict(p)))
    in_sample_objective: float
    out_of_sample_objective: float
    in_sample: EvaluationResult
    out_of_sample: EvaluationResult


@attrs.frozen(kw_only=True, eq=False)
class WalkForwardResult:
    """Per-window rows and the stitched out-of-sample run (equity, trades, times, metrics)."""

    windows: tuple[WindowResult, ...]
    out_of_sample: EvaluationResult


def stitch_equity(segments: Sequence[np.ndarray]) -> np.ndarray:
    """One curve from consecutive equity segments, each rescaled to start where the previous
    ended (so its returns, not its starting capital, carry over). The first keeps its units."""
    pieces: list[np.ndarray] = []
    level: float | None = None
    for number, segment in enumerate(segments):
        segment = np.asarray(segment, dtype=np.float64)
        if len(segment) == 0:
            raise ValueError(f"segments[{number}] is empty: every test window has at least one bar")
        if not (math.isfinite(segment[0]) and segment[0] > 0):
            raise ValueError(f"segments[{number}] starts at {segment[0]}: "
                             "a segment must start above zero to be rescaled")
        if level is not None:
            segment = segment * (level / segment[0])
        pieces.append(segment)
        level = float(segment[-1])
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float64)


def _check_windows(windows: Sequence[Window]) -> None:
    if not windows:
        raise ValueError("windows is empty: make them with walk_forward_windows")
    previous_stop = 0
    for number, (train, test) in enumerate(windows):
        for name, part in (("train", train), ("test", test)):
            if part.step not in (None, 1) or part.start is None or part.stop is None or not part.start < part.stop:
                raise ValueError(f"windows[{number}] {name} must be a non-empty slice(start, stop), got {part}")
        if train.stop > test.start:
            raise ValueError(f"windows[{number}]: train ends at {train.stop}, after the test window starts at "
                             f"{test.start}: the optimiser would see test bars")
        if test.start < previous_stop:
            raise ValueError(f"windows[{number}]: test window starts at {test.start}, inside the previous one "
                             f"(which ends at {previous_stop})")
        previous_stop = test.stop


def _checked(result: EvaluationResult, window: slice, *, what: str) -> EvaluationResult:
    bars = window.stop - window.start
    if len(result.equity) != bars:
        raise ValueError(f"evaluate returned {len(result.equity)} equity values for the {what} window {window.start}:"
                         f"{window.stop} of {bars} bars: the evaluator must give one per bar of the window")
    return result


def run_walk_forward(
    *,
    evaluate: Evaluator,
    optimise: WindowOptimiser,
    windows: Sequence[Window],
    objective: Objective | Callable[[EvaluationResult], float],
    periods_per_year: float | None = None,
    calendar: Calendar = "equity",
) -> WalkForwardResult:
    """Optimise on each train window, evaluate the chosen parameters on its test window, stitch.

    `objective` is a named Objective (its direction is respected) or any function of an
    evaluation where higher is better. The stitched metrics are domain.analytics.metrics' figures;
    `periods_per_year` (or else `calendar`, "equity" or "crypto", with the bar times)
    annualises them as domain.analytics.metrics.compute_metrics does.
    """
    _check_windows(windows)
    rank = objective.higher_is_better if isinstance(objective, Objective) else objective
    rows = []
    for index, (train, test) in enumerate(windows):

        def score(params: Params, /, _train: slice = train) -> float:
            return float(rank(evaluate(params, _train)))

        params = dict(optimise(score, window=index))
        in_sample = _checked(evaluate(params, train), train, what="train")
        out_of_sample = _checked(evaluate(params, test), test, what="test")
        rows.append(WindowResult(
            index=index, train=train, test=test, params=params,
            in_sample_objective=float(objective(in_sample)), out_of_sample_objective=float(objective(out_of_sample)),
            in_sample=in_sample, out_of_sample=out_of_sample,
        ))
    equity = stitch_equity([row.out_of_sample.equity for row in rows])
    bar_times = np.concatenate([row.out_of_sample.bar_times for row in rows])
    # Every window starts from the same capital, so its trades' P&L are in comparable units.
    trade_pnls = np.concatenate([row.out_of_sample.trade_pnls for row in rows])
    metrics = metrics_mapping(compute_metrics(equity=equity, timestamps=bar_times, periods_per_year=periods_per_year,
                                              calendar=calendar, trade_pnl=trade_pnls))
    stitched = EvaluationResult(equity=equity, trade_pnls=trade_pnls, bar_times=bar_times, metrics=metrics)
    return WalkForwardResult(windows=tuple(rows), out_of_sample=stitched)
