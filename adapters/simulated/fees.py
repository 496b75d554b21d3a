"""Commission models of the simulated venue (per share, per notional, maker/taker).

Every amount is quantized to 8 decimal places, half-even: crypto fees are fractions
of a cent (0.4% of 0.0001 BTC), and one precision for every asset class keeps the
models interchangeable. Cents would round small crypto fees to zero.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

import attrs

PRECISION = Decimal("0.00000001")
_BPS = Decimal(10_000)
LIQUIDITIES = frozenset({"maker", "taker"})


def _money(value: Decimal) -> Decimal:
    return value.quantize(PRECISION, rounding=ROUND_HALF_EVEN)


def _check_liquidity(liquidity: str) -> None:
    # A typo ("Maker") would silently be charged the taker rate: refuse it instead.
    if liquidity not in LIQUIDITIES:
        raise ValueError(f"liquidity must be 'maker' or 'taker', got {liquidity!r}")


def _non_negative(_instance: object, attribute: attrs.Attribute, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{attribute.name} must be a finite Decimal >= 0, got {value!r}")


def _fraction_or_none(_instance: object, attribute: attrs.Attribute, value: Decimal | None) -> None:
    if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value <= 0):
        raise ValueError(f"{attribute.name} must be a finite Decimal > 0 or None, got {value!r}")


class CommissionModel(Protocol):
    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        """The fee of one fill, >= 0, quantized to 8 places."""
        ...


@attrs.frozen
class NoCommission:
    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        _check_liquidity(liquidity)
        return _money(Decimal(0))


@attrs.frozen(kw_only=True)
class PerShare:
    """A rate per share with a minimum per fill, capped at a fraction of the notional (IBKR-like).

    The cap wins over the minimum: a 100-share fill at 0.50 pays 1% of 50.00, not 1.00.
    """

    rate: Decimal = attrs.field(validator=_non_negative)
    minimum: Decimal = attrs.field(default=Decimal(0), validator=_non_negative)
    maximum_fraction: Decimal | None = attrs.field(default=None, validator=_fraction_or_none)

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        _check_liquidity(liquidity)
        fee = max(self.rate * quantity, self.minimum)
        if self.maximum_fraction is not None:
            fee = min(fee, self.maximum_fraction * quantity * price)
        return _money(fee)


@attrs.frozen(kw_only=True)
class PerNotional:
    bps: Decimal = attrs.field(validator=_non_negative)

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        _check_liquidity(liquidity)
        return _money(quantity * price * self.bps / _BPS)


@attrs.frozen(kw_only=True)
class MakerTaker:
    """Crypto venues (Coinbase-like) charge less for resting (maker) than for taking liquidity."""

    maker_bps: Decimal = attrs.field(validator=_non_negative)
    taker_bps: Decimal = attrs.field(validator=_non_negative)

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        _check_liquidity(liquidity)
        bps = self.maker_bps if liquidity == "maker" else self.taker_bps
        return _money(quantity * price * bps / _BPS)
