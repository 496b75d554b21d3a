"""Parameter search on Optuna: the Optimizer port (TPE, NSGA-II, random), across processes and machines."""

from adapters.optuna_search.search import OptunaOptimizer, WorkerFailed
from adapters.optuna_search.storage import normalise_storage_url

__all__ = ["OptunaOptimizer", "WorkerFailed", "normalise_storage_url"]
