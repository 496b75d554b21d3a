"""`quantshift optimize`, `walkforward` and `montecarlo`: the research tools on a backtest.

Each takes one data file and one strategy, with the backtest's cost options. The risk engine
is off by default here (it is `on` for `backtest`): a search measures the strategy itself, and
with risk off a strategy with vectorised targets runs on the fast engine, about a thousand
times faster per trial. `--risk on` runs the event engine with the configured limits.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import attrs
import numpy as np
import typer

from application.research.objectives import OBJECTIVES, Objective, objective_named
from application.research.ports import SAMPLERS, EvaluationResult, Optimizer, ParamSpace
from application.research.walk_forward import (
    optimiser_search,
    out_of_sample_split,
    run_walk_forward,
    walk_forward_windows,
)
from domain.analytics.monte_carlo import Percentiles, Resampling, simulate_trades
from domain.errors import ConfigurationError
from domain.strategy_params import ParamError, bind_params, search_space
from entrypoints.cli.backtest import BacktestPlan, parse_param, plan_backtest, run_plan
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, setup_logging
from entrypoints.cli.output import print_json, print_table
from entrypoints.settings import LARGEST_SETTING
from entrypoints.strategies import declared_params

if TYPE_CHECKING:
    from entrypoints.research_evaluator import BacktestEvaluator

Data = Annotated[str, typer.Option("--data", help="One OHLCV file (.csv or .parquet), as PATH or SYMBOL=PATH.")]
StrategyName = Annotated[str, typer.Option("--strategy", help="A built-in strategy (quantshift strategy list) or path/to/file.py:Class.")]
Params = Annotated[list[str] | None, typer.Option("--param", help="A strategy parameter held fixed, k=v (repeatable).")]
Cash = Annotated[float, typer.Option("--cash", help="Starting cash (at most 1e12).", min=1, max=LARGEST_SETTING)]
CommissionText = Annotated[str, typer.Option("--commission", help="none | per-share[:RATE[:MIN]] | bps:N | maker-taker:MAKER:TAKER.")]
Slippage = Annotated[float, typer.Option("--slippage", help="Slippage in basis points, against the taker.", min=0, max=1000)]
Fill = Annotated[str, typer.Option("--fill", help="next-open (decided at a close, filled at the next open) or close.")]
SizingText = Annotated[str, typer.Option("--sizing", help="all-in | fixed-fraction[:F].")]
Risk = Annotated[str, typer.Option("--risk", help="off (default here): the strategy alone, on the fast engine where it can; on: the configured risk engine (event engine, slower).")]
Trials = Annotated[int, typer.Option("--trials", help="Trials this command runs (per window for walkforward).", min=1)]
Sampler = Annotated[str, typer.Option("--sampler", help="tpe (Bayesian) | nsga2 (genetic, multi-objective) | random.")]
Jobs = Annotated[int, typer.Option("--jobs", help="Worker processes (-1: one per core).", min=-1)]
Seed = Annotated[int | None, typer.Option("--seed", help="Seed: the same seed gives the same result (with --jobs 1).", min=0)]

FIGURES = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "profit_factor", "win_rate", "trades")
# An optimiser or walk-forward ValueError starts with the argument it names; the user knows the option.
_OPTION_OF = {"storage": "--storage", "study_name": "--study", "n_jobs": "--jobs", "n_trials": "--trials",
              "seed": "--seed", "sampler": "--sampler", "directions": "--objective", "space": "--strategy",
              "train": "--train", "test": "--test", "step": "--step", "n_bars": "--train/--test"}


def optimize(
    data: Data, strategy: StrategyName, param: Params = None,
    trials: Trials = 50, sampler: Sampler = "tpe",
    objective: Annotated[list[str] | None, typer.Option("--objective", help=f"What to optimise: {', '.join(OBJECTIVES)} (default sharpe). Repeat for a multi-objective search (a Pareto front), e.g. --objective total_return --objective max_drawdown --sampler nsga2.")] = None,
    jobs: Jobs = 1,
    storage: Annotated[str | None, typer.Option("--storage", help="Study storage: sqlite:///study.db or postgresql://user@host/db; processes on several machines given the same --storage and --study share one study.")] = None,
    study: Annotated[str | None, typer.Option("--study", help="Study name (to resume it, or to join it from other processes).")] = None,
    seed: Seed = None,
    in_sample: Annotated[float, typer.Option("--in-sample", help="Share of the bars, from the start, to optimise on; the best parameters are then run once on the rest (out of sample). 1: no hold-out.")] = 0.7,
    cash: Cash = 100_000.0, commission: CommissionText = "none", slippage: Slippage = 0.0, fill: Fill = "next-open",
    sizing: SizingText = "all-in", risk: Risk = "off", config: ConfigOption = None, json_output: JsonOption = False,
) -> None:
    """Search a strategy's declared parameters (Optuna) on the first part of the bars; report the
    best (or the Pareto front) with its in-sample and out-of-sample figures."""
    setup_logging(verbose=False)
    with cli_errors():
        objectives = _objectives(objective or ["sharpe"])
        _check_sampler(sampler)
        if not 0 < in_sample <= 1:
            raise ConfigurationError(f"--in-sample {in_sample}: a fraction above 0 and at most 1 (1: no hold-out)")
        plan, evaluator, fixed, space = _searchable(data=data, strategy=strategy, param=param or [], cash=cash,
                                                    commission=commission, slippage=slippage, fill=fill, sizing=sizing,
                                                    risk=risk, config=config)
        if in_sample == 1:
            inside, outside = slice(0, evaluator.n_bars), None
        else:
            with _named_options():
                inside, outside = out_of_sample_split(evaluator.n_bars, 1 - in_sample)

        def score(params: Mapping[str, object]) -> float | tuple[float, ...]:
            result = evaluator(params, inside)
            values = tuple(o(result) for o in objectives)
            return values[0] if len(values) == 1 else values

        with _named_options():
            found = _optimizer().optimise(
                space=space, objective=score, directions=[o.direction for o in objectives], n_trials=trials,
                sampler=sampler, seed=seed, storage=storage, study_name=study, n_jobs=jobs, progress=not json_output)
        front = []
        for trial in found.best:
            entry = {"trial": trial.number, "params": {**fixed, **trial.params}, "values": list(trial.values or ()),
                     "in_sample": _figures(evaluator(trial.params, inside))}
            entry["out_of_sample"] = None if outside is None else _figures(evaluator(trial.params, outside))
            front.append(entry)
    out = {
        "strategy": strategy, "data": data, "bars": evaluator.n_bars, "study": found.study_name, "sampler": sampler,
        "seed": seed, "objectives": [{"name": o.name, "direction": o.direction.value} for o in objectives],
        "trials": {"run": trials, "in_study": len(found.trials),
                   "complete": sum(t.state == "COMPLETE" for t in found.trials)},
        "in_sample": _range(plan, inside), "out_of_sample": None if outside is None else _range(plan, outside),
        "best": front[0] if len(objectives) == 1 and front else None, "pareto_front": front,
    }
    if json_output:
        print_json(out)
        return
    _show_optimisation(out)


def walkforward(
    data: Data, strategy: StrategyName,
    train: Annotated[int, typer.Option("--train", help="Bars in each train (optimisation) window.", min=2)],
    test: Annotated[int, typer.Option("--test", help="Bars in each test (out-of-sample) window.", min=2)],
    step: Annotated[int | None, typer.Option("--step", help="Bars between window starts (default --test; at least --test).", min=1)] = None,
    anchored: Annotated[bool, typer.Option("--anchored", help="Every train window starts at the first bar and grows.")] = False,
    param: Params = None, trials: Trials = 30, sampler: Sampler = "tpe",
    objective: Annotated[str, typer.Option("--objective", help=f"What to optimise in each train window: {', '.join(OBJECTIVES)}.")] = "sharpe",
    jobs: Jobs = 1, seed: Seed = None,
    cash: Cash = 100_000.0, commission: CommissionText = "none", slippage: Slippage = 0.0, fill: Fill = "next-open",
    sizing: SizingText = "all-in", risk: Risk = "off", config: ConfigOption = None, json_output: JsonOption = False,
) -> None:
    """Walk-forward analysis: optimise on each train window, trade the next test window with the
    parameters found, and stitch the test windows into one out-of-sample result."""
    setup_logging(verbose=False)
    with cli_errors():
        [chosen] = _objectives([objective])
        _check_sampler(sampler)
        plan, evaluator, fixed, space = _searchable(data=data, strategy=strategy, param=param or [], cash=cash,
                                                    commission=commission, slippage=slippage, fill=fill, sizing=sizing,
                                                    risk=risk, config=config)
        with _named_options():
            windows = walk_forward_windows(evaluator.n_bars, train=train, test=test, step=step, anchored=anchored)
            search = optimiser_search(_optimizer(), space=space, n_trials=trials, sampler=sampler, seed=seed,
                                      n_jobs=jobs, progress=not json_output)
            result = run_walk_forward(evaluate=evaluator, optimise=search, windows=windows, objective=chosen,
                                      calendar=plan.calendar)  # type: ignore[arg-type]
    out = {
        "strategy": strategy, "data": data, "bars": evaluator.n_bars, "sampler": sampler, "seed": seed,
        "objective": {"name": chosen.name, "direction": chosen.direction.value}, "trials_per_window": trials,
        "anchored": anchored,
        # The objective as a figure (null, with why, when undefined), never the optimiser's stand-in.
        "windows": [{"index": w.index, "train": _range(plan, w.train), "test": _range(plan, w.test),
                     "params": {**fixed, **w.params}, **_objective_figures(chosen, w),
                     "in_sample": _figures(w.in_sample), "out_of_sample": _figures(w.out_of_sample)}
                    for w in result.windows],
        "out_of_sample": _figures(result.out_of_sample),
    }
    if json_output:
        print_json(out)
        return
    print_table(f"Walk-forward: {strategy} on {data} ({len(windows)} windows, {objective}, {trials} trials each)",
                ["window", "train bars", "test bars", "best params", f"IS {objective}", f"OOS {objective}",
                 "OOS return", "OOS trades"], [
        (w["index"], _span(w["train"]), _span(w["test"]), _params(w["params"]),
         _text(w["in_sample_objective"], why=w["in_sample_objective_undefined"]),
         _text(w["out_of_sample_objective"], why=w["out_of_sample_objective_undefined"]),
         _text(w["out_of_sample"]["total_return"], percent=True),
         _text(w["out_of_sample"]["trades"])) for w in out["windows"]])
    print_table("Stitched out-of-sample", ["figure", "value"],
                [(name, _text(out["out_of_sample"][name], percent=name in _PERCENT)) for name in FIGURES])


def montecarlo(
    data: Data, strategy: StrategyName, param: Params = None,
    sims: Annotated[int, typer.Option("--sims", help="Simulated equity paths.", min=1, max=10_000_000)] = 10_000,
    resample: Annotated[str, typer.Option("--resample", help="permutation (the same trades reordered: drawdown risk) | bootstrap (drawn with replacement).")] = "permutation",
    drawdown_threshold: Annotated[float, typer.Option("--drawdown-threshold", help="Report the probability of a drawdown beyond this fraction.", min=0.0001)] = 0.2,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: a random one, printed, to repeat the run).", min=0)] = None,
    cash: Cash = 100_000.0, commission: CommissionText = "none", slippage: Slippage = 0.0, fill: Fill = "next-open",
    sizing: SizingText = "all-in", risk: Risk = "off", config: ConfigOption = None, json_output: JsonOption = False,
) -> None:
    """Backtest once, then resample its closed trades into many equity paths: percentiles of
    final equity and maximum drawdown, and the probability of a loss."""
    setup_logging(verbose=False)
    with cli_errors():
        if resample not in {r.value for r in Resampling}:
            raise ConfigurationError(f"--resample {resample!r}: use permutation or bootstrap")
        plan = _plan(data=data, strategy=strategy, param=param or [], cash=cash, commission=commission,
                     slippage=slippage, fill=fill, sizing=sizing, risk=risk, config=config)
        result = run_plan(plan, show_progress=not json_output)
        if not result.trades:
            raise ConfigurationError(f"--strategy {strategy}: the backtest closed no trade, nothing to resample "
                                     "(other --param values or more --data)")
        seed = secrets.randbits(32) if seed is None else seed
        mc = simulate_trades(initial_equity=float(result.initial_equity), n_sims=sims, resampling=resample,
                             pnls=[float(t.pnl) for t in result.trades], seed=seed,
                             drawdown_threshold=drawdown_threshold)
    out = {
        "strategy": strategy, "data": data, "engine": result.engine, "trades": len(result.trades), "sims": sims,
        "resample": resample, "seed": seed, "initial_equity": mc.initial_equity,
        "observed": {"final_equity": mc.observed_final_equity, "max_drawdown": mc.observed_max_drawdown},
        "final_equity": attrs.asdict(mc.final_equity_percentiles),
        "max_drawdown": attrs.asdict(mc.max_drawdown_percentiles),
        "probability_of_loss": mc.probability_of_loss, "drawdown_threshold": mc.drawdown_threshold,
        "probability_of_drawdown_beyond": mc.probability_of_drawdown_beyond,
    }
    if json_output:
        print_json(out)
        return
    rows = [("final equity", *_percentiles(mc.final_equity_percentiles, "{:,.2f}"), f"{mc.observed_final_equity:,.2f}"),
            ("max drawdown", *_percentiles(mc.max_drawdown_percentiles, "{:.2%}"), f"{mc.observed_max_drawdown:.2%}")]
    print_table(f"Monte Carlo: {sims:,} {resample} paths of {len(result.trades)} trades ({strategy} on {data}, "
                f"seed {seed})", ["figure", "p5", "p25", "p50", "p75", "p95", "mean", "observed"], rows)
    print(f"probability of a loss: {mc.probability_of_loss:.2%}; of a drawdown beyond "
          f"{mc.drawdown_threshold:.0%}: {mc.probability_of_drawdown_beyond:.2%}")


def _plan(*, data: str, strategy: str, param: list[str], cash: float, commission: str, slippage: float, fill: str,
          sizing: str, risk: str, config: Path | None) -> BacktestPlan:
    return plan_backtest(data=[data], strategy=strategy, param=param, cash=cash, commission=commission,
                         slippage=slippage, fill=fill, sizing=sizing, risk=risk, engine="auto", asset_class="auto",
                         max_volume_share=None, config=config)


def _searchable(*, param: list[str], strategy: str, **options) -> tuple[BacktestPlan, BacktestEvaluator, dict, ParamSpace]:
    """The plan (strategy defaults), an evaluator, the fixed --param values and what is left to search."""
    plan = _plan(strategy=strategy, param=[], **options)
    declared = declared_params(type(plan.bots[0].strategy), where="--strategy")
    if not declared:
        raise ConfigurationError(f"--strategy {strategy}: declares no params to search (domain/strategy_params.py)")
    given = dict(parse_param(p) for p in param)
    try:
        fixed = {k: v for k, v in bind_params(declared, given, strategy=strategy).items() if k in given}
    except ParamError as exc:
        raise ConfigurationError(f"--param {exc.param}: {exc}") from exc
    space = search_space([p for p in declared if p.name not in fixed])
    if not space:
        raise ConfigurationError(f"--param fixes every parameter of {strategy}: nothing is left to search")
    # Imported here: it pulls in the numba kernel, which other commands should not pay for at start.
    from entrypoints.research_evaluator import make_evaluator

    evaluator = make_evaluator(plan, strategy_name=strategy, fixed_params=fixed)
    return plan, evaluator, fixed, space  # type: ignore[return-value]


def _optimizer() -> Optimizer:
    from adapters.optuna_search import OptunaOptimizer  # here: Optuna and SQLAlchemy load only for a search

    return OptunaOptimizer()


def _objectives(names: Sequence[str]) -> list[Objective]:
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigurationError(f"--objective {twice[0]!r} is given twice")
    try:
        return [objective_named(name) for name in names]
    except ValueError:
        unknown = next(n for n in names if n not in OBJECTIVES)
        raise ConfigurationError(f"--objective {unknown!r}: use one of {', '.join(OBJECTIVES)}") from None


def _check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise ConfigurationError(f"--sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")


@contextmanager
def _named_options() -> Iterator[None]:
    """The research tools' ValueErrors name an argument first; say the option instead."""
    try:
        yield
    except ValueError as exc:
        text = str(exc)
        first = re.split(r"[\s:\[(]", text, maxsplit=1)[0]
        if first not in _OPTION_OF:
            raise
        raise ConfigurationError(_OPTION_OF[first] + text[len(first):]) from exc


def _number(value: object) -> float | str | None:
    """JSON-safe: None for undefined, "inf"/"-inf" for infinite (as the backtest's metrics)."""
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return None
    return number if math.isfinite(number) else ("inf" if number > 0 else "-inf")


def _objective_figures(objective: Objective, window) -> dict[str, object]:
    out: dict[str, object] = {}
    for part in ("in_sample", "out_of_sample"):
        value, why = objective.shown(getattr(window, part))
        out[f"{part}_objective"] = _number(value)
        out[f"{part}_objective_undefined"] = why or None
    return out


def _figures(result: EvaluationResult) -> dict[str, float | str | None]:
    return {name: _number(value) for name, value in result.metrics.items()}


def _range(plan: BacktestPlan, window: slice) -> dict[str, object]:
    [arrays] = plan.files.values()
    stamp = lambda i: str(np.datetime_as_string(arrays.timestamps[i], unit="s")) + "Z"  # noqa: E731
    return {"start": window.start, "stop": window.stop, "first_bar": stamp(window.start),
            "last_bar": stamp(window.stop - 1)}


_PERCENT = {"total_return", "cagr", "max_drawdown", "win_rate"}


def _text(value: object, *, percent: bool = False, why: str | None = None) -> str:
    if value is None or isinstance(value, str):
        return (f"n/a ({why})" if why else "n/a") if value is None else value
    number = float(value)  # type: ignore[arg-type]
    if percent:
        return f"{number:.2%}"
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def _span(window: Mapping[str, object]) -> str:
    return f"{window['start']}-{window['stop']}"


def _params(params: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _percentiles(p: Percentiles, form: str) -> list[str]:
    return [form.format(v) for v in (p.p5, p.p25, p.p50, p.p75, p.p95, p.mean)]


def _show_optimisation(out: Mapping[str, object]) -> None:
    trials, inside, outside = out["trials"], out["in_sample"], out["out_of_sample"]
    names = [o["name"] for o in out["objectives"]]  # type: ignore[union-attr]
    print(f"{out['strategy']} on {out['data']}: study {out['study']} ({out['sampler']}), "  # type: ignore[index]
          f"{trials['complete']} complete trials, {trials['run']} run now; optimised on bars {_span(inside)}"
          + (f", out of sample {_span(outside)}" if outside else ", no hold-out"))  # type: ignore[arg-type]
    front, best = out["pareto_front"], out["best"]
    if best is None:
        print_table(f"Pareto front ({', '.join(names)})", ["trial", "params", *[f"IS {n}" for n in names],
                                                           *([f"OOS {n}" for n in names] if outside else [])], [
            (e["trial"], _params(e["params"]), *[_text(e["in_sample"][n], percent=n in _PERCENT) for n in names],
             *([_text(e["out_of_sample"][n], percent=n in _PERCENT) for n in names] if outside else []))
            for e in front])  # type: ignore[union-attr]
        return
    print(f"best (trial {best['trial']}): {_params(best['params'])}")  # type: ignore[index]
    print_table("In sample vs out of sample", ["figure", "in sample", "out of sample"], [
        (name, _text(best["in_sample"][name], percent=name in _PERCENT),  # type: ignore[index]
         _text(best["out_of_sample"][name], percent=name in _PERCENT) if outside else "")  # type: ignore[index]
        for name in FIGURES])
