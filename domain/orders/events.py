"""What a venue tells us about an order. Adapters translate their wire types into these."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from domain.orders.fill import Fill


@attrs.frozen(kw_only=True)
class OrderAccepted:
    client_order_id: str
    venue_order_id: str
    ts: datetime


@attrs.frozen(kw_only=True)
class OrderRejected:
    client_order_id: str
    reason: str
    ts: datetime


@attrs.frozen(kw_only=True)
class OrderFilled:
    fill: Fill

    @property
    def client_order_id(self) -> str:
        return self.fill.client_order_id

    @property
    def ts(self) -> datetime:
        return self.fill.ts


@attrs.frozen(kw_only=True)
class OrderCancelled:
    """The venue reports the order done without (further) fills.

    Adapters emit it only when the venue says the order is finished (not on a cancel
    request's answer: the order may still fill). `filled_quantity`, where the venue tells
    it, is its final cumulative filled quantity: more than we recorded means fills are
    still on their way (or were missed) and must be fetched.
    """

    client_order_id: str
    reason: str
    ts: datetime
    filled_quantity: Decimal | None = None


@attrs.frozen(kw_only=True)
class OrderExpired:
    client_order_id: str
    ts: datetime
    filled_quantity: Decimal | None = None


@attrs.frozen(kw_only=True)
class FillCorrected:
    """The venue busted (quantity 0) or restated (new quantity or price) one of its fills
    after the fact. The fill, the order, the position, the round trip and the cash are
    corrected as if the fill had been so from the start; the original row stays (a fact
    that was told), with the correction beside it.

    `fill_id` names the fill when the venue's message lets the adapter tell which it was;
    otherwise `original_quantity` and `original_price` (what the execution was) find it
    among the order's fills."""

    correction_id: str  # the venue's id of this correction: applied once
    client_order_id: str
    fill_id: str | None
    quantity: Decimal  # what really traded: 0 when busted
    price: Decimal | None  # the corrected price (None when busted)
    ts: datetime
    reason: str
    original_quantity: Decimal | None = None
    original_price: Decimal | None = None

    @property
    def busted(self) -> bool:
        return self.quantity == 0


BrokerEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCancelled | OrderExpired | FillCorrected
