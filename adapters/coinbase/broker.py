"""The Broker port over Coinbase Advanced Trade: REST through coinbase-advanced-py, order
updates from the user websocket.

It only puts its parts together: placement.py (submit and cancel, by the order journal rules),
venue_reads.py (find_order, open_orders, fills, positions), user_updates.py (poll_events: the
user stream's updates and the REST resync after a reconnect), all sharing one BrokerSession
(session.py: the tracked orders and the application's symbols).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.coinbase.http import CoinbaseRest
from adapters.coinbase.mapping import LIVE_STATUSES
from adapters.coinbase.placement import OrderPlacement
from adapters.coinbase.products import ProductCatalog
from adapters.coinbase.session import BrokerSession
from adapters.coinbase.user_updates import UserUpdates
from adapters.coinbase.venue_reads import VenueReads, order_state
from application.ports import Clock
from application.records import VenueOrderState
from domain.accounting.instrument import AssetClass
from domain.orders.events import BrokerEvent
from domain.orders.fill import Fill
from domain.orders.order import Order


class CoinbaseBroker:
    def __init__(
        self,
        *,
        rest: CoinbaseRest,
        products: ProductCatalog,
        clock: Clock,
        limit_ioc: bool = False,
        submit_attempts: int = 3,
        lookup_pages: int = 20,
        resync_margin: timedelta = timedelta(minutes=1),
        stream_silence: float | None = 5.0,
    ) -> None:
        self._session = BrokerSession(rest_fills=self._order_fills)
        self._reads = VenueReads(rest=rest, session=self._session, max_pages=lookup_pages)
        self._placement = OrderPlacement(rest=rest, products=products, clock=clock, session=self._session,
                                         reads=self._reads, limit_ioc=limit_ioc, submit_attempts=submit_attempts)
        self._updates = UserUpdates(session=self._session, reads=self._reads, clock=clock,
                                    resync_margin=resync_margin, silence=stream_silence)

    # Called by the user stream (its own thread).

    def on_user_message(self, message: Mapping) -> None:
        self._updates.on_user_message(message)

    def on_reconnect(self) -> None:
        self._updates.on_reconnect()

    def on_disconnect(self) -> None:
        self._updates.on_disconnect()

    @property
    def stream_gaps(self) -> int:
        """Lost user-stream messages detected so far (each one triggered a REST resync)."""
        return self._updates.gaps.gaps

    @property
    def resyncs(self) -> int:
        return self._updates.resyncs

    # The Broker port.

    def submit(self, order: Order) -> list[BrokerEvent]:
        return self._placement.submit(order)

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        return self._placement.cancel(client_order_id)

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        row = self._reads.find(client_order_id)
        return None if row is None else order_state(row, what=f"find order {client_order_id}")

    def open_orders(self) -> list[VenueOrderState]:
        # Every status of an order that can still trade, not only OPEN: a queued order, or one
        # whose cancel is queued, can still fill.
        rows = self._reads.list_orders("list open orders", order_status=list(LIVE_STATUSES))
        return [order_state(row, what="list open orders") for row in rows]

    def poll_events(self) -> list[BrokerEvent]:
        return self._updates.drain()

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        return self._reads.fills(since=since)

    def positions(self) -> dict[str, Decimal]:
        return self._reads.positions()

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        return False  # no plain resting stop order on Coinbase: stops are monitored bar by bar

    def _order_fills(self, venue_order_id: str) -> list[Fill]:
        # The tracker's source of per-execution fills (built before the reads it delegates to).
        return self._reads.order_fills(venue_order_id)
