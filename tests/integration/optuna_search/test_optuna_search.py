"""The Optuna adapter against real Optuna: samplers, worker processes on shared storage, Postgres.

Postgres comes from the `postgres_url` fixture of conftest.py (skipped when unreachable,
failed when CI=true). Each Postgres test keeps its Optuna tables in a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql

from adapters.optuna_search import OptunaOptimizer, WorkerFailed, normalise_storage_url
from application.research.ports import Direction, EvaluationResult
from application.research.walk_forward import optimiser_search, run_walk_forward, walk_forward_windows
from domain.errors import StoreUnavailable
from domain.strategy_params import bool_param, choice_param, float_param, int_param, search_space

XY = search_space([float_param("x", default=0.0, low=-10.0, high=10.0),
                   float_param("y", default=0.0, low=-10.0, high=10.0)])
X = search_space([float_param("x", default=0.0, low=-1.0, high=3.0)])


def bowl(params) -> float:
    return -((params["x"] - 2) ** 2) - (params["y"] + 1) ** 2


def x_squared(params) -> float:
    return params["x"] ** 2


class PidLog:
    """An objective that notes which process ran each trial (forked workers inherit it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, params) -> float:
        with self.path.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return x_squared(params)

    def pids(self) -> list[int]:
        return [int(line) for line in self.path.read_text().split()]


@pytest.fixture
def optimizer() -> OptunaOptimizer:
    return OptunaOptimizer()


def test_tpe_finds_the_top_of_a_bowl(optimizer):
    result = optimizer.optimise(space=XY, objective=bowl, directions=["maximize"], n_trials=80, seed=1)
    assert len(result.trials) == 80
    assert abs(result.best_params["x"] - 2) < 0.5 and abs(result.best_params["y"] + 1) < 0.5
    assert result.best_value > -0.5
    assert result.best_value == max(t.values[0] for t in result.trials)


def test_a_seed_makes_a_single_process_search_reproducible(optimizer):
    def search(seed: int) -> list[dict]:
        result = optimizer.optimise(space=XY, objective=bowl, directions=["maximize"], n_trials=25, seed=seed)
        return [dict(trial.params) for trial in result.trials]

    assert search(7) == search(7)
    assert search(7) != search(8)


def test_every_kind_of_parameter_is_suggested_within_its_declaration(optimizer):
    space = search_space([
        int_param("period", default=20, low=5, high=50, step=5),
        int_param("lookback", default=10, low=2, high=200, log=True),
        float_param("band", default=2.0, low=0.5, high=3.0, step=0.5),
        float_param("stop", default=0.02, low=0.001, high=0.1, log=True),
        bool_param("short", default=False),
        choice_param("price", default="close", choices=["close", "hl2"]),
    ])
    seen = []
    result = optimizer.optimise(space=space, objective=lambda p: seen.append(p) or 0.0, directions=["minimise"],
                                n_trials=30, sampler="random", seed=3)
    assert len(seen) == 30 and len(result.trials) == 30
    for params in seen:
        assert params["period"] in range(5, 51, 5)
        assert isinstance(params["lookback"], int) and 2 <= params["lookback"] <= 200
        assert params["band"] in np.arange(0.5, 3.01, 0.5)
        assert 0.001 <= params["stop"] <= 0.1
        assert params["short"] in (False, True) and params["price"] in ("close", "hl2")
    assert {params["short"] for params in seen} == {False, True}


def test_nsga2_returns_a_pareto_front_of_two_objectives(optimizer):
    # Minimise x^2 and (x-2)^2 together: every x in [0, 2] is a best compromise, nothing outside is.
    result = optimizer.optimise(space=X, objective=lambda p: (p["x"] ** 2, (p["x"] - 2) ** 2),
                                directions=["minimize", "minimize"], n_trials=60, sampler="nsga2", seed=5)
    assert result.directions == (Direction.MINIMISE, Direction.MINIMISE)
    assert len(result.best) >= 5
    for point in result.best:
        assert -0.05 <= point.params["x"] <= 2.05
        assert not any(other.values[0] <= point.values[0] and other.values[1] <= point.values[1]
                       and other.values != point.values for other in result.best)  # none dominates another
    with pytest.raises(ValueError, match="Pareto front"):
        _ = result.best_params


def test_two_worker_processes_share_a_temporary_journal(optimizer, tmp_path):
    objective = PidLog(tmp_path / "pids")
    result = optimizer.optimise(space=X, objective=objective, directions=["minimize"], n_trials=21, seed=2,
                                n_jobs=2, sampler="tpe", progress=True)
    assert len(result.trials) == 21
    assert all(trial.state == "COMPLETE" for trial in result.trials)
    pids = objective.pids()
    assert len(pids) == 21 and len(set(pids)) == 2 and os.getpid() not in pids
    assert abs(result.best_params["x"]) < 0.5


def test_two_worker_processes_on_a_sqlite_file_and_a_second_run_joins_the_study(optimizer, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    objective = PidLog(tmp_path / "pids")
    first = optimizer.optimise(space=X, objective=objective, directions=["minimize"], n_trials=10, n_jobs=2,
                               storage=storage, study_name="joined", sampler="random", seed=1)
    assert len(first.trials) == 10 and len(set(objective.pids())) == 2
    second = optimizer.optimise(space=X, objective=x_squared, directions=["minimize"], n_trials=4,
                                storage=storage, study_name="joined", sampler="random", seed=2)
    assert second.study_name == "joined" and len(second.trials) == 14
    assert second.best_value <= first.best_value
    with pytest.raises(ValueError, match="directions: study 'joined'"):
        optimizer.optimise(space=X, objective=x_squared, directions=["maximize"], n_trials=1, storage=storage,
                           study_name="joined")


def test_a_failing_objective_in_a_worker_is_reported_with_its_traceback(optimizer):
    def broken(params) -> float:
        raise ZeroDivisionError("the strategy divided by zero")

    with pytest.raises(WorkerFailed, match="the strategy divided by zero"):
        optimizer.optimise(space=X, objective=broken, directions=["minimize"], n_trials=4, n_jobs=2)
    with pytest.raises(ZeroDivisionError):
        optimizer.optimise(space=X, objective=broken, directions=["minimize"], n_trials=2)


@pytest.fixture
def postgres_storage(postgres_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, connect_timeout=5, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in postgres_url else "?"
    try:
        # A plain postgresql:// URL, as a user would write it; the adapter picks the psycopg 3 dialect.
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_url, connect_timeout=5, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_two_worker_processes_on_postgres_complete_the_trials(optimizer, postgres_storage, tmp_path):
    name = f"study-{uuid.uuid4().hex}"
    objective = PidLog(tmp_path / "pids")
    result = optimizer.optimise(space=X, objective=objective, directions=["minimize"], n_trials=8, n_jobs=2,
                                storage=postgres_storage, study_name=name, sampler="random", seed=4)
    assert result.study_name == name and len(result.trials) == 8
    assert all(trial.state == "COMPLETE" for trial in result.trials)
    assert len(set(objective.pids())) == 2
    # Another machine would join the same way; the study is there with every trial.
    again = optimizer.optimise(space=X, objective=x_squared, directions=["minimize"], n_trials=1,
                               storage=postgres_storage, study_name=name, sampler="random")
    assert len(again.trials) == 9


def test_an_unreachable_postgres_storage_is_named_without_its_password(optimizer):
    with pytest.raises(StoreUnavailable, match="cannot be reached") as caught:
        optimizer.optimise(space=X, objective=x_squared, directions=["minimize"], n_trials=1,
                           storage="postgresql://quant:s3cret-pw@127.0.0.1:1/test")
    assert "s3cret-pw" not in str(caught.value)


def test_storage_urls_are_translated_to_psycopg_3():
    assert normalise_storage_url("postgresql://u:pw@db:5432/research") == "postgresql+psycopg://u:pw@db:5432/research"
    assert normalise_storage_url("postgres://u@db/research") == "postgresql+psycopg://u@db/research"
    assert normalise_storage_url("sqlite:///tmp/study.db") == "sqlite:///tmp/study.db"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (dict(sampler="cmaes"), "sampler"),
        (dict(n_trials=0), "n_trials"),
        (dict(n_jobs=0), "n_jobs"),
        (dict(directions=[]), "directions"),
        (dict(directions=["up"]), "directions"),
        (dict(directions="maximize"), "directions"),
        (dict(seed=-1), "seed"),
        (dict(study_name=""), "study_name"),
        (dict(space={}), "space"),
        (dict(storage="not a url"), "storage"),
        (dict(storage="mysql://u@h/db"), "storage"),
        (dict(storage="postgresql+psycopg2://u:hidden@h/db"), "storage"),
        (dict(storage="postgresql://u@h"), "storage"),
        (dict(storage="sqlite://", n_jobs=2), "storage"),
    ],
)
def test_bad_arguments_are_named(optimizer, overrides, named):
    arguments = dict(space=X, objective=x_squared, directions=["minimize"], n_trials=2)
    arguments.update(overrides)
    with pytest.raises(ValueError, match=named) as caught:
        optimizer.optimise(**arguments)
    assert "hidden" not in str(caught.value)


def test_walk_forward_with_an_optuna_search_per_window(optimizer):
    prices = 100 + 10 * np.sin(np.arange(300) / 7)
    start = np.datetime64("2024-01-01", "ns")

    def evaluate(params, window: slice) -> EvaluationResult:
        # The bar before the window (bar 0 itself for a window at the start) gives the first signal.
        closes = np.concatenate([prices[:1], prices])[window.start: window.stop + 1]
        held = closes[:-1] > params["threshold"]
        equity = 100 * np.cumprod(1 + np.where(held, closes[1:] / closes[:-1] - 1, 0.0))
        times = start + np.arange(window.start, window.stop) * np.timedelta64(1, "D")
        return EvaluationResult(equity=equity, trade_pnls=[], bar_times=times,
                                metrics={"total_return": float(equity[-1] / 100 - 1)})

    space = search_space([float_param("threshold", default=100.0, low=85.0, high=115.0)])
    result = run_walk_forward(
        evaluate=evaluate, windows=walk_forward_windows(300, train=100, test=50),
        optimise=optimiser_search(optimizer, space=space, n_trials=12, sampler="random", seed=1),
        objective=lambda r: r.metrics["total_return"],
    )
    assert len(result.windows) == 4 and len(result.out_of_sample.equity) == 200
    assert all(85 <= row.params["threshold"] <= 115 for row in result.windows)
