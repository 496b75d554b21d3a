"""What a bot wants to do, before the risk engine has said yes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from domain.accounting.instrument import Instrument
from domain.orders.order import OrderSide, OrderType, client_order_id_for


@attrs.frozen(kw_only=True)
class OrderIntent:
    account: str
    bot: str
    strategy: str
    instrument: Instrument
    side: OrderSide
    quantity: Decimal
    order_type: OrderType
    signal_ts: datetime
    reference_price: Decimal  # the last trade price the decision was made on
    reduces_risk: bool  # True when it only shrinks an existing position
    # A resting stop that protects an open position: it may sit far from the market (no
    # price collar) and does not count as a pending order against the strategy's own orders.
    protective: bool = False
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None

    def __attrs_post_init__(self) -> None:
        if self.protective and not (self.reduces_risk and self.order_type is OrderType.STOP and self.stop_price):
            raise ValueError("a protective order is a risk-reducing stop order with a stop price")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def notional(self) -> Decimal:
        return self.quantity * (self.limit_price or self.stop_price or self.reference_price)

    @property
    def client_order_id(self) -> str:
        return client_order_id_for(
            account=self.account,
            bot=self.bot,
            strategy=self.strategy,
            symbol=self.symbol,
            side=self.side,
            signal_ts=self.signal_ts,
        )
