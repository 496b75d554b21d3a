"""Position sizing: how many units a target exposure means."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs

from domain.accounting.instrument import Instrument
from domain.numbers import ZERO
from domain.orders.order import OrderSide


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


def _no_fee(quantity: Decimal, price: Decimal) -> Decimal:
    return ZERO


def _same_price(price: Decimal, instrument: Instrument, side: OrderSide) -> Decimal:
    return price


@attrs.frozen(kw_only=True)
class AllIn:
    """All the equity there is, in whole lots, at the price the order fills at (the convention
    of backtesting.py, backtrader and vectorbt, which size at the fill).

    With px the fill price (the venue's slippage and tick rounding: `fill_price`), E = cash +
    held x px (the equity once the current position is closed at px) and `closing` the units
    the order closes first (a flip covers the short and buys the long in one order), the new
    leg q is the largest multiple of the lot with E - q x u - fee(closing + q, px) >= 0, u = px
    for a buy and max(px, price) for a sale: the one order's fee, with its minimum, is paid
    from the cash too.
    """

    fill_price: Callable[[Decimal, Instrument, OrderSide], Decimal] = _same_price
    fee: Callable[[Decimal, Decimal], Decimal] = _no_fee

    def size(self, *, instrument: Instrument, cash: Decimal, held: Decimal, price: Decimal,
             side: OrderSide) -> SizingResult:
        if price <= 0:
            return SizingResult(quantity=ZERO, arithmetic=f"price {price} not positive")
        px = self.fill_price(price, instrument, side)
        budget = cash + held * px
        closing = abs(held) if (held < 0) == (side is OrderSide.BUY) and held != 0 else ZERO
        lot = instrument.lot_size

        # A short's units are valued at the higher of the fill and the quote, as the buying-power
        # check values them (a sale fills below the quote).
        unit = px if side is OrderSide.BUY else max(px, price)

        def fits(lots: int) -> bool:
            q = lots * lot
            return budget - q * unit - self.fee(closing + q, px) >= 0

        if budget <= 0:
            return SizingResult(quantity=ZERO, arithmetic=f"all in: equity {budget:.2f} at {px} is not positive")
        high = int(budget / unit / lot)  # an upper bound: fees only take away
        if not fits(high):
            low = 0  # the cost grows with q: bisect for the largest that fits
            while high - low > 1:
                middle = (low + high) // 2
                if fits(middle):
                    low = middle
                else:
                    high = middle
            high = low
        quantity = high * lot
        return SizingResult(quantity=quantity, arithmetic=(
            f"all in: equity {budget:.2f} at fill price {px} -> {quantity} (lot {lot}, closing {closing}, "
            f"fee {self.fee(closing + quantity, px) if quantity or closing else ZERO})"))
