"""The Broker port over Coinbase Advanced Trade (REST through coinbase-advanced-py, order
updates from the user websocket, see streams.py).

Order journal rules (RELIABILITY.md): submit is idempotent on client_order_id and never sends
an order under a new id; 429 -> wait for the reset and resend with the SAME id (bounded); an
unknown outcome (5xx, timeout, malformed body) -> look the order up by client_order_id and
adopt it, or raise VenueUnavailable; a duplicate client_order_id -> adopt the existing order.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.coinbase.http import VENUE, CoinbaseRest, MalformedResponse, RateLimited, VenueHttpError
from adapters.coinbase.mapping import QUOTE_CURRENCIES, cumulative_fills, dec, field, items, product_id, status, text, ts
from adapters.coinbase.orders import NotSendable, order_configuration
from adapters.coinbase.products import ProductCatalog
from adapters.coinbase.tracking import OrderTracker, update_from_rest, update_from_ws
from application.ports import Clock
from application.records import VenueOrderState
from application.request_governor import Priority
from domain.errors import ConfigurationError, TransientError, VenueUnavailable
from domain.events import BrokerEvent, OrderCancelled, OrderRejected
from domain.fill import Fill
from domain.instrument import AssetClass
from domain.order import Order

log = logging.getLogger(__name__)
PAGE = 250


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


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
    ) -> None:
        self._rest = rest
        self._products = products
        self._clock = clock
        self._limit_ioc = limit_ioc
        self._submit_attempts = max(1, submit_attempts)
        self._lookup_pages = lookup_pages
        self._resync_margin = resync_margin
        self._symbols: dict[str, str] = {}  # product id -> the symbol the application uses
        self._lock = threading.RLock()
        self._tracker = OrderTracker(rest_fills=self._order_fills, symbol_of=self._symbol_of)
        self._inbox: queue.SimpleQueue[Mapping] = queue.SimpleQueue()
        self._resync = threading.Event()
        self._queue: list[BrokerEvent] = []
        self._started = clock.now()

    # Called by the user stream (its own thread): only queue work for poll_events.

    def on_user_message(self, message: Mapping) -> None:
        if message.get("channel") == "user":
            self._inbox.put(message)

    def on_reconnect(self) -> None:
        self._resync.set()

    # The Broker port.

    def submit(self, order: Order) -> list[BrokerEvent]:
        pid = product_id(order.symbol)
        with self._lock:
            self._symbols.setdefault(pid, order.symbol)
            if order.client_order_id in self._tracker.by_client:
                return []  # idempotent: this session sent it already
        now = self._clock.now()
        try:
            product = self._products.get(pid)
            config = order_configuration(order, product, limit_ioc=self._limit_ioc)
        except ConfigurationError as error:
            return [OrderRejected(client_order_id=order.client_order_id, reason=str(error), ts=now)]
        except NotSendable as error:
            return [OrderRejected(client_order_id=order.client_order_id, reason=str(error), ts=now)]
        what = f"create order {order.client_order_id}"
        for _attempt in range(self._submit_attempts):
            try:
                body = self._rest.call(what, lambda c: c.create_order(
                    client_order_id=order.client_order_id, product_id=pid, side=order.side.value.upper(),
                    order_configuration=config))
            except RateLimited:
                continue  # the governor holds the next attempt until the venue's reset
            except VenueHttpError as error:
                if "duplicate" in error.body.lower():
                    return self._adopt_or_unknown(order, pid, what)
                return [OrderRejected(client_order_id=order.client_order_id, reason=str(error), ts=now)]
            except VenueUnavailable:
                return self._adopt_or_unknown(order, pid, what)  # 5xx, timeout, malformed: ask the venue
            return self._answer(order, pid, body, what)
        raise VenueUnavailable(f"{VENUE}: {what}: still rate limited after {self._submit_attempts} attempts; "
                               "not sent (retry later with the same client_order_id)")

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        vid = self._venue_id(client_order_id)
        if vid is None:
            return []
        what = f"cancel order {client_order_id}"
        body = self._rest.read(what, lambda c: c.cancel_orders(order_ids=[vid]), priority=Priority.CANCEL)
        for result in items(body, "results", what=what):
            if result.get("order_id") == vid and result.get("success") is True:
                with self._lock:
                    tracked = self._tracker.orders.get(vid)
                    if tracked is not None:
                        if tracked.terminal:
                            return []
                        tracked.terminal = True
                return [OrderCancelled(client_order_id=client_order_id, reason="cancelled on request",
                                       ts=self._clock.now())]
        return []  # UNKNOWN_CANCEL_ORDER, already done, ...: nothing happened

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        row = self._lookup(client_order_id, None)
        return None if row is None else self._state(row, what=f"find order {client_order_id}")

    def open_orders(self) -> list[VenueOrderState]:
        rows = self._list_orders("list open orders", order_status=["OPEN"])
        return [self._state(row, what="list open orders") for row in rows]

    def poll_events(self) -> list[BrokerEvent]:
        with self._lock:
            if self._resync.is_set():
                self._resync.clear()
                try:
                    self._queue.extend(self._resync_over_rest())
                except TransientError as error:
                    log.warning("coinbase: resync after reconnect failed, will retry: %s", error)
                    self._resync.set()
            while True:
                try:
                    message = self._inbox.get_nowait()
                except queue.Empty:
                    break
                self._queue.extend(self._from_message(message))
            self._queue.extend(self._tracker.catch_up())
            events, self._queue = self._queue, []
            return events

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        what = "list fills"
        rows = self._pages(what, lambda c, cursor: c.get_fills(
            start_sequence_timestamp=_iso(since) if since else None, limit=PAGE, cursor=cursor), "fills")
        order_ids = sorted({text(r, "order_id", what=what) for r in rows})
        if not order_ids:
            return []
        # Cumulative ids need every execution of each order, also those before `since`.
        history = self._pages(what, lambda c, cursor: c.get_fills(order_ids=order_ids, limit=PAGE, cursor=cursor),
                              "fills")
        fills = cumulative_fills(rows=history, client_ids=self._client_ids(order_ids), symbols=self._symbols_copy(),
                                 what=what)
        return [f for f in fills if since is None or f.ts >= since]

    def positions(self) -> dict[str, Decimal]:
        what = "list accounts"
        rows = self._pages(what, lambda c, cursor: c.get_accounts(limit=PAGE, cursor=cursor), "accounts")
        symbols = self._symbols_copy()
        by_base = {pid.split("-")[0]: symbol for pid, symbol in symbols.items()}
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

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        return False  # no plain resting stop order on Coinbase: stops are monitored bar by bar

    # Internals.

    def _answer(self, order: Order, pid: str, body: dict, what: str) -> list[BrokerEvent]:
        now = self._clock.now()
        if body.get("success") is True:
            success = body.get("success_response") or {}
            vid = success.get("order_id") if isinstance(success, Mapping) else None
            vid = vid or body.get("order_id")
            if not isinstance(vid, str) or not vid:
                return self._adopt_or_unknown(order, pid, what)  # success without an id: malformed
            with self._lock:
                # Figures unknown until read: a duplicate id answers with an order that may have
                # filled long ago, so its state is read back rather than assumed new.
                self._tracker.register(venue_order_id=vid, client_order_id=order.client_order_id, product_id=pid,
                                       side=order.side, cumulative=None, number_of_fills=None)
            try:
                body = self._rest.read(what, lambda c: c.get_order(order_id=vid))
                row = field(body, "order", what=what)
                if not isinstance(row, Mapping):
                    raise MalformedResponse(f"{VENUE}: {what}: field 'order' is not an object")
            except TransientError as error:
                log.warning("%s: created as %s, its state is not readable yet (%s)", what, vid, error)
                row = {"order_id": vid, "client_order_id": order.client_order_id, "product_id": pid,
                       "side": order.side.value.upper(), "status": "OPEN"}
            with self._lock:
                return self._tracker.apply(update_from_rest(row, at=now, what=what)) + self._tracker.catch_up()
        error = body.get("error_response") or {}
        if not isinstance(error, Mapping):
            error = {}
        words = [str(error.get(k) or "") for k in ("error", "message", "preview_failure_reason",
                                                    "new_order_failure_reason")]
        words.append(str(body.get("failure_reason") or ""))
        if any("DUPLICATE" in w.upper() for w in words):
            return self._adopt_or_unknown(order, pid, what)
        if body.get("success") is not False:
            return self._adopt_or_unknown(order, pid, what)  # neither success nor failure: malformed
        reason = "; ".join(w for w in words if w and w not in ("UNKNOWN_FAILURE_REASON",)) or "refused"
        return [OrderRejected(client_order_id=order.client_order_id, reason=f"{VENUE}: {reason}", ts=now)]

    def _adopt_or_unknown(self, order: Order, pid: str, what: str) -> list[BrokerEvent]:
        row = self._lookup(order.client_order_id, pid)
        if row is None:
            raise VenueUnavailable(f"{VENUE}: {what}: outcome unknown and the venue has no order with this "
                                   "client_order_id yet (ask again later with find_order)")
        with self._lock:
            events = self._tracker.apply(update_from_rest(row, at=self._clock.now(), what=what))
            return events + self._tracker.catch_up()

    def _lookup(self, client_order_id: str, pid: str | None) -> dict | None:
        what = f"find order {client_order_id}"
        with self._lock:
            vid = self._tracker.by_client.get(client_order_id)
        if vid is not None:
            body = self._rest.read(what, lambda c: c.get_order(order_id=vid))
            order = field(body, "order", what=what)
            if not isinstance(order, dict):
                raise MalformedResponse(f"{VENUE}: {what}: field 'order' is not an object")
            return order
        cursor: str | None = None
        for _page in range(self._lookup_pages):
            body = self._rest.read(what, lambda c, cursor=cursor: c.list_orders(
                product_ids=[pid] if pid else None, limit=PAGE, cursor=cursor))
            for row in items(body, "orders", what=what):
                if row.get("client_order_id") == client_order_id:
                    return dict(row)
            cursor = body.get("cursor") or None
            if not body.get("has_next") or not cursor:
                return None
        return None

    def _venue_id(self, client_order_id: str) -> str | None:
        with self._lock:
            vid = self._tracker.by_client.get(client_order_id)
        if vid is not None:
            return vid
        row = self._lookup(client_order_id, None)
        return None if row is None else text(row, "order_id", what=f"find order {client_order_id}")

    def _state(self, row: Mapping, *, what: str) -> VenueOrderState:
        vid = text(row, "order_id", what=what)
        return VenueOrderState(client_order_id=str(row.get("client_order_id") or vid), venue_order_id=vid,
                               status=status(text(row, "status", what=what), what=what),
                               filled_quantity=dec(row, "filled_size", what=what, default=Decimal(0)))

    def _list_orders(self, what: str, **filters: object) -> list[dict]:
        return self._pages(what, lambda c, cursor: c.list_orders(limit=PAGE, cursor=cursor, **filters), "orders")

    def _pages(self, what: str, fetch, key: str) -> list[dict]:
        rows: list[dict] = []
        cursor: str | None = None
        for _page in range(self._lookup_pages):
            body = self._rest.read(what, lambda c, cursor=cursor: fetch(c, cursor))
            rows.extend(dict(r) for r in items(body, key, what=what))
            cursor = body.get("cursor") or None
            if not cursor or body.get("has_next") is False:
                break
        return rows

    def _order_fills(self, venue_order_id: str) -> list[Fill]:
        what = f"list fills of order {venue_order_id}"
        rows = self._pages(what, lambda c, cursor: c.get_fills(order_ids=[venue_order_id], limit=PAGE, cursor=cursor),
                           "fills")
        return cumulative_fills(rows=rows, client_ids=self._client_ids([venue_order_id]),
                                symbols=self._symbols_copy(), what=what)

    def _client_ids(self, order_ids: list[str]) -> dict[str, str]:
        """venue order id -> client_order_id, asking the venue for orders this session has not seen."""
        with self._lock:
            known = {vid: self._tracker.orders[vid].client_order_id for vid in order_ids if vid in self._tracker.orders}
        missing = [vid for vid in order_ids if vid not in known]
        if missing:
            for row in self._list_orders("list orders of fills", order_ids=missing):
                vid = text(row, "order_id", what="list orders of fills")
                known[vid] = str(row.get("client_order_id") or vid)
        for vid in missing:
            known.setdefault(vid, vid)  # a foreign order the venue no longer lists: keep its fills
        return known

    def _symbol_of(self, pid: str) -> str:
        return self._symbols.get(pid, pid)

    def _symbols_copy(self) -> dict[str, str]:
        with self._lock:
            return dict(self._symbols)

    def _from_message(self, message: Mapping) -> list[BrokerEvent]:
        what = "user channel"
        at = self._clock.now()
        try:
            if message.get("timestamp"):
                at = ts(message, "timestamp", what=what)
            events: list[BrokerEvent] = []
            for event in items(message, "events", what=what):
                for row in items(event, "orders", what=what):
                    events.extend(self._tracker.apply(update_from_ws(row, at=at, what=what)))
            return events
        except MalformedResponse as error:
            log.warning("%s; resyncing over REST", error)
            self._resync.set()
            return []

    def _resync_over_rest(self) -> list[BrokerEvent]:
        """After a reconnect: what changed while the stream was down, from REST."""
        last = self._tracker.last_event_ts or self._started
        since = last - self._resync_margin
        what = "resync orders"
        events: list[BrokerEvent] = []
        rows = {text(r, "order_id", what=what): r for r in self._list_orders(what, start_date=_iso(since))}
        for vid in self._tracker.open_ids():
            if vid not in rows:
                body = self._rest.read(what, lambda c, vid=vid: c.get_order(order_id=vid))
                rows[vid] = field(body, "order", what=what)
        for row in rows.values():
            events.extend(self._tracker.apply(update_from_rest(row, at=self._clock.now(), what=what)))
        events.extend(self._tracker.emit_fills(self.fills(since=since)))
        return events
