"""Commission models of the simulated venue (per share, per notional, maker/taker)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

import attrs

_PRECISION = Decimal("0.00000001")  # 8 places: crypto fees are fractions of a cent
_BPS = Decimal(10_000)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_PRECISION, rounding=ROUND_HALF_EVEN)


class CommissionModel(Protocol):
    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal: ...


@attrs.frozen
class NoCommission:
    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        return Decimal(0)


@attrs.frozen(kw_only=True)
class PerShare:
    """A rate per share with a minimum per fill, capped at a fraction of the notional (IBKR-like)."""

    rate: Decimal
    minimum: Decimal = Decimal(0)
    maximum_fraction: Decimal | None = None

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        fee = max(self.rate * quantity, self.minimum)
        if self.maximum_fraction is not None:
            fee = min(fee, self.maximum_fraction * quantity * price)
        return _money(fee)


@attrs.frozen(kw_only=True)
class PerNotional:
    bps: Decimal

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        return _money(quantity * price * self.bps / _BPS)


@attrs.frozen(kw_only=True)
class MakerTaker:
    """Crypto venues charge less for resting (maker) than for taking liquidity."""

    maker_bps: Decimal
    taker_bps: Decimal

    def commission(self, *, quantity: Decimal, price: Decimal, liquidity: str) -> Decimal:
        bps = self.maker_bps if liquidity == "maker" else self.taker_bps
        return _money(quantity * price * bps / _BPS)
