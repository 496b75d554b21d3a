"""What one Coinbase broker session knows, shared by its parts (placement, venue reads, user
updates) under one lock: the orders it tracks and the symbol the application used for each
product (the venue speaks product ids; events go back in the application's spelling)."""

from __future__ import annotations

import threading

from adapters.coinbase.tracking import OrderTracker, RestFills


class BrokerSession:
    def __init__(self, *, rest_fills: RestFills) -> None:
        self.lock = threading.RLock()
        self._symbols: dict[str, str] = {}  # product id -> the symbol the application uses
        # Not thread-safe by itself: every use holds `lock`.
        self.tracker = OrderTracker(rest_fills=rest_fills, symbol_of=self.symbol_of)

    def remember_symbol(self, product_id: str, symbol: str) -> None:
        with self.lock:
            self._symbols.setdefault(product_id, symbol)

    def symbol_of(self, product_id: str) -> str:
        return self._symbols.get(product_id, product_id)

    def symbols(self) -> dict[str, str]:
        with self.lock:
            return dict(self._symbols)

    def venue_id(self, client_order_id: str) -> str | None:
        with self.lock:
            return self.tracker.by_client.get(client_order_id)

    def known_client_ids(self, order_ids: list[str]) -> dict[str, str]:
        """venue order id -> client_order_id, for the orders this session tracks."""
        with self.lock:
            orders = self.tracker.orders
            return {vid: orders[vid].client_order_id for vid in order_ids if vid in orders}
