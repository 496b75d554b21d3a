"""Order placement and cancellation on Coinbase, by the order journal rules (RELIABILITY.md):

- submit is idempotent on client_order_id and never sends an order under a new id;
- 429 -> the governor waits for the venue's reset, then the SAME id is sent again (bounded);
  still 429 -> VenueUnavailable ("not sent", the application retries later with the same id);
- an unknown outcome (5xx, timeout, malformed body) -> the order is looked up by
  client_order_id and adopted, or VenueUnavailable;
- a duplicate client_order_id -> the existing order is adopted (its events returned);
- a cancel is a request, not a result: Coinbase answers success once it has queued the cancel
  (the order goes CANCEL_QUEUED) and the order can still fill until the venue finishes it. So
  cancel() reports only what the venue's order says when read back right after: fills made
  meanwhile, and OrderCancelled only when the venue reports the order done (CANCELLED, with
  its final filled size); otherwise the user stream (or the REST resync, or reconciliation)
  reports the end later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

from adapters.coinbase.http import VENUE, CoinbaseRest, RateLimited, VenueHttpError
from adapters.coinbase.mapping import items, product_id
from adapters.coinbase.orders import NotSendable, order_configuration
from adapters.coinbase.products import Product, ProductCatalog
from adapters.coinbase.session import BrokerSession
from adapters.coinbase.tracking import update_from_rest
from adapters.coinbase.venue_reads import VenueReads
from application.ports import Clock
from application.venues.request_governor import Priority
from domain.errors import ConfigurationError, TransientError, VenueUnavailable
from domain.orders.events import BrokerEvent, OrderRejected
from domain.orders.order import Order, OrderType

log = logging.getLogger(__name__)


class OrderPlacement:
    def __init__(self, *, rest: CoinbaseRest, products: ProductCatalog, clock: Clock, session: BrokerSession,
                 reads: VenueReads, limit_ioc: bool = False, submit_attempts: int = 3) -> None:
        self._rest = rest
        self._products = products
        self._clock = clock
        self._session = session
        self._reads = reads
        self._limit_ioc = limit_ioc
        self._submit_attempts = max(1, submit_attempts)

    def submit(self, order: Order) -> list[BrokerEvent]:
        pid = product_id(order.symbol)
        self._session.remember_symbol(pid, order.symbol)
        if self._session.venue_id(order.client_order_id) is not None:
            return []  # idempotent: this session sent it already
        now = self._clock.now()
        try:
            product = self._products.get(pid)
            config = order_configuration(order, product, limit_ioc=self._limit_ioc,
                                         reference_price=self._reference_price(order, product))
        except (ConfigurationError, NotSendable) as error:
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

    def _reference_price(self, order: Order, product: Product) -> Decimal | None:
        """The price a market order's value is checked at: the product's last price, read again
        when the cached one puts the order near the venue's minimum (a stale price must neither
        send an order the venue refuses nor refuse one it takes)."""
        if order.order_type is not OrderType.MARKET or product.price is None or product.quote_min_size <= 0:
            return product.price
        if order.quantity * product.price >= 2 * product.quote_min_size:
            return product.price
        try:
            return self._products.get(product.product_id, fresh=True).price
        except TransientError:
            return product.price

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        vid = self._reads.venue_id(client_order_id)
        if vid is None:
            return []
        what = f"cancel order {client_order_id}"
        body = self._rest.read(what, lambda c: c.cancel_orders(order_ids=[vid]), priority=Priority.CANCEL)
        accepted = any(r.get("order_id") == vid and r.get("success") is True
                       for r in items(body, "results", what=what))
        if not accepted:  # UNKNOWN_CANCEL_ORDER, DUPLICATE_CANCEL_REQUEST, ORDER_IS_FULLY_FILLED, ...
            reasons = [str(r.get("failure_reason")) for r in items(body, "results", what=what)]
            log.info("%s: not taken by the venue (%s)", what, ", ".join(reasons) or "no result")
        try:
            row = self._reads.order(vid, what=what)
        except TransientError as error:
            log.warning("%s: the order's state is not readable yet (%s); the stream will tell", what, error)
            return []
        tracker = self._session.tracker
        with self._session.lock:
            return tracker.apply(update_from_rest(row, at=self._clock.now(), what=what)) + tracker.catch_up()

    def _answer(self, order: Order, pid: str, body: dict, what: str) -> list[BrokerEvent]:
        now = self._clock.now()
        if body.get("success") is True:
            success = body.get("success_response") or {}
            vid = success.get("order_id") if isinstance(success, Mapping) else None
            vid = vid or body.get("order_id")
            if not isinstance(vid, str) or not vid:
                return self._adopt_or_unknown(order, pid, what)  # success without an id: malformed
            tracker = self._session.tracker
            with self._session.lock:
                # Figures unknown until read: a duplicate id answers with an order that may have
                # filled long ago, so its state is read back rather than assumed new.
                tracker.register(venue_order_id=vid, client_order_id=order.client_order_id, product_id=pid,
                                 side=order.side, cumulative=None, number_of_fills=None)
            try:
                row = self._reads.order(vid, what=what)
            except TransientError as error:
                log.warning("%s: created as %s, its state is not readable yet (%s)", what, vid, error)
                row = {"order_id": vid, "client_order_id": order.client_order_id, "product_id": pid,
                       "side": order.side.value.upper(), "status": "OPEN"}
            with self._session.lock:
                return tracker.apply(update_from_rest(row, at=now, what=what)) + tracker.catch_up()
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
        row = self._reads.find(order.client_order_id, product_id=pid)
        if row is None:
            raise VenueUnavailable(f"{VENUE}: {what}: outcome unknown and the venue has no order with this "
                                   "client_order_id yet (ask again later with find_order)")
        tracker = self._session.tracker
        with self._session.lock:
            return tracker.apply(update_from_rest(row, at=self._clock.now(), what=what)) + tracker.catch_up()
