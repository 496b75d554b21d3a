"""Position sizing: how many units a target exposure means."""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.numbers import ZERO


@attrs.frozen(kw_only=True)
class SizingResult:
    quantity: Decimal
    arithmetic: str  # recorded in the audit trail: how the number came about


@attrs.frozen(kw_only=True)
class FixedFraction:
    """Commit `fraction` of equity to a new position, rounded down to whole lots."""

    fraction: Decimal

    def __attrs_post_init__(self) -> None:
        if not (ZERO < self.fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")

    def size(self, *, instrument: Instrument, equity: Decimal, price: Decimal) -> SizingResult:
        if equity <= 0 or price <= 0:
            return SizingResult(quantity=ZERO, arithmetic=f"equity {equity} or price {price} not positive")
        raw = equity * self.fraction / price
        quantity = instrument.round_quantity_down(raw)
        return SizingResult(
            quantity=quantity,
            arithmetic=(
                f"{equity:.2f} equity x {self.fraction} / {price} price = {raw:.8f}"
                f" -> {quantity} (lot {instrument.lot_size})"
            ),
        )
