"""A compiled (numba) backtest of per-bar targets: a million bars in milliseconds, and sweeps.

engine.py is the API, kernel.py the loop and its exact rules, reference.py the same rules in
plain Python (the tests' yardstick), sweep.py many parameter sets in parallel.
Importing this package compiles nothing: numba compiles (or loads its cache) at the first call.
"""

from adapters.fast_backtest.engine import (
    FILL_DTYPE,
    ROUND_TRIP_DTYPE,
    Commission,
    FastBacktestConfig,
    FastBacktestResult,
    FeeKind,
    FillAt,
    Sizing,
    run_strategy,
    run_targets,
)

__all__ = [
    "FILL_DTYPE",
    "ROUND_TRIP_DTYPE",
    "Commission",
    "FastBacktestConfig",
    "FastBacktestResult",
    "FeeKind",
    "FillAt",
    "Sizing",
    "run_strategy",
    "run_targets",
]
