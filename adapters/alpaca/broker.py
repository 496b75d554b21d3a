"""The Broker port on Alpaca's trading API (orders, activities, positions, trade_updates).

Order journal rules (RELIABILITY.md): an order POST is never retried with a new id; a 429
waits for the reset and resends the SAME client_order_id (bounded); a 5xx, timeout, dropped
connection or unreadable body leaves the outcome unknown, so the order is looked up by
client_order_id and adopted when the venue has it (VenueUnavailable otherwise, the
application asks again later); Alpaca's 422 "client_order_id must be unique" adopts the
existing order. Events from submit, the stream and the resync go through one ledger, so
each fill (by its cumulative fill id) and each ack or end is told once per session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from alpaca.common.enums import Sort
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from adapters.alpaca.activities import read_activities, read_executions
from adapters.alpaca.bracket import BracketSubmission, bracket_request, leg_ids
from adapters.alpaca.corrections import CORRECTION_EVENTS, charges_of_fee_activity, correction_of_update
from adapters.alpaca.errors import VENUE, MalformedResponse, RateLimited, VenueRefused, is_duplicate_client_order_id
from adapters.alpaca.http import ReadPolicy, call
from adapters.alpaca.ledger import EventLedger
from adapters.alpaca.mapping import Execution, VenueOrder, execution_from_trade_update, order_request, parse_order
from adapters.alpaca.schemas import Payload, payload_list
from adapters.alpaca.stream_runner import ResyncingTradingStream, StreamThread
from application.ports import Clock
from application.records import VenueCharge, VenueOrderState
from domain.accounting.instrument import AssetClass
from domain.errors import TransientError, VenueUnavailable
from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderCancelled, OrderExpired, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderStatus

log = logging.getLogger(__name__)

_OPEN_ORDERS_LIMIT = 500  # Alpaca's maximum for GET /v2/orders
# Each page of open orders starts this far before the last submission time of the page
# before (see _open_venue_orders).
_PAGE_OVERLAP = timedelta(milliseconds=1)
# A resync looks back this far before the last event it saw: the venue's and our clocks
# may differ, and a replayed fill is dropped by its fill id anyway.
_RESYNC_OVERLAP = timedelta(minutes=2)
# An end the venue reported with fills we have not seen: look for them over REST this often,
# and tell the end anyway after deferred_end_wait seconds.
_DEFERRED_RECHECK = 1.0


class AlpacaBroker:
    def __init__(
        self,
        *,
        client: TradingClient,
        clock: Clock,
        reads: ReadPolicy,
        stream_factory: Callable[..., ResyncingTradingStream] | None = None,
        submit_attempts: int = 3,
        deferred_end_wait: float = 30.0,
    ) -> None:
        self._client = client
        self._clock = clock
        self._reads = reads
        self._submit_attempts = submit_attempts
        self._deferred_end_wait = deferred_end_wait
        self._ledger = EventLedger()
        self._client_ids: dict[str, str] = {}  # venue order id -> client_order_id
        self._started_at = clock.now()
        self._stream_factory = stream_factory
        self._stream: StreamThread | None = None
        self._stream_lock = threading.Lock()
        self._resync_needed = threading.Event()
        self.resyncs = 0  # completed REST resyncs (for the health report and tests)

    # --- the Broker port -------------------------------------------------------------

    def submit(self, order: Order) -> list[BrokerEvent]:
        _, events = self._place(order.client_order_id, order_request(order))
        return events

    def submit_bracket(self, order: Order, *, take_profit: Decimal | None, stop_loss: Decimal) -> BracketSubmission:
        """`order` (market or limit) with its exits attached at Alpaca: a take-profit limit leg
        and a stop-loss stop leg, one cancelling the other (order_class bracket), or the
        stop-loss leg alone when `take_profit` is None (order_class oto).

        Adapter-level only: this is NOT part of the Broker port, and the application does not
        call it yet. The entry carries our client_order_id under the same journal rules as
        submit (429: the same id again, bounded; 5xx/timeout/garbled answer: adopt what a
        lookup finds, else VenueUnavailable; duplicate id: adopt). The legs carry ids of
        Alpaca's making; their acks, fills and ends are events like any other order's, under
        those ids, from this answer, the stream or the resync."""
        body = bracket_request(order, take_profit=take_profit, stop_loss=stop_loss)
        parent, events = self._place(order.client_order_id, body)
        take_profit_id, stop_loss_id = (None, None) if parent is None else leg_ids(parent)
        return BracketSubmission(events=tuple(events), take_profit_client_order_id=take_profit_id,
                                 stop_loss_client_order_id=stop_loss_id)

    def _place(self, coid: str, body: dict) -> tuple[VenueOrder | None, list[BrokerEvent]]:
        """POST /v2/orders under the journal rules: the venue's order (None when it refused
        it) and the events to tell."""
        self._ensure_stream()
        for attempt in range(1, self._submit_attempts + 1):
            try:
                raw = call("submit", lambda: self._client.post("/orders", body))
                venue_order = parse_order(raw, call="submit")
            except RateLimited as error:
                # Not processed: the transport paused the key until the reset; the next
                # attempt waits for it in the governor and resends the same id.
                log.warning("alpaca submit %s: 429 (attempt %d of %d)", coid, attempt, self._submit_attempts)
                last = error
                continue
            except VenueRefused as error:
                if is_duplicate_client_order_id(error):
                    return self._adopt(coid, cause=str(error), claim=False)
                return None, self._ledger.ended(OrderRejected(
                    client_order_id=coid, reason=f"alpaca refused the order: {error.venue_message}",
                    ts=self._clock.now()))
            except VenueUnavailable as error:
                return self._adopt(coid, cause=str(error), claim=True)
            return venue_order, self._snapshot_events(venue_order, claim=True)
        raise VenueUnavailable(f"{VENUE} submit {coid}: still rate limited after {self._submit_attempts} "
                               f"attempts; the order was not sent ({last})")

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        venue_order = self._order_by_client_id(client_order_id, call="cancel")
        if venue_order is None:
            return []
        if venue_order.status.is_terminal:
            # Nothing to cancel; what ended it is told once (the ledger drops what was told).
            return self._final_snapshot(venue_order)
        try:
            self._reads.read("cancel", lambda: self._client.cancel_order_by_id(venue_order.venue_order_id))
        except VenueRefused as error:
            # 404 / 422: already filled, cancelled or expired: nothing to cancel.
            log.info("alpaca cancel %s: %s", client_order_id, error.venue_message)
        # Alpaca cancels asynchronously: the read-back may still be pending_cancel (the end then
        # comes from the stream or a later read), or already canceled with fills the stream has
        # not brought yet: those are read from the activities first, so the end follows them.
        after = self._order_by_client_id(client_order_id, call="cancel")
        return [] if after is None else self._final_snapshot(after)

    def _final_snapshot(self, venue_order: VenueOrder) -> list[BrokerEvent]:
        short = venue_order.status.is_terminal and (
            venue_order.filled_quantity > self._ledger.filled(venue_order.client_order_id))
        return self._snapshot_events(venue_order, fills=short, claim=True)

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        venue_order = self._order_by_client_id(client_order_id, call="find_order")
        return None if venue_order is None else venue_order.state()

    def open_orders(self) -> list[VenueOrderState]:
        return [venue_order.state() for venue_order in self._open_venue_orders(call="open_orders")]

    def _open_venue_orders(self, *, call: str) -> list[VenueOrder]:
        """Every open order, oldest first, a page of up to 500 at a time. Alpaca pages by
        submission time only (`after` is exclusive, and its timestamps carry nanoseconds we
        read as microseconds): each next page starts a millisecond before the last submission
        seen, so orders sharing that instant are not skipped, and ids seen already are dropped."""
        found: dict[str, VenueOrder] = {}
        after: datetime | None = None
        while True:
            request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=_OPEN_ORDERS_LIMIT,
                                       direction=Sort.ASC, after=after)
            page = self._reads.read(call, lambda: self._parsed_orders(self._client.get_orders(request), call=call))
            new = [o for o in page if o.venue_order_id not in found]
            found.update((o.venue_order_id, o) for o in new)
            if len(page) < _OPEN_ORDERS_LIMIT:
                return list(found.values())
            if not new:
                # A whole page within one millisecond: paging by time cannot get past it.
                raise VenueUnavailable(f"{VENUE} {call}: more than {_OPEN_ORDERS_LIMIT} open orders submitted "
                                       f"within a millisecond of {page[-1].submitted_at.isoformat()}; "
                                       "cannot page past them")
            after = max(o.submitted_at for o in page) - _PAGE_OVERLAP

    def poll_events(self) -> list[BrokerEvent]:
        self._ensure_stream()
        # What the stream queued first (it happened before this poll), then what a resync
        # after a (re)connection finds that the stream missed.
        events = self._ledger.drain()
        events += self._settle_deferred_ends()
        if self._resync_needed.is_set():
            self._resync_needed.clear()
            try:
                events += self._resync()
            except TransientError as error:
                self._resync_needed.set()  # try again at the next poll
                log.warning("alpaca resync after reconnect failed, will retry: %s", error)
        return events

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        executions = read_executions(self._client, self._reads, since=since, call="fills")
        return [e.fill(client_order_id=self._client_id_of(e.venue_order_id)) for e in executions]

    def charges(self, *, since: datetime | None = None) -> list[VenueCharge]:
        """The regulatory fees Alpaca charged (FEE activities; the ChargeSource port), oldest first."""
        def client_id(venue_order_id: str) -> str | None:
            try:
                return self._client_id_of(venue_order_id)
            except VenueRefused:
                return None  # an order of long ago the venue no longer shows: an account charge
        charges: list[VenueCharge] = []
        for item in read_activities(self._client, self._reads, kind="FEE", since=since, call="charges"):
            charges += charges_of_fee_activity(item, client_id_of=client_id)
        return [c for c in charges if since is None or c.ts >= since]

    def positions(self) -> dict[str, Decimal]:
        def read() -> dict[str, Decimal]:
            net: dict[str, Decimal] = {}
            for p in payload_list(self._client.get_all_positions(), call="positions", what="position"):
                quantity = abs(p.decimal("qty"))
                net[p.str("symbol")] = -quantity if p.optional_str("side") == "short" else quantity
            return {symbol: q for symbol, q in net.items() if q != 0}
        return self._reads.read("positions", read)

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        # Alpaca rests stop and stop-limit orders for equities; crypto takes stop-limit only.
        return asset_class is AssetClass.EQUITY

    def close(self) -> None:
        with self._stream_lock:
            if self._stream is not None:
                self._stream.close()

    # --- the stream ------------------------------------------------------------------

    @property
    def stream_connections(self) -> int:
        return 0 if self._stream is None else self._stream.stream.connections

    def _ensure_stream(self) -> None:
        if self._stream_factory is None:
            return
        with self._stream_lock:
            if self._stream is None:
                stream: ResyncingTradingStream = self._stream_factory(on_connected=self._resync_needed.set)
                stream.subscribe_trade_updates(self._on_trade_update)
                self._stream = StreamThread(stream=stream, name="alpaca-trade-updates")
                self._stream.start()

    async def _on_trade_update(self, message: dict) -> None:
        try:
            self._ledger.queue(self._events_of_update(message))
        except MalformedResponse as error:
            # Unreadable update: learn what happened from the REST side instead.
            log.warning("alpaca trade update unreadable, resyncing over REST: %s", error)
            self._resync_needed.set()

    def _events_of_update(self, message: dict) -> list[BrokerEvent]:
        data = Payload(message.get("data") if isinstance(message, dict) else None,
                       call="trade_updates", what="trade update")
        event = data.str("event")
        venue_order = parse_order(data.raw.get("order"), call="trade_updates")
        self._client_ids[venue_order.venue_order_id] = venue_order.client_order_id
        coid = venue_order.client_order_id
        ts = data.optional_datetime("timestamp") or venue_order.updated_at
        if event in ("fill", "partial_fill"):
            execution = execution_from_trade_update(data, venue_order)
            events = self._accepted(venue_order, ts=ts) + self._tell_fill(
                execution, client_order_id=coid, commission_total=venue_order.commission,
                execution_id=data.optional_str("execution_id"))
            if event == "fill":
                self._ledger.finished(coid)
            return events
        if event in ("new", "accepted", "pending_new"):
            return self._accepted(venue_order, ts=ts)
        if event in ("canceled", "expired", "rejected", "replaced"):
            return self._snapshot_events(venue_order, fills=False, ts=ts)
        if event in CORRECTION_EVENTS:
            return [correction_of_update(data, venue_order, ledger=self._ledger, ts=ts)]
        return []  # pending_cancel, done_for_day, ...: no change the application acts on

    def _settle_deferred_ends(self) -> list[BrokerEvent]:
        """Ends waiting for fills the venue counted: look for those fills over REST now and
        then (the stream may have lost them), and after the bounded wait let the end go (a
        fill that comes later is recorded all the same; reconciliation backfills a lost one)."""
        events: list[BrokerEvent] = []
        now = time.monotonic()
        for coid, deferred in self._ledger.deferred().items():
            if now - deferred.since >= self._deferred_end_wait:
                log.warning("alpaca %s: the venue ended it with %s filled, %s told; telling the end now",
                            coid, deferred.final_filled, self._ledger.filled(coid))
                events += self._ledger.release(coid)
            elif now - deferred.checked >= _DEFERRED_RECHECK:
                deferred.checked = now
                try:
                    venue_order = self._order_by_client_id(coid, call="fills")
                except TransientError as error:
                    log.warning("alpaca %s: fills of a cancelled order not read now: %s", coid, error)
                    continue
                if venue_order is not None:
                    events += self._fills_of(venue_order)
        return events

    def _resync(self) -> list[BrokerEvent]:
        """What the stream may have missed while it was down: fills since the last event seen
        (by fill id, so nothing twice) and the end of every order we watch that is no longer open."""
        since = (self._ledger.last_event_ts or self._started_at) - _RESYNC_OVERLAP
        events: list[BrokerEvent] = []
        for execution in read_executions(self._client, self._reads, since=since, call="resync"):
            coid = self._client_id_of(execution.venue_order_id)
            events += self._ledger.accepted(client_order_id=coid, venue_order_id=execution.venue_order_id,
                                            ts=execution.ts)
            events += self._tell_fill(execution, client_order_id=coid)
        watched = self._ledger.watched()
        if watched:
            still_open = {o.client_order_id for o in self._open_venue_orders(call="resync")}
            for coid in sorted(watched - still_open):
                venue_order = self._order_by_client_id(coid, call="resync")
                if venue_order is not None:
                    events += self._snapshot_events(venue_order, fills=False)
        self.resyncs += 1
        return events

    # --- helpers ---------------------------------------------------------------------

    def _accepted(self, venue_order: VenueOrder, *, ts: datetime) -> list[BrokerEvent]:
        return self._ledger.accepted(client_order_id=venue_order.client_order_id,
                                     venue_order_id=venue_order.venue_order_id, ts=ts)

    def _snapshot_events(self, venue_order: VenueOrder, *, fills: bool = True, ts: datetime | None = None,
                         claim: bool = False) -> list[BrokerEvent]:
        """The venue's view of one order as events: ack, its fills (from the activities, never
        invented from the order's totals), then its end."""
        self._client_ids[venue_order.venue_order_id] = venue_order.client_order_id
        coid = venue_order.client_order_id
        at = ts or venue_order.updated_at
        if venue_order.status is OrderStatus.REJECTED:
            return self._ledger.ended(OrderRejected(client_order_id=coid, reason="rejected at alpaca", ts=at),
                                      claim=claim)
        events = self._ledger.accepted(client_order_id=coid, venue_order_id=venue_order.venue_order_id,
                                       ts=venue_order.created_at, claim=claim)
        if fills and venue_order.filled_quantity > ZERO:
            events += self._fills_of(venue_order)
        # An end waits for the fills the venue counted in it (see EventLedger.ended).
        final = venue_order.filled_quantity
        if venue_order.status is OrderStatus.CANCELLED:
            why = "replaced at alpaca" if venue_order.venue_status == "replaced" else "cancelled at alpaca"
            events += self._ledger.ended(OrderCancelled(client_order_id=coid, reason=why, ts=at,
                                                        filled_quantity=final), final_filled=final, claim=claim)
        elif venue_order.status is OrderStatus.EXPIRED:
            events += self._ledger.ended(OrderExpired(client_order_id=coid, ts=at, filled_quantity=final),
                                         final_filled=final, claim=claim)
        elif venue_order.status is OrderStatus.FILLED:
            self._ledger.finished(coid)
        for leg in venue_order.legs:  # a bracket's exits: orders of their own
            events += self._snapshot_events(leg, fills=fills, claim=claim)
        return events

    def _fills_of(self, venue_order: VenueOrder) -> list[BrokerEvent]:
        try:
            executions = read_executions(self._client, self._reads, since=venue_order.created_at - timedelta(seconds=1), call="fills")
        except TransientError as error:
            # The order is known; its fills come from the stream or the next reconciliation.
            log.warning("alpaca: fills of %s not read now: %s", venue_order.client_order_id, error)
            return []
        mine = [e for e in executions if e.venue_order_id == venue_order.venue_order_id]
        events: list[BrokerEvent] = []
        for execution in mine:
            # The order's commission so far goes with the latest of its fills this answer shows.
            last = execution.cumulative_quantity == max(e.cumulative_quantity for e in mine)
            events += self._tell_fill(execution, client_order_id=venue_order.client_order_id,
                                      commission_total=venue_order.commission if last else None)
        return events

    def _tell_fill(self, execution: Execution, *, client_order_id: str, commission_total: Decimal | None = None,
                   execution_id: str | None = None) -> list[BrokerEvent]:
        return self._ledger.fill(execution.fill(client_order_id=client_order_id),
                                 cumulative=execution.cumulative_quantity, execution_id=execution_id,
                                 commission_total=commission_total)

    def _adopt(self, client_order_id: str, *, cause: str, claim: bool) -> tuple[VenueOrder, list[BrokerEvent]]:
        """The POST's outcome is unclear (or the id exists already): ask the venue."""
        venue_order = self._order_by_client_id(client_order_id, call="submit")
        if venue_order is None:
            raise VenueUnavailable(f"{VENUE} submit {client_order_id}: outcome unknown ({cause}); the venue "
                                   "has no such order now: ask again later with the same id")
        log.info("alpaca submit %s: adopted the venue's order %s after: %s",
                 client_order_id, venue_order.venue_order_id, cause)
        return venue_order, self._snapshot_events(venue_order, claim=claim)

    def _order_by_client_id(self, client_order_id: str, *, call: str) -> VenueOrder | None:
        try:
            return self._reads.read(call, lambda: parse_order(
                self._client.get_order_by_client_id(client_order_id), call=call))
        except VenueRefused as error:
            if error.not_found:
                return None
            raise VenueUnavailable(f"{VENUE} {call} {client_order_id}: lookup refused: {error}") from error

    @staticmethod
    def _parsed_orders(raw: object, *, call: str) -> list[VenueOrder]:
        if not isinstance(raw, list):
            raise MalformedResponse(f"{VENUE} {call}: expected a list of orders, got {type(raw).__name__}")
        return [parse_order(item, call=call) for item in raw]

    def _client_id_of(self, venue_order_id: str) -> str:
        known = self._client_ids.get(venue_order_id)
        if known is None:
            raw = self._reads.read("order", lambda: parse_order(
                self._client.get_order_by_id(venue_order_id), call="order"))
            known = self._client_ids[venue_order_id] = raw.client_order_id
        return known
