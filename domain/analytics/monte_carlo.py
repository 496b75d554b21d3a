"""Monte Carlo of a strategy's trades: how much of a backtest's result was the luck of the order.

Two resamplings of the closed trades, each simulating many equity paths from one starting
equity:

- permutation: the same trades in a random order (without replacement). With additive P&L
  (or compounded returns) the final equity cannot change, since a sum (a product) does not
  depend on order; the drawdown does, and its spread is the path risk of exactly these trades.
- bootstrap: trades drawn with replacement. Both final equity and drawdown vary, which also
  shows how much hung on which trades happened to occur.

Trades are either P&L amounts, added to the equity, or returns (0.02 = +2%), compounded.
Randomness comes only from the numpy Generator passed in (or one made from `seed`): the same
seed gives the same numbers. The paths are simulated in blocks of whole rows, vectorised.
"""

from __future__ import annotations

import enum
import math
import numbers

import attrs
import numpy as np

PERCENTILES = (5, 25, 50, 75, 95)
_BLOCK_CELLS = 1 << 21  # values per simulated block: a few MB per array, whatever n_sims is


class Resampling(enum.Enum):
    PERMUTATION = "permutation"
    BOOTSTRAP = "bootstrap"


@attrs.frozen(kw_only=True)
class Percentiles:
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    mean: float

    @classmethod
    def of(cls, values: np.ndarray) -> Percentiles:
        p5, p25, p50, p75, p95 = (float(v) for v in np.percentile(values, PERCENTILES))
        return cls(p5=p5, p25=p25, p50=p50, p75=p75, p95=p95, mean=float(values.mean()))


@attrs.frozen(kw_only=True, eq=False)  # eq=False: numpy arrays do not compare to one bool
class MonteCarloResult:
    """Final equity and maximum drawdown (a fraction of the running peak; above 1.0 when additive
    losses took the equity below zero) of every simulated path, with their percentiles."""

    resampling: Resampling
    compounding: bool
    initial_equity: float
    final_equity: np.ndarray
    max_drawdown: np.ndarray
    final_equity_percentiles: Percentiles
    max_drawdown_percentiles: Percentiles
    probability_of_loss: float  # share of paths ending below the initial equity
    drawdown_threshold: float
    probability_of_drawdown_beyond: float  # share of paths whose drawdown exceeded the threshold
    observed_final_equity: float  # the trades in the order they happened
    observed_max_drawdown: float

    @property
    def n_sims(self) -> int:
        return len(self.final_equity)

    def probability_of_drawdown_over(self, threshold: float) -> float:
        return float(np.mean(self.max_drawdown > threshold))


def _paths(draws: np.ndarray, *, initial_equity: float, compounding: bool) -> tuple[np.ndarray, np.ndarray]:
    """(final equity, max drawdown) per row of trade draws."""
    if compounding:
        equity = initial_equity * np.cumprod(1.0 + draws, axis=1)
    else:
        equity = initial_equity + np.cumsum(draws, axis=1)
    peaks = np.maximum(np.maximum.accumulate(equity, axis=1), initial_equity)  # the start is a peak too
    drawdown = ((peaks - equity) / peaks).max(axis=1)
    return equity[:, -1], drawdown


def _trades(pnls: object, returns: object) -> tuple[np.ndarray, bool]:
    if (pnls is None) == (returns is None):
        raise ValueError("give exactly one of pnls (added) or returns (compounded)")
    name, given = ("pnls", pnls) if pnls is not None else ("returns", returns)
    values = np.asarray(given, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional sequence of trades, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must all be finite numbers")
    if returns is not None and values.min() < -1:
        raise ValueError(f"returns must be >= -1 (a trade cannot lose more than everything), got {values.min()}")
    return values, returns is not None


def simulate_trades(
    *,
    initial_equity: float,
    n_sims: int,
    resampling: Resampling | str,
    pnls: object = None,
    returns: object = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    n_trades: int | None = None,
    drawdown_threshold: float = 0.2,
) -> MonteCarloResult:
    """Simulate `n_sims` equity paths from `initial_equity` and the closed trades.

    Give exactly one of `pnls` (amounts, added) or `returns` (fractions, compounded), and
    exactly one of `seed` or `rng`. `n_trades` (bootstrap only) draws that many trades per path
    instead of as many as there were, e.g. a year's worth. `drawdown_threshold` is the
    drawdown (as a fraction) whose probability of being exceeded is reported.
    """
    values, compounding = _trades(pnls, returns)
    resampling = Resampling(resampling)
    if not (isinstance(initial_equity, numbers.Real) and math.isfinite(initial_equity) and initial_equity > 0):
        raise ValueError(f"initial_equity must be a finite number above zero, got {initial_equity!r}")
    if isinstance(n_sims, bool) or not isinstance(n_sims, numbers.Integral) or n_sims < 1:
        raise ValueError(f"n_sims must be a whole number >= 1, got {n_sims!r}")
    if not (isinstance(drawdown_threshold, numbers.Real) and drawdown_threshold > 0):
        raise ValueError(f"drawdown_threshold must be a fraction above zero (0.2 = 20%), got {drawdown_threshold!r}")
    if (seed is None) == (rng is None):
        # Without either, the numbers could not be reproduced.
        raise ValueError("give exactly one of seed or rng")
    generator = rng if rng is not None else np.random.default_rng(seed)
    length = len(values)
    if n_trades is not None:
        if isinstance(n_trades, bool) or not isinstance(n_trades, numbers.Integral) or n_trades < 1:
            raise ValueError(f"n_trades must be a whole number >= 1, got {n_trades!r}")
        if resampling is Resampling.PERMUTATION and n_trades != length:
            raise ValueError(f"n_trades: a permutation reorders all {length} trades, got n_trades={n_trades}")
        length = int(n_trades)

    initial = float(initial_equity)
    finals = np.empty(int(n_sims), dtype=np.float64)
    drawdowns = np.empty(int(n_sims), dtype=np.float64)
    rows_per_block = max(1, _BLOCK_CELLS // length)
    for start in range(0, int(n_sims), rows_per_block):
        rows = min(rows_per_block, int(n_sims) - start)
        if resampling is Resampling.PERMUTATION:
            draws = generator.permuted(np.broadcast_to(values, (rows, length)), axis=1)
        else:
            draws = values[generator.integers(0, len(values), size=(rows, length))]
        finals[start:start + rows], drawdowns[start:start + rows] = _paths(
            draws, initial_equity=initial, compounding=compounding
        )
    observed_final, observed_drawdown = _paths(values[None, :], initial_equity=initial, compounding=compounding)
    finals.setflags(write=False)
    drawdowns.setflags(write=False)
    return MonteCarloResult(
        resampling=resampling,
        compounding=compounding,
        initial_equity=initial,
        final_equity=finals,
        max_drawdown=drawdowns,
        final_equity_percentiles=Percentiles.of(finals),
        max_drawdown_percentiles=Percentiles.of(drawdowns),
        probability_of_loss=float(np.mean(finals < initial)),
        drawdown_threshold=float(drawdown_threshold),
        probability_of_drawdown_beyond=float(np.mean(drawdowns > drawdown_threshold)),
        observed_final_equity=float(observed_final[0]),
        observed_max_drawdown=float(observed_drawdown[0]),
    )
