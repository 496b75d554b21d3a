"""An execution reported by a venue. `fill_id` is the venue's unique id for it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from domain.orders.order import OrderSide


@attrs.frozen(kw_only=True)
class Fill:
    fill_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts: datetime
    liquidity: str = "taker"  # maker or taker: crypto fees differ

    def __attrs_post_init__(self) -> None:
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"fill {self.fill_id}: quantity must be positive, got {self.quantity}")
        if not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"fill {self.fill_id}: price must be positive, got {self.price}")
        if not self.commission.is_finite() or self.commission < 0:
            raise ValueError(f"fill {self.fill_id}: commission must be >= 0, got {self.commission}")

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity * self.side.sign

    @property
    def notional(self) -> Decimal:
        return self.quantity * self.price
