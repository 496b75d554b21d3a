"""The broker's REST reads: one order, an order by client_order_id, order lists, fills (with
cumulative ids) and balances. Every read goes through CoinbaseRest.read (governed, retried on
transient errors, VenueUnavailable naming the call after the attempts).

Coinbase cannot look an order up by client_order_id: get_order takes the venue's order id
only, and the historical batch endpoint (list_orders) filters by order ids, products, status,
types, side, time in force, dates and placement source, not by client_order_id. An order this
session did not place is therefore searched for in list_orders, newest first, for at most
`max_pages` pages of 250. When the venue's list ends without it, the venue never got it (None);
when the bound is reached first, nothing is known (VenueUnavailable: ask again later), since
answering None would let the application send it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from coinbase.rest import RESTClient

from adapters.coinbase.http import VENUE, CoinbaseRest, MalformedResponse
from adapters.coinbase.mapping import (
    QUOTE_CURRENCIES,
    cumulative_fills,
    dec,
    field,
    is_known_status,
    items,
    status,
    text,
)
from adapters.coinbase.session import BrokerSession
from application.records import VenueOrderState
from domain.errors import VenueUnavailable
from domain.orders.fill import Fill

PAGE = 250
LISTING_PAGES = 1000  # 250,000 rows: a whole listing (orders, fills, accounts), however long
Fetch = Callable[[RESTClient, "str | None"], Any]  # (client, cursor) -> one page


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_state(row: Mapping, *, what: str) -> VenueOrderState:
    vid = text(row, "order_id", what=what)
    word = text(row, "status", what=what)
    # The venue's own UNKNOWN_ORDER_STATUS says as little as a word this adapter has never seen.
    known = is_known_status(word) and word.upper() != "UNKNOWN_ORDER_STATUS"
    return VenueOrderState(client_order_id=str(row.get("client_order_id") or vid), venue_order_id=vid,
                           status=status(word, what=what), venue_status=word, status_known=known,
                           filled_quantity=dec(row, "filled_size", what=what, default=Decimal(0)))


class VenueReads:
    def __init__(self, *, rest: CoinbaseRest, session: BrokerSession, max_pages: int = 20) -> None:
        self._rest = rest
        self._session = session
        self.max_pages = max(1, max_pages)

    def order(self, venue_order_id: str, *, what: str) -> dict:
        body = self._rest.read(what, lambda c: c.get_order(order_id=venue_order_id))
        row = field(body, "order", what=what)
        if not isinstance(row, dict):
            raise MalformedResponse(f"{VENUE}: {what}: field 'order' is not an object")
        return row

    def find(self, client_order_id: str, *, product_id: str | None = None) -> dict | None:
        """The venue's order with this client_order_id; None when the venue has none (see the
        module docstring); VenueUnavailable when it cannot tell within `max_pages` pages."""
        what = f"find order {client_order_id}"
        vid = self._session.venue_id(client_order_id)
        if vid is not None:
            return self.order(vid, what=what)
        cursor: str | None = None
        for _page in range(self.max_pages):
            body = self._rest.read(what, lambda c, cursor=cursor: c.list_orders(
                product_ids=[product_id] if product_id else None, limit=PAGE, cursor=cursor))
            for row in items(body, "orders", what=what):
                if row.get("client_order_id") == client_order_id:
                    return dict(row)
            cursor = body.get("cursor") or None
            if not body.get("has_next") or not cursor:
                return None  # the whole list was read: the venue never got it
        raise VenueUnavailable(
            f"{VENUE}: {what}: not among the newest {self.max_pages * PAGE} orders and the venue cannot be "
            "asked by client_order_id; outcome unknown (ask again later, or raise lookup_pages)")

    def venue_id(self, client_order_id: str) -> str | None:
        vid = self._session.venue_id(client_order_id)
        if vid is not None:
            return vid
        row = self.find(client_order_id)
        return None if row is None else text(row, "order_id", what=f"find order {client_order_id}")

    def list_orders(self, what: str, **filters: object) -> list[dict]:
        return self.pages(what, lambda c, cursor: c.list_orders(limit=PAGE, cursor=cursor, **filters), "orders")

    def pages(self, what: str, fetch: Fetch, key: str) -> list[dict]:
        """Every page of a listing. Reconciliation compares whole lists, so a listing is never cut
        short quietly: past LISTING_PAGES pages it is an error (a venue looping on its cursor)."""
        rows: list[dict] = []
        cursor: str | None = None
        for _page in range(LISTING_PAGES):
            body = self._rest.read(what, lambda c, cursor=cursor: fetch(c, cursor))
            rows.extend(dict(r) for r in items(body, key, what=what))
            cursor = body.get("cursor") or None
            if not cursor or body.get("has_next") is False:
                return rows
        raise VenueUnavailable(f"{VENUE}: {what}: still more after {LISTING_PAGES} pages of {PAGE}; "
                               "the list would be incomplete")

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        what = "list fills"
        rows = self.pages(what, lambda c, cursor: c.get_fills(
            start_sequence_timestamp=iso(since) if since else None, limit=PAGE, cursor=cursor), "fills")
        order_ids = sorted({text(r, "order_id", what=what) for r in rows})
        if not order_ids:
            return []
        # Cumulative ids need every execution of each order, also those before `since`.
        history = self.pages(what, lambda c, cursor: c.get_fills(order_ids=order_ids, limit=PAGE, cursor=cursor),
                             "fills")
        fills = cumulative_fills(rows=history, client_ids=self.client_ids(order_ids),
                                 symbols=self._session.symbols(), what=what)
        return [f for f in fills if since is None or f.ts >= since]

    def order_fills(self, venue_order_id: str) -> list[Fill]:
        what = f"list fills of order {venue_order_id}"
        rows = self.pages(what, lambda c, cursor: c.get_fills(order_ids=[venue_order_id], limit=PAGE, cursor=cursor),
                          "fills")
        return cumulative_fills(rows=rows, client_ids=self.client_ids([venue_order_id]),
                                symbols=self._session.symbols(), what=what)

    def client_ids(self, order_ids: list[str]) -> dict[str, str]:
        """venue order id -> client_order_id, asking the venue for orders this session has not seen."""
        known = self._session.known_client_ids(order_ids)
        missing = [vid for vid in order_ids if vid not in known]
        if missing:
            for row in self.list_orders("list orders of fills", order_ids=missing):
                vid = text(row, "order_id", what="list orders of fills")
                known[vid] = str(row.get("client_order_id") or vid)
        for vid in missing:
            known.setdefault(vid, vid)  # a foreign order the venue no longer lists: keep its fills
        return known

    def positions(self) -> dict[str, Decimal]:
        what = "list accounts"
        rows = self.pages(what, lambda c, cursor: c.get_accounts(limit=PAGE, cursor=cursor), "accounts")
        by_base = {pid.split("-")[0]: symbol for pid, symbol in self._session.symbols().items()}
        held: dict[str, Decimal] = {}
        for row in rows:
            currency = text(row, "currency", what=what)
            if currency.upper() in QUOTE_CURRENCIES:
                continue
            amount = (dec(field(row, "available_balance", what=what), "value", what=what)
                      + dec(row.get("hold") or {}, "value", what=what, default=Decimal(0)))
            if amount != 0:
                symbol = by_base.get(currency.upper(), f"{currency.upper()}-USD")
                held[symbol] = held.get(symbol, Decimal(0)) + amount
        return held
