"""From our search space (domain.strategy_params.SearchDimension) to Optuna's suggest_* calls and samplers."""

from __future__ import annotations

import math
from collections.abc import Mapping

import optuna

from application.research.ports import ParamSpace
from domain.strategy_params import ParamKind


def check_space(space: ParamSpace) -> None:
    if not isinstance(space, Mapping) or not space:
        raise ValueError("space must be a non-empty mapping of parameter name -> search dimension "
                         "(domain.strategy_params.search_space)")
    for name, dimension in space.items():
        try:
            kind = ParamKind(getattr(dimension, "kind", None))
        except ValueError:
            raise ValueError(f"space[{name!r}]: kind must be one of int, float, bool, choice, "
                             f"got {getattr(dimension, 'kind', None)!r}") from None
        if kind in (ParamKind.INT, ParamKind.FLOAT):
            low, high = dimension.low, dimension.high
            if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(f"space[{name!r}]: low and high must be finite with low <= high, got {low}, {high}")
        elif not dimension.choices:
            raise ValueError(f"space[{name!r}]: a {kind.value} dimension needs choices")


def suggest(trial: optuna.Trial, space: ParamSpace) -> dict[str, object]:
    params: dict[str, object] = {}
    for name, dimension in space.items():
        kind = ParamKind(dimension.kind)
        if kind is ParamKind.INT:
            params[name] = trial.suggest_int(name, int(dimension.low), int(dimension.high),
                                             step=int(dimension.step or 1), log=bool(dimension.log))
        elif kind is ParamKind.FLOAT:
            # Optuna refuses step together with log; strategy_params refuses the same declaration.
            step = None if dimension.log else dimension.step
            params[name] = trial.suggest_float(name, float(dimension.low), float(dimension.high),
                                               step=step, log=bool(dimension.log))
        else:  # bool (choices False, True) and choice
            params[name] = trial.suggest_categorical(name, list(dimension.choices))
    return params


def make_sampler(name: str, *, seed: int | None, n_trials: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        # Optuna's default population of 50 leaves a 100-trial search two generations; aim for
        # about ten, with at least 10 members so the crossover has something to mix.
        population = min(50, max(10, n_trials // 10))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"sampler: unknown {name!r}; use 'tpe', 'nsga2' or 'random'")
