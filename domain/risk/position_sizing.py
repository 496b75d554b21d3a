"""Risk-aware position sizing: volatility targeting and fractional Kelly.

Both return the `SizingResult` of domain.risk.sizing, rounded down to whole lots by
`Instrument.round_quantity_down` (crypto lot increments, whole shares unless the
instrument's lot is fractional), so a size never exceeds what its budget allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import attrs

from domain.accounting.instrument import Instrument
from domain.accounting.position import RoundTrip
from domain.numbers import ONE, ZERO
from domain.risk.sizing import FixedFraction, SizingResult

KELLY_FRACTION_MIN = Decimal("0.25")
KELLY_FRACTION_MAX = Decimal("0.5")


def _not_positive(equity: Decimal, price: Decimal) -> SizingResult | None:
    if equity <= 0 or price <= 0:
        return SizingResult(quantity=ZERO, arithmetic=f"equity {equity} or price {price} not positive")
    return None


def _ratio(value: Decimal) -> str:
    return f"{value:.6f}"


@attrs.frozen(kw_only=True)
class VolatilitySizing:
    """Size so that a stop `atr_multiple` ATRs away loses `risk_fraction` of equity.

    quantity = equity x risk_fraction / (atr x atr_multiple). Because a quiet market
    (tiny ATR) would otherwise ask for leverage, the notional is also capped at
    equity x max_fraction (default 1: never more than the equity).
    """

    risk_fraction: Decimal
    atr_multiple: Decimal
    max_fraction: Decimal = ONE

    def __attrs_post_init__(self) -> None:
        if not (ZERO < self.risk_fraction <= ONE):
            raise ValueError(f"risk_fraction must be in (0, 1], got {self.risk_fraction}")
        if not (self.atr_multiple.is_finite() and self.atr_multiple > 0):
            raise ValueError(f"atr_multiple must be positive, got {self.atr_multiple}")
        if not (ZERO < self.max_fraction <= ONE):
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction}")

    def size(self, *, instrument: Instrument, equity: Decimal, price: Decimal, atr: float) -> SizingResult:
        if (refused := _not_positive(equity, price)) is not None:
            return refused
        if not math.isfinite(atr) or atr <= 0:
            return SizingResult(quantity=ZERO, arithmetic=f"ATR {atr} not a positive number: no volatility size")
        atr_d = Decimal(repr(float(atr)))  # shortest repr: 2.5 stays 2.5
        at_risk = equity * self.risk_fraction
        stop = atr_d * self.atr_multiple
        raw = at_risk / stop
        cap = equity * self.max_fraction / price
        target = min(raw, cap)
        quantity = instrument.round_quantity_down(target)
        return SizingResult(
            quantity=quantity,
            arithmetic=(
                f"{equity} equity x {self.risk_fraction} risk = {at_risk} at risk"
                f" / ({atr_d} ATR x {self.atr_multiple}) = {stop} stop -> {raw:.8f};"
                f" cap {equity} x {self.max_fraction} / {price} price = {cap:.8f};"
                f" min {target:.8f} -> {quantity} (lot {instrument.lot_size})"
            ),
        )


@attrs.frozen(kw_only=True)
class FractionalKelly:
    """A fraction of the Kelly bet estimated from the strategy's recent round trips.

    p = wins / trips (break-even trips count as non-wins), b = average win / average
    |loss| (net P&L), f* = p - (1 - p) / b, fraction = clamp(kelly_fraction x f*, 0, cap).
    With fewer than `min_trades` trips, or no wins, or no losses, the estimate is not
    trusted and `fallback` sizes instead (its fraction must not exceed `cap`).
    """

    kelly_fraction: Decimal
    cap: Decimal
    min_trades: int
    fallback: FixedFraction

    def __attrs_post_init__(self) -> None:
        if not (KELLY_FRACTION_MIN <= self.kelly_fraction <= KELLY_FRACTION_MAX):
            raise ValueError(
                f"kelly_fraction must be in [{KELLY_FRACTION_MIN}, {KELLY_FRACTION_MAX}], got {self.kelly_fraction}"
            )
        if not (ZERO < self.cap <= ONE):
            raise ValueError(f"cap must be in (0, 1], got {self.cap}")
        if isinstance(self.min_trades, bool) or not isinstance(self.min_trades, int) or self.min_trades < 1:
            raise ValueError(f"min_trades must be an integer >= 1, got {self.min_trades!r}")
        if self.fallback.fraction > self.cap:
            raise ValueError(f"fallback fraction {self.fallback.fraction} exceeds cap {self.cap}")

    def size(
        self, *, instrument: Instrument, equity: Decimal, price: Decimal, trips: Sequence[RoundTrip]
    ) -> SizingResult:
        if (refused := _not_positive(equity, price)) is not None:
            return refused
        n = len(trips)
        wins = [t.net_pnl for t in trips if t.net_pnl > 0]
        losses = [-t.net_pnl for t in trips if t.net_pnl < 0]
        if n < self.min_trades:
            reason = f"{n} round trips < {self.min_trades} required"
        elif not losses:
            reason = f"no losing trip in {n}: payoff ratio undefined"
        elif not wins:
            reason = f"no winning trip in {n}"
        else:
            reason = None
        if reason is not None:
            result = self.fallback.size(instrument=instrument, equity=equity, price=price)
            return SizingResult(
                quantity=result.quantity, arithmetic=f"Kelly fallback ({reason}): {result.arithmetic}"
            )

        p = Decimal(len(wins)) / Decimal(n)
        avg_win = sum(wins, ZERO) / len(wins)
        avg_loss = sum(losses, ZERO) / len(losses)
        b = avg_win / avg_loss
        f_star = p - (ONE - p) / b
        scaled = self.kelly_fraction * f_star
        fraction = min(max(scaled, ZERO), self.cap)
        estimate = (
            f"{len(wins)} wins / {n} trips = p {_ratio(p)}; avg win {_ratio(avg_win)} / avg loss {_ratio(avg_loss)}"
            f" = b {_ratio(b)}; f* = p - (1-p)/b = {_ratio(f_star)}; x {self.kelly_fraction} = {_ratio(scaled)};"
            f" clamp [0, {self.cap}] = {_ratio(fraction)}"
        )
        if fraction == 0:
            return SizingResult(quantity=ZERO, arithmetic=f"{estimate}: no edge, no position")
        raw = equity * fraction / price
        quantity = instrument.round_quantity_down(raw)
        return SizingResult(
            quantity=quantity,
            arithmetic=(
                f"{estimate}; {equity} equity x {_ratio(fraction)} / {price} price = {raw:.8f}"
                f" -> {quantity} (lot {instrument.lot_size})"
            ),
        )
