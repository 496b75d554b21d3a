"""The Python face of the compiled backtest kernel: checked settings in, arrays out.

For research at speed (a million bars in tens of milliseconds, parameter sweeps): a
strategy's per-bar targets run through market orders, fills and accounting in one compiled
loop (kernel.py has the exact rules). Money is float64 here, as in the indicators: this is
a model, not a ledger. The event-driven backtest (Decimal, risk checks, the simulated
venue's volume caps) stays the reference for what a bot would really do.
"""

from __future__ import annotations

import enum
import math
from typing import Protocol

import attrs
import numpy as np

from adapters.fast_backtest import kernel

FILL_DTYPE = np.dtype([("bar", np.int64), ("side", np.int8), ("quantity", np.float64), ("price", np.float64),
                       ("fee", np.float64)])
ROUND_TRIP_DTYPE = np.dtype([("side", np.int8), ("entry_bar", np.int64), ("exit_bar", np.int64),
                             ("quantity", np.float64), ("entry_price", np.float64), ("exit_price", np.float64),
                             ("pnl", np.float64)])


class FillAt(enum.IntEnum):
    NEXT_OPEN = 0  # decided on bar t's close, filled at bar t+1's open
    THIS_CLOSE = 1  # filled at the close of the bar it was decided on


class Sizing(enum.IntEnum):
    ALL_IN = 0  # every unit the cash (after closing the other side) pays for, fees included
    FRACTION = 1  # `fraction` of the equity marked at the fill price, in whole lots; fees on top


class FeeKind(enum.IntEnum):
    NONE = 0
    PER_SHARE = 1
    PER_NOTIONAL = 2


def _non_negative(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _positive(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


def _fraction(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    _positive(_instance, attribute, value)
    if value > 1:
        raise ValueError(f"{attribute.name} must be in (0, 1], got {value!r}")


@attrs.frozen(kw_only=True)
class Commission:
    """Per share: max(rate * qty, minimum), capped at max_fraction of the notional (the cap wins
    over the minimum; 0 = no cap). Per notional: rate in basis points."""

    kind: FeeKind = attrs.field(default=FeeKind.NONE, converter=FeeKind)
    rate: float = attrs.field(default=0.0, validator=_non_negative)
    minimum: float = attrs.field(default=0.0, validator=_non_negative)
    max_fraction: float = attrs.field(default=0.0, validator=_non_negative)

    @classmethod
    def per_share(cls, rate: float, *, minimum: float = 0.0, max_fraction: float = 0.0) -> Commission:
        return cls(kind=FeeKind.PER_SHARE, rate=rate, minimum=minimum, max_fraction=max_fraction)

    @classmethod
    def per_notional(cls, bps: float) -> Commission:
        return cls(kind=FeeKind.PER_NOTIONAL, rate=bps)

    @classmethod
    def maker_taker(cls, *, maker_bps: float, taker_bps: float) -> Commission:
        # Every order here is a market order, and market orders take liquidity.
        del maker_bps
        return cls.per_notional(taker_bps)


@attrs.frozen(kw_only=True)
class FastBacktestConfig:
    cash: float = attrs.field(default=100_000.0, validator=_positive)
    fill_at: FillAt = attrs.field(default=FillAt.NEXT_OPEN, converter=FillAt)
    sizing: Sizing = attrs.field(default=Sizing.ALL_IN, converter=Sizing)
    fraction: float = attrs.field(default=1.0, validator=_fraction)  # for Sizing.FRACTION, in (0, 1]
    lot: float = attrs.field(default=1.0, validator=_positive)  # 1 for whole shares, 1e-8 for crypto
    tick: float = attrs.field(default=0.0, validator=_non_negative)  # 0: prices are not rounded
    slippage_bps: float = attrs.field(default=0.0, validator=_non_negative)
    commission: Commission = Commission()
    allow_short: bool = False

    def kernel_args(self) -> tuple:
        c = self.commission
        return (float(self.cash), int(self.fill_at), int(self.sizing), float(self.fraction), float(self.lot),
                float(self.tick), float(self.slippage_bps), int(c.kind), float(c.rate), float(c.minimum),
                float(c.max_fraction), bool(self.allow_short))


@attrs.frozen(kw_only=True)
class FastBacktestResult:
    equity: np.ndarray = attrs.field(eq=False)  # one value per bar: cash + position * close
    fills: np.ndarray = attrs.field(eq=False)  # FILL_DTYPE
    round_trips: np.ndarray = attrs.field(eq=False)  # ROUND_TRIP_DTYPE; an open one has exit_bar -1
    cash: float
    position: float
    max_drawdown: float  # the largest fall from a peak, as a fraction of that peak

    @property
    def trades(self) -> int:
        """Positions opened (closed or still open): what the peer engines count as trades."""
        return len(self.round_trips)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.cash


class TargetStrategy(Protocol):
    def targets(self, open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,  # noqa: A002
                volume: np.ndarray) -> np.ndarray:
        """int8 per bar: 1 LONG, 0 FLAT, -1 SHORT, 2 KEEP; what on_bar would say after each bar."""
        ...


def checked_prices(name: str, values: np.ndarray, n: int | None) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1 or (n is not None and len(array) != n):
        raise ValueError(f"{name} must be a 1-D array of {n} values, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or (len(array) and array.min() <= 0):
        raise ValueError(f"{name} must be finite and > 0")
    return array


def run_targets(*, open: np.ndarray, close: np.ndarray, targets: np.ndarray,  # noqa: A002
                config: FastBacktestConfig = FastBacktestConfig()) -> FastBacktestResult:
    """Backtest per-bar target codes on one instrument's bars."""
    close = checked_prices("close", close, None)
    open_ = checked_prices("open", open, len(close))
    targets = np.ascontiguousarray(targets)
    if targets.shape != close.shape or not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be an integer array shaped like close {close.shape}, got {targets.shape}")
    targets = targets.astype(np.int8, copy=False)
    n = len(close)
    capacity = int(kernel.fill_capacity(targets, config.allow_short))
    equity = np.empty(n)
    # The kernel writes plain columns; a structured array's fields are strided views of one block.
    f_bar, f_side, f_qty, f_price, f_fee = (np.empty(capacity, dtype=FILL_DTYPE[k]) for k in range(5))
    t_cols = [np.empty(capacity, dtype=ROUND_TRIP_DTYPE[k]) for k in range(7)]
    n_fills, n_trips, cash, position, max_drawdown = kernel.simulate(
        open_, close, targets, *config.kernel_args(), equity, f_bar, f_side, f_qty, f_price, f_fee, *t_cols)
    fills = np.empty(n_fills, dtype=FILL_DTYPE)
    for name, column in zip(FILL_DTYPE.names, (f_bar, f_side, f_qty, f_price, f_fee)):
        fills[name] = column[:n_fills]
    trips = np.empty(n_trips, dtype=ROUND_TRIP_DTYPE)
    for name, column in zip(ROUND_TRIP_DTYPE.names, t_cols):
        trips[name] = column[:n_trips]
    return FastBacktestResult(equity=equity, fills=fills, round_trips=trips, cash=float(cash),
                              position=float(position), max_drawdown=float(max_drawdown))


def run_strategy(strategy: TargetStrategy, *, open: np.ndarray, high: np.ndarray, low: np.ndarray,  # noqa: A002
                 close: np.ndarray, volume: np.ndarray,
                 config: FastBacktestConfig = FastBacktestConfig()) -> FastBacktestResult:
    """A strategy with a vectorised `targets()` (MovingAverageCrossover has one) over whole arrays."""
    targets = strategy.targets(open, high, low, close, volume)
    return run_targets(open=open, close=close, targets=targets, config=config)
