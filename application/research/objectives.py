"""Objectives a user picks by name ("sharpe", "cagr", ...): numbers read from an evaluation's metrics.

An optimiser must always get a finite number. A figure that is undefined (None, NaN: no
trades, no volatility) gets the worst value of its direction, so the sampler learns to
avoid that region instead of failing the trial; an infinite one (a profit factor with no
losing trade) is capped, because samplers do arithmetic on the values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
import numpy as np

from application.research.ports import Direction, EvaluationResult
from domain.analytics.metrics import compute_metrics

WORST = 1e12  # far below (or above) any real figure, and still finite
# A curve that never fell would divide by zero; a 0.1% floor ranks it as very good, not infinite.
_DRAWDOWN_FLOOR = 0.001

Figure = Callable[[EvaluationResult], "float | None"]


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _metric(name: str) -> Figure:
    return lambda result: _number(result.metrics.get(name))


def _sortino(result: EvaluationResult) -> float | None:
    # Not every evaluator reports it; the curve has what it takes. The annualisation (here the
    # equity calendar's) scales every candidate of one window alike, so it cannot change a ranking.
    if "sortino" in result.metrics:
        return _number(result.metrics["sortino"])
    try:
        return compute_metrics(equity=result.equity, timestamps=result.bar_times).sortino
    except ValueError:  # fewer than two bars, times not increasing, a curve starting at zero
        return None


def _return_over_drawdown(result: EvaluationResult) -> float | None:
    total_return = _number(result.metrics.get("total_return"))
    drawdown = _number(result.metrics.get("max_drawdown"))
    if total_return is None or drawdown is None:
        return None
    return total_return / max(abs(drawdown), _DRAWDOWN_FLOOR)


@attrs.frozen(kw_only=True)
class Objective:
    """A named figure of an evaluation and the direction in which it is better."""

    name: str
    direction: Direction
    figure: Figure

    def __call__(self, result: EvaluationResult) -> float:
        value = self.figure(result)
        if value is None or math.isnan(value):
            return -WORST if self.direction is Direction.MAXIMISE else WORST
        return min(max(value, -WORST), WORST)

    def shown(self, result: EvaluationResult) -> tuple[float | None, str]:
        """The figure as a person should read it: (value, "") or, when it is undefined, (None, why).
        Never the finite stand-in __call__ gives an optimiser."""
        value = self.figure(result)
        if value is not None and not math.isnan(value):
            return value, ""
        trades = _number(result.metrics.get("trades"))
        still = len(result.equity) == 0 or bool(np.all(result.equity == result.equity[0]))
        if still:
            why = "no trades and the equity never moved" if not trades else "the equity never moved"
        elif not trades:
            why = "no trades"
        else:
            why = f"{self.name} is undefined for this run"
        return None, why

    def higher_is_better(self, result: EvaluationResult) -> float:
        """The value turned so that larger is always better (for optimisers that only maximise)."""
        value = self(result)
        return value if self.direction is Direction.MAXIMISE else -value


OBJECTIVES: Mapping[str, Objective] = {
    objective.name: objective
    for objective in (
        Objective(name="sharpe", direction=Direction.MAXIMISE, figure=_metric("sharpe")),
        Objective(name="sortino", direction=Direction.MAXIMISE, figure=_sortino),
        Objective(name="total_return", direction=Direction.MAXIMISE, figure=_metric("total_return")),
        Objective(name="cagr", direction=Direction.MAXIMISE, figure=_metric("cagr")),
        Objective(name="profit_factor", direction=Direction.MAXIMISE, figure=_metric("profit_factor")),
        Objective(name="return_over_drawdown", direction=Direction.MAXIMISE, figure=_return_over_drawdown),
        # The usual second objective for NSGA-II: maximise return, minimise drawdown.
        Objective(name="max_drawdown", direction=Direction.MINIMISE, figure=_metric("max_drawdown")),
    )
}


def objective_named(name: str) -> Objective:
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise ValueError(f"objective: unknown name {name!r}; known: {', '.join(OBJECTIVES)}") from None
