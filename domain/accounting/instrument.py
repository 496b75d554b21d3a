"""What can be traded, and at which precision."""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from domain.numbers import require_positive, round_to_increment


class AssetClass(enum.Enum):
    EQUITY = "equity"
    CRYPTO = "crypto"


def _positive(_instance: object, attribute: attrs.Attribute, value: Decimal) -> None:
    require_positive(value, what=attribute.name)


@attrs.frozen(kw_only=True)
class Instrument:
    symbol: str
    asset_class: AssetClass
    tick_size: Decimal = attrs.field(validator=_positive)
    lot_size: Decimal = attrs.field(validator=_positive)
    quote_currency: str = "USD"

    def round_price(self, price: Decimal) -> Decimal:
        return round_to_increment(price, self.tick_size)

    def round_quantity_down(self, quantity: Decimal) -> Decimal:
        """Whole lots only, never more than asked (sizing must not exceed its budget)."""
        return round_to_increment(quantity, self.lot_size, down=True)

    @property
    def trades_around_the_clock(self) -> bool:
        return self.asset_class is AssetClass.CRYPTO


def equity(symbol: str, *, fractional: bool = False) -> Instrument:
    return Instrument(
        symbol=symbol,
        asset_class=AssetClass.EQUITY,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.001") if fractional else Decimal(1),
    )


def crypto(symbol: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        asset_class=AssetClass.CRYPTO,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.00000001"),
    )
