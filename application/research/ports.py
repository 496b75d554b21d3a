"""The research contract: what an evaluator returns and what an optimiser must do.

An evaluator runs one parameter set over one window of bars (the backtest runner, wired in
by the entrypoint); the research tools (walk-forward, Optuna search) only ever see it
through `Evaluator`, so they can be tested with a few lines of numpy.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

import attrs
import numpy as np

from domain.analytics.metrics import Metrics as MetricFigures
from domain.strategy_params import SearchDimension

Params = Mapping[str, object]
Metrics = Mapping[str, "float | None"]
ParamSpace = Mapping[str, SearchDimension]  # what domain.strategy_params.search_space returns


def _float_array(value: object) -> np.ndarray:
    array = np.array(value, dtype=np.float64)  # a copy: the caller's array may change later
    array.setflags(write=False)
    return array


def _time_array(value: object) -> np.ndarray:
    array = np.array(value, dtype="datetime64[ns]")
    array.setflags(write=False)
    return array


@attrs.frozen(kw_only=True, eq=False)  # eq=False: numpy arrays do not compare to one bool
class EvaluationResult:
    """One parameter set over one window: the equity per bar of the window it traded in, the
    net P&L of each closed trade (in order), the bar times (UTC) and summary metrics such as
    "sharpe", "total_return", "max_drawdown" (a positive fraction), "cagr", "profit_factor",
    "win_rate", "trades"; a metric that is undefined (no trades, no losses) is None."""

    equity: np.ndarray = attrs.field(converter=_float_array)
    trade_pnls: np.ndarray = attrs.field(converter=_float_array)
    bar_times: np.ndarray = attrs.field(converter=_time_array)
    metrics: Metrics = attrs.field(converter=lambda m: MappingProxyType(dict(m)))

    def __attrs_post_init__(self) -> None:
        if self.equity.ndim != 1 or self.trade_pnls.ndim != 1 or self.bar_times.ndim != 1:
            raise ValueError("equity, trade_pnls and bar_times must be one-dimensional arrays")
        if len(self.bar_times) != len(self.equity):
            raise ValueError(
                f"bar_times has {len(self.bar_times)} values but equity has {len(self.equity)}: one per bar each"
            )


def metrics_mapping(metrics: MetricFigures) -> dict[str, float | None]:
    """domain.analytics.metrics' figures as the plain mapping EvaluationResult.metrics holds."""
    out: dict[str, float | None] = {}
    for field in attrs.fields(MetricFigures):
        value = getattr(metrics, field.name)
        if field.name == "max_drawdown_duration":
            out["max_drawdown_seconds"] = None if value is None else value.total_seconds()
        else:
            out[field.name] = None if value is None else float(value)
    return out


class Evaluator(Protocol):
    def __call__(self, params: Params, window: slice, /) -> EvaluationResult:
        """Run the strategy with `params`, trading only in the bars of `window` (a slice with
        step None of the full bar array). Bars before `window.start` may be read to warm up
        indicators; bars at or after `window.stop` must never be read: walk-forward relies on it."""
        ...


class Direction(enum.Enum):
    MAXIMISE = "maximize"  # Optuna's spelling, so the values pass straight through
    MINIMISE = "minimize"

    @classmethod
    def parse(cls, value: Direction | str) -> Direction:
        if isinstance(value, Direction):
            return value
        spelled = {"maximize": cls.MAXIMISE, "maximise": cls.MAXIMISE, "max": cls.MAXIMISE,
                   "minimize": cls.MINIMISE, "minimise": cls.MINIMISE, "min": cls.MINIMISE}
        try:
            return spelled[str(value).lower()]
        except KeyError:
            raise ValueError(f"directions: {value!r} is not one of 'maximize', 'minimize'") from None


SAMPLERS = ("tpe", "nsga2", "random")  # TPE: Bayesian; NSGA-II: genetic, multi-objective; random: baseline


@attrs.frozen(kw_only=True)
class TrialRecord:
    """One trial of a search: `values` has one number per objective (None unless COMPLETE)."""

    number: int
    state: str  # "COMPLETE", "FAIL", "PRUNED", "RUNNING", "WAITING"
    params: Params = attrs.field(converter=lambda p: MappingProxyType(dict(p)))
    values: tuple[float, ...] | None
    duration_seconds: float | None


@attrs.frozen(kw_only=True)
class OptimisationResult:
    """What a search found. `best` is the Pareto front (trials no other trial beats in every
    objective); with one objective it is the single best trial. `trials` is every trial of the
    study, including ones other workers (other processes, other machines) ran into it."""

    study_name: str
    directions: tuple[Direction, ...]
    best: tuple[TrialRecord, ...]
    trials: tuple[TrialRecord, ...]

    @property
    def best_params(self) -> Params:
        return self._single_best().params

    @property
    def best_value(self) -> float:
        return self._single_best().values[0]  # type: ignore[index]  # COMPLETE trials have values

    def _single_best(self) -> TrialRecord:
        if len(self.directions) != 1:
            raise ValueError("best_params: a multi-objective search has a Pareto front, not one best; use .best")
        if not self.best:
            raise ValueError(f"best_params: study {self.study_name!r} has no completed trial")
        return self.best[0]


ObjectiveFunction = Callable[[Params], "float | tuple[float, ...]"]


class Optimizer(Protocol):
    def optimise(
        self,
        *,
        space: ParamSpace,
        objective: ObjectiveFunction,
        directions: Sequence[Direction | str],
        n_trials: int,
        sampler: str = "tpe",
        seed: int | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        n_jobs: int = 1,
        progress: bool = False,
    ) -> OptimisationResult:
        """Search `space` for parameters that best satisfy `objective` (one value per direction).

        `sampler` is one of SAMPLERS. `n_trials` trials are run by this call (split over
        `n_jobs` worker processes, -1 for one per core); a `storage` URL (sqlite:///file, postgresql://...) with a
        `study_name` lets workers on several machines join one study. `seed` makes a
        single-process search reproducible. Raises ValueError naming a wrong argument.
        """
        ...
