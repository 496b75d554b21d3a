"""Portfolio heat: the money lost if every open stop were hit at once, capped as a fraction of equity.

A position's risk is measured from the current MARK to its stop (not from entry):
a long at mark 110 with stop 100 risks 10 per unit whatever it was bought at.
A stop already on the far side of the mark (a long's stop at or above the mark, a
short's at or below) risks nothing more and contributes 0.

Quantities are signed: positive long, negative short. The check is for
risk-increasing entries; risk-reducing orders do not go through it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal

import attrs


def position_risk(*, quantity: Decimal, mark: Decimal, stop: Decimal) -> Decimal:
    """Loss from mark to stop for a signed quantity; 0 when the stop is on the profitable side."""
    per_unit = mark - stop if quantity > 0 else stop - mark
    return max(per_unit, Decimal(0)) * abs(quantity)


def portfolio_heat(positions: Sequence[tuple[Decimal, Decimal, Decimal]]) -> Decimal:
    """Sum of position_risk over (quantity, mark, stop) tuples."""
    return sum((position_risk(quantity=q, mark=m, stop=s) for q, m, s in positions), Decimal(0))


class HeatVerdict(enum.Enum):
    APPROVED = "approved"
    RESIZED = "resized"
    DENIED = "denied"


@attrs.frozen(kw_only=True)
class HeatDecision:
    verdict: HeatVerdict
    quantity: Decimal  # the quantity to send (signed like the candidate); 0 when denied
    heat_before: Decimal
    heat_after: Decimal  # heat with `quantity` added
    limit: Decimal  # max_fraction x equity
    reason: str

    @property
    def approved(self) -> bool:
        return self.verdict is not HeatVerdict.DENIED


@attrs.frozen
class PortfolioHeat:
    max_fraction: Decimal = Decimal("0.10")

    def __attrs_post_init__(self) -> None:
        if not (self.max_fraction.is_finite() and Decimal(0) < self.max_fraction <= Decimal(1)):
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction}")

    def check(self, *, positions: Sequence[tuple[Decimal, Decimal, Decimal]], equity: Decimal,
              candidate_quantity: Decimal, candidate_price: Decimal, candidate_stop: Decimal,
              lot_size: Decimal) -> HeatDecision:
        if not (lot_size.is_finite() and lot_size > 0):
            raise ValueError(f"lot_size must be positive, got {lot_size}")
        before = portfolio_heat(positions)
        limit = self.max_fraction * max(equity, Decimal(0))
        figures = f"heat {before} vs limit {limit} ({self.max_fraction:.2%} of equity {equity})"

        def deny(why: str) -> HeatDecision:
            return HeatDecision(verdict=HeatVerdict.DENIED, quantity=Decimal(0), heat_before=before,
                                heat_after=before, limit=limit, reason=f"{why}; {figures}")

        if candidate_quantity == 0:
            return deny("candidate quantity is 0")
        per_unit = candidate_price - candidate_stop if candidate_quantity > 0 else candidate_stop - candidate_price
        if per_unit <= 0:
            # A stop on the wrong side would fill at once: treat it as a malformed entry, not a free one.
            return deny(f"stop {candidate_stop} is not on the losing side of price {candidate_price}")
        room = limit - before
        asked_risk = per_unit * abs(candidate_quantity)
        if asked_risk <= room:
            return HeatDecision(verdict=HeatVerdict.APPROVED, quantity=candidate_quantity, heat_before=before,
                                heat_after=before + asked_risk, limit=limit,
                                reason=f"adds {asked_risk} ({abs(candidate_quantity)} x {per_unit}); {figures}")
        if room <= 0:
            return deny("no room left")
        lots = room // (per_unit * lot_size)  # Decimal // truncates exactly
        while lots > 0 and lots * lot_size * per_unit > room:  # guard against rounding in the product
            lots -= 1
        size = lots * lot_size
        if size <= 0:
            return deny(f"room {room} is less than one lot ({lot_size} x {per_unit})")
        added = size * per_unit
        signed = size if candidate_quantity > 0 else -size
        return HeatDecision(verdict=HeatVerdict.RESIZED, quantity=signed, heat_before=before,
                            heat_after=before + added, limit=limit,
                            reason=(f"resized {abs(candidate_quantity)} -> {size} (lot {lot_size}): asked adds "
                                    f"{asked_risk}, room {room}, {size} x {per_unit} = {added}; {figures}"))
