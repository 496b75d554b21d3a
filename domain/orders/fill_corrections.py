"""Fills corrected after the fact (busted or restated trades, fees charged later).

A venue may bust a trade (it never happened), restate it (another quantity or price) or
charge a fee for it days later. The fill as first told stays recorded (a fact that was
told, and the guard that a replay of it is never recorded again); corrections sit beside
it. What counts is the effective fill: the latest correction applied, the fees charged for
it added to its commission, a busted one dropped. Positions and round trips are a fold of
the effective fills in time order, so after a correction they are rebuilt by `replay`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from domain.accounting.position import Position, RoundTrip
from domain.numbers import ZERO
from domain.orders.fill import Fill


@attrs.frozen(kw_only=True)
class FillCorrection:
    """One correction of one recorded fill: quantity 0 busts it."""

    correction_id: str
    fill_id: str
    quantity: Decimal
    price: Decimal | None
    ts: datetime
    reason: str

    def __attrs_post_init__(self) -> None:
        if not self.quantity.is_finite() or self.quantity < 0:
            raise ValueError(f"correction {self.correction_id}: quantity must be >= 0, got {self.quantity}")
        if self.quantity > 0 and (self.price is None or not self.price.is_finite() or self.price <= 0):
            raise ValueError(f"correction {self.correction_id}: a restated fill needs a positive price")


def effective_fills(fills: Iterable[Fill], *, corrections: Sequence[FillCorrection] = (),
                    fees: Mapping[str, Decimal] | None = None) -> list[Fill]:
    """The fills as they stand, in time order: each with its latest correction (by ts, then
    as given) applied and `fees` (fill_id -> amount charged later) added to its commission;
    busted ones left out."""
    latest: dict[str, FillCorrection] = {}
    for correction in sorted(corrections, key=lambda c: c.ts):
        latest[correction.fill_id] = correction
    fees = fees or {}
    result: list[Fill] = []
    for fill in fills:
        correction = latest.get(fill.fill_id)
        if correction is not None:
            if correction.quantity == 0:
                continue
            assert correction.price is not None  # checked by FillCorrection
            fill = attrs.evolve(fill, quantity=correction.quantity, price=correction.price)
        extra = fees.get(fill.fill_id, ZERO)
        if extra:
            fill = attrs.evolve(fill, commission=max(fill.commission + extra, ZERO))
        result.append(fill)
    return sorted(result, key=lambda f: f.ts)


def cash_effect(fills: Iterable[Fill]) -> Decimal:
    """What the fills did to cash: a buy pays, a sell receives, commissions are paid."""
    return -sum((f.signed_quantity * f.price + f.commission for f in fills), ZERO)


@attrs.frozen(kw_only=True)
class Replay:
    position: Position
    trips: tuple[RoundTrip, ...]


def replay(*, bot: str, symbol: str, fills: Iterable[Fill]) -> Replay:
    """The position of `symbol` and every round trip it closed, from flat, over `fills`
    (one bot's fills of that symbol, effective ones, in time order)."""
    position = Position(bot=bot, symbol=symbol)
    trips: list[RoundTrip] = []
    for fill in fills:
        update = position.apply_fill(fill)
        position = update.position
        if update.closed_trip is not None:
            trips.append(update.closed_trip)
    return Replay(position=position, trips=tuple(trips))


def order_totals(fills: Iterable[Fill]) -> tuple[Decimal, Decimal | None]:
    """(filled quantity, average price) of one order's effective fills."""
    quantity = ZERO
    notional = ZERO
    for fill in fills:
        quantity += fill.quantity
        notional += fill.notional
    return quantity, (notional / quantity if quantity else None)
