"""Positions (long and short) and the round trips they complete.

A position is a value: applying a fill returns a new position, the realized P&L
of that fill, and the round trip it closed, if any. A round trip runs from flat
to flat; a fill that crosses zero closes one trip and opens the next.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import attrs

from domain.numbers import ZERO
from domain.orders.fill import Fill


class Direction(enum.Enum):
    LONG = "long"
    SHORT = "short"


@attrs.frozen(kw_only=True)
class RoundTrip:
    bot: str
    symbol: str
    direction: Direction
    quantity: Decimal  # largest absolute size held during the trip
    entry_price: Decimal  # volume-weighted over the opening fills
    exit_price: Decimal  # volume-weighted over the closing fills
    opened_at: datetime
    closed_at: datetime
    gross_pnl: Decimal
    commission: Decimal
    closing_fill_id: str  # makes the trip idempotent in the store

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.commission

    @property
    def is_win(self) -> bool:
        return self.net_pnl > 0


@attrs.frozen(kw_only=True)
class OpenTrip:
    """Figures of the round trip in progress (flat to flat)."""

    opened_at: datetime
    entry_quantity: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_quantity: Decimal = ZERO
    exit_notional: Decimal = ZERO
    max_quantity: Decimal = ZERO
    realized: Decimal = ZERO
    commission: Decimal = ZERO


@attrs.frozen(kw_only=True)
class PositionUpdate:
    position: Position
    realized_pnl: Decimal
    closed_trip: RoundTrip | None


@attrs.frozen(kw_only=True)
class Position:
    bot: str
    symbol: str
    quantity: Decimal = ZERO  # signed: > 0 long, < 0 short
    # What the open quantity cost (always >= 0). Kept instead of an average so that
    # closing a position removes exactly what was paid: no division residue in P&L.
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # cumulative, before commissions
    commissions: Decimal = ZERO  # cumulative
    trip: OpenTrip | None = None
    updated_at: datetime | None = None

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0

    @property
    def average_cost(self) -> Decimal:
        return self.cost_basis / abs(self.quantity) if self.quantity else ZERO

    def market_value(self, mark: Decimal) -> Decimal:
        return self.quantity * mark

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        signed_cost = self.cost_basis if self.quantity > 0 else -self.cost_basis
        return self.quantity * mark - signed_cost

    def apply_fill(self, fill: Fill) -> PositionUpdate:
        signed = fill.signed_quantity
        if self.quantity != 0 and (self.quantity > 0) != (signed > 0) and abs(signed) > abs(self.quantity):
            # Crossing zero: close what we hold, then open the rest the other way.
            closing_share = abs(self.quantity) / fill.quantity
            close_part = attrs.evolve(
                fill, quantity=abs(self.quantity), commission=fill.commission * closing_share
            )
            open_part = attrs.evolve(
                fill,
                quantity=fill.quantity - abs(self.quantity),
                commission=fill.commission - close_part.commission,
            )
            first = self._apply_one_side(close_part)
            second = first.position._apply_one_side(open_part)
            return PositionUpdate(
                position=second.position,
                realized_pnl=first.realized_pnl + second.realized_pnl,
                closed_trip=first.closed_trip,
            )
        return self._apply_one_side(fill)

    def _apply_one_side(self, fill: Fill) -> PositionUpdate:
        """A fill that opens, adds to, reduces or exactly closes (never crosses)."""
        signed = fill.signed_quantity
        trip = self.trip or OpenTrip(opened_at=fill.ts)
        new_quantity = self.quantity + signed
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            # Opening or adding: the cost grows, nothing is realized.
            cost_basis = self.cost_basis + fill.notional
            realized = ZERO
            trip = attrs.evolve(
                trip,
                entry_quantity=trip.entry_quantity + fill.quantity,
                entry_notional=trip.entry_notional + fill.notional,
                max_quantity=max(trip.max_quantity, abs(new_quantity)),
                commission=trip.commission + fill.commission,
            )
        else:
            # Reducing: the share of the cost that leaves with the quantity is realized
            # against the proceeds; the average cost of what stays does not move.
            removed = self.cost_basis if new_quantity == 0 else self.cost_basis * fill.quantity / abs(self.quantity)
            cost_basis = self.cost_basis - removed
            direction = 1 if self.quantity > 0 else -1
            realized = (fill.notional - removed) * direction
            trip = attrs.evolve(
                trip,
                exit_quantity=trip.exit_quantity + fill.quantity,
                exit_notional=trip.exit_notional + fill.notional,
                realized=trip.realized + realized,
                commission=trip.commission + fill.commission,
            )
        closed = None
        if new_quantity == 0:
            closed = RoundTrip(
                bot=self.bot,
                symbol=self.symbol,
                direction=Direction.LONG if self.quantity > 0 else Direction.SHORT,
                quantity=trip.max_quantity,
                entry_price=trip.entry_notional / trip.entry_quantity,
                exit_price=trip.exit_notional / trip.exit_quantity,
                opened_at=trip.opened_at,
                closed_at=fill.ts,
                gross_pnl=trip.realized,
                commission=trip.commission,
                closing_fill_id=fill.fill_id,
            )
            trip = None
        position = attrs.evolve(
            self,
            quantity=new_quantity,
            cost_basis=cost_basis,
            realized_pnl=self.realized_pnl + realized,
            commissions=self.commissions + fill.commission,
            trip=trip,
            updated_at=fill.ts,
        )
        return PositionUpdate(position=position, realized_pnl=realized, closed_trip=closed)
