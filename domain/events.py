"""What a venue tells us about an order. Adapters translate their wire types into these."""

from __future__ import annotations

from datetime import datetime

import attrs

from domain.fill import Fill


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
    client_order_id: str
    reason: str
    ts: datetime


@attrs.frozen(kw_only=True)
class OrderExpired:
    client_order_id: str
    ts: datetime


BrokerEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCancelled | OrderExpired
