"""The simulated venue's word on an order, read from its journal by another process.

The running session holds the venue (the journal's lock, its matching engine in memory), so a
drill beside it cannot open the venue; it can read what the venue has committed. Read-only,
one short transaction per question, never the lock: the session is not slowed or blocked.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from application.records import VenueOrderState
from domain.errors import ConfigurationError, VenueUnavailable
from domain.orders.order import OrderStatus


class JournalReader:
    """Implements find_order (application/golive/drills.VenueOrders) over a venue journal."""

    def __init__(self, *, path: Path) -> None:
        self._path = Path(path)

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        if not self._path.exists():
            raise ConfigurationError(f"no simulated venue journal at {self._path}: has `quantshift paper` run with "
                                     "this store and QUANTSHIFT_VENUE_DIR?")
        try:
            connection = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=2.0)
            try:
                row = connection.execute(
                    "SELECT venue_order_id, status, filled FROM orders WHERE client_order_id = ?",
                    (client_order_id,)).fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise VenueUnavailable(f"simulated venue journal {self._path}: read failed: {exc}") from exc
        if row is None or row[0] is None:
            return None  # never got it, or refused it outright (as Broker.find_order says)
        return VenueOrderState(client_order_id=client_order_id, venue_order_id=row[0], status=OrderStatus(row[1]),
                               filled_quantity=Decimal(row[2]), venue_status=row[1])
