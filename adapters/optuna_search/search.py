"""The Optimizer port on Optuna.

Parallelism is over processes, not threads: Optuna's own `n_jobs` runs trials in threads,
which the GIL serialises for a CPU-bound backtest. With `n_jobs` > 1 this adapter creates the
study, then starts that many worker processes that each load it from one shared storage and
run their share of the trials; Optuna coordinates them through the storage (TPE's "constant
liar" keeps them from all trying the same point). Workers are forked where the platform can:
the objective and whatever it closes over (loaded bars) are inherited, not pickled, and
shared copy-on-write. Several machines join one study by running this with the same
`storage="postgresql://..."` and `study_name`; each call runs its own `n_trials`.
"""

from __future__ import annotations

import multiprocessing
import numbers
import time
import traceback
import uuid
from collections.abc import Sequence

import attrs
import optuna
from optuna.trial import FrozenTrial, TrialState
from rich.progress import Progress

from adapters.optuna_search.space import check_space, make_sampler, suggest
from adapters.optuna_search.storage import (
    StorageTarget,
    is_shared,
    normalise_storage_url,
    release_connections,
    storage_target,
)
from application.research.ports import (
    SAMPLERS,
    Direction,
    ObjectiveFunction,
    OptimisationResult,
    ParamSpace,
    TrialRecord,
)

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class WorkerFailed(RuntimeError):
    """A worker process died; the message carries its traceback."""


@attrs.frozen(kw_only=True)
class _TrialObjective:
    """What Optuna calls per trial: suggest the parameters, score them, check the shape."""

    space: ParamSpace
    objective: ObjectiveFunction
    n_objectives: int

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        value = self.objective(suggest(trial, self.space))
        values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if len(values) != self.n_objectives:
            raise ValueError(f"objective returned {len(values)} value(s) for {self.n_objectives} direction(s)")
        numbers_ = tuple(float(v) for v in values)
        return numbers_[0] if self.n_objectives == 1 else numbers_


def _whole(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def _record(trial: FrozenTrial) -> TrialRecord:
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    values = tuple(trial.values) if trial.values is not None else None
    return TrialRecord(number=trial.number, state=trial.state.name, params=trial.params, values=values,
                       duration_seconds=duration)


def _worker(*, target: StorageTarget, study_name: str, sampler: str, seed: int | None, n_trials: int,
            total_trials: int, trial_objective: _TrialObjective, errors: multiprocessing.SimpleQueue) -> None:
    try:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name=study_name, storage=target.open(),
                                  sampler=make_sampler(sampler, seed=seed, n_trials=total_trials))
        study.optimize(trial_objective, n_trials=n_trials)
    except BaseException:
        # Kept short: a message longer than the pipe's buffer would block this process until the
        # parent reads, and the parent reads only after joining it.
        errors.put(traceback.format_exc()[-8000:])
        raise SystemExit(1) from None


class OptunaOptimizer:
    """Implements application.research.ports.Optimizer."""

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
        check_space(space)
        if isinstance(directions, str) or not directions:
            raise ValueError(f"directions must be a non-empty sequence such as ('maximize',), got {directions!r}")
        wanted = tuple(Direction.parse(d) for d in directions)
        n_trials = _whole("n_trials", n_trials, minimum=1)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler: unknown {sampler!r}; use one of {', '.join(SAMPLERS)}")
        if seed is not None:
            seed = _whole("seed", seed, minimum=0)
        url = normalise_storage_url(storage) if storage is not None else None
        if study_name is not None and (not isinstance(study_name, str) or not study_name.strip()):
            raise ValueError(f"study_name must be a non-empty string, got {study_name!r}")
        if n_jobs == -1:
            n_jobs = multiprocessing.cpu_count()
        processes = min(_whole("n_jobs", n_jobs, minimum=1), n_trials)
        if processes > 1 and url is not None and not is_shared(url):
            raise ValueError("storage: an in-memory SQLite database cannot be shared by worker processes; "
                             "give a file (sqlite:///study.db) or no storage")
        name = study_name or f"quantshift-{uuid.uuid4().hex[:12]}"
        trial_objective = _TrialObjective(space=space, objective=objective, n_objectives=len(wanted))
        # Optuna logs a line per trial at INFO; that would bury the progress bar and the results.
        optuna.logging.set_verbosity(optuna.logging.WARNING)

        with storage_target(url, processes=processes) as target:
            opened = target.open()
            study = optuna.create_study(storage=opened, study_name=name, load_if_exists=True,
                                        directions=[d.value for d in wanted],
                                        sampler=make_sampler(sampler, seed=seed, n_trials=n_trials))
            have = tuple(Direction(d.name.lower()) for d in study.directions)
            if have != wanted:
                raise ValueError(f"directions: study {name!r} in {target.shown()} already exists with directions "
                                 f"{[d.value for d in have]}, not {[d.value for d in wanted]}")
            try:
                if processes == 1:
                    study.optimize(trial_objective, n_trials=n_trials, show_progress_bar=progress)
                else:
                    release_connections(opened)
                    self._run_workers(study=study, target=target, processes=processes, n_trials=n_trials,
                                      sampler=sampler, seed=seed, trial_objective=trial_objective,
                                      progress=progress)
                return self._result(study, wanted)
            finally:
                release_connections(opened)

    @staticmethod
    def _run_workers(*, study: optuna.Study, target: StorageTarget, processes: int, n_trials: int, sampler: str,
                     seed: int | None, trial_objective: _TrialObjective, progress: bool) -> None:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        errors = context.SimpleQueue()
        # An exact split, so this call runs exactly n_trials whatever else joins the study.
        shares = [n_trials // processes + (1 if i < n_trials % processes else 0) for i in range(processes)]
        already = len(study.get_trials(deepcopy=False, states=_FINISHED))
        workers = [
            context.Process(
                target=_worker, name=f"optuna-worker-{i}",
                kwargs=dict(target=target, study_name=study.study_name, sampler=sampler,
                            # One seed per worker: the same seed would make them all propose the same points.
                            seed=None if seed is None else seed + i, n_trials=share, total_trials=n_trials,
                            trial_objective=trial_objective, errors=errors),
            )
            for i, share in enumerate(shares)
        ]
        for worker in workers:
            worker.start()
        try:
            if progress:
                with Progress(transient=False) as bar:
                    task = bar.add_task(f"{processes} workers", total=n_trials)
                    while any(worker.is_alive() for worker in workers):
                        done = len(study.get_trials(deepcopy=False, states=_FINISHED)) - already
                        bar.update(task, completed=min(done, n_trials))
                        time.sleep(0.25)
                    bar.update(task, completed=n_trials)
            for worker in workers:
                worker.join()
        except BaseException:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            for worker in workers:
                worker.join()
            raise
        failed = [worker for worker in workers if worker.exitcode != 0]
        if failed:
            reports = []
            while not errors.empty():
                reports.append(errors.get())
            detail = reports[0] if reports else f"exit code {failed[0].exitcode}"
            raise WorkerFailed(f"{len(failed)} of {processes} optuna worker processes failed; the first:\n{detail}")

    @staticmethod
    def _result(study: optuna.Study, directions: tuple[Direction, ...]) -> OptimisationResult:
        trials = study.get_trials(deepcopy=False)
        completed = any(trial.state is TrialState.COMPLETE for trial in trials)
        if not completed:
            best: list[FrozenTrial] = []
        elif len(directions) == 1:
            best = [study.best_trial]
        else:
            best = sorted(study.best_trials, key=lambda trial: trial.number)
        return OptimisationResult(study_name=study.study_name, directions=directions,
                                  best=tuple(_record(t) for t in best), trials=tuple(_record(t) for t in trials))
