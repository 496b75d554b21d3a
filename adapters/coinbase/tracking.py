"""What this session knows of each order, and the events an order update produces.

An update (from the user websocket or from a REST order) carries cumulative figures: filled
quantity, average price, total fees, number of fills. When the cumulative quantity grows, the
order's fills are read over REST (List Fills), where each execution is its own row with what
the venue charged (`commission`) and whether it added or took liquidity
(`liquidity_indicator`), and emitted under cumulative ids (order id and cumulative quantity
after the execution). That is how a streamed fill gets its true figures: the user channel
says that and how much an order filled, never maker or taker per execution.

When REST does not answer (or lags) for `fallback_after` attempts and the update moved by
exactly one execution (number_of_fills up by one), that execution is derived from the update
instead, under the same id: its commission is the rise of the venue's cumulative total_fees
(what it charged), its liquidity "unknown". Several executions in one update are never
derived (they could not be split); they wait for REST, and reconciliation backfills them if it
never answers. Fills are deduplicated by id for the whole session; a fill is never invented.

A terminal update (CANCELLED, EXPIRED, FAILED) is emitted after the order's fills, so a cancel
is reported with its final filled quantity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from adapters.coinbase.mapping import dec, fill_id, side, status, text, ts
from domain.errors import TransientError
from domain.numbers import ZERO
from domain.orders.events import BrokerEvent, OrderAccepted, OrderCancelled, OrderExpired, OrderFilled, OrderRejected
from domain.orders.fill import Fill
from domain.orders.order import OrderSide, OrderStatus

log = logging.getLogger(__name__)
PRICE_PLACES = Decimal("1E-12")


@attrs.frozen(kw_only=True)
class OrderUpdate:
    """One order's figures, from whichever wire shape they came."""

    venue_order_id: str
    client_order_id: str
    product_id: str
    side: OrderSide
    status: str  # the venue's word
    cumulative: Decimal
    average_price: Decimal
    total_fees: Decimal
    number_of_fills: int | None
    reason: str
    ts: datetime


def update_from_ws(row: Mapping, *, at: datetime, what: str) -> OrderUpdate:
    nfills = row.get("number_of_fills")
    return OrderUpdate(
        venue_order_id=text(row, "order_id", what=what),
        client_order_id=str(row.get("client_order_id") or ""),
        product_id=text(row, "product_id", what=what),
        side=side(text(row, "order_side", what=what), what=what),
        status=text(row, "status", what=what),
        cumulative=dec(row, "cumulative_quantity", what=what, default=ZERO),
        average_price=dec(row, "avg_price", what=what, default=ZERO),
        total_fees=dec(row, "total_fees", what=what, default=ZERO),
        number_of_fills=int(dec(row, "number_of_fills", what=what)) if nfills not in (None, "") else None,
        reason=str(row.get("reject_reason") or row.get("cancel_reason") or ""),
        ts=at,
    )


def update_from_rest(row: Mapping, *, at: datetime, what: str) -> OrderUpdate:
    nfills = row.get("number_of_fills")
    reason = row.get("reject_message") or row.get("reject_reason") or row.get("cancel_message") or ""
    return OrderUpdate(
        venue_order_id=text(row, "order_id", what=what),
        client_order_id=str(row.get("client_order_id") or ""),
        product_id=text(row, "product_id", what=what),
        side=side(text(row, "side", what=what), what=what),
        status=text(row, "status", what=what),
        cumulative=dec(row, "filled_size", what=what, default=ZERO),
        average_price=dec(row, "average_filled_price", what=what, default=ZERO),
        total_fees=dec(row, "total_fees", what=what, default=ZERO),
        number_of_fills=int(dec(row, "number_of_fills", what=what)) if nfills not in (None, "") else None,
        reason="" if reason == "REJECT_REASON_UNSPECIFIED" else str(reason),
        ts=ts(row, "last_fill_time", what=what) if row.get("last_fill_time") else at,
    )


@attrs.define
class Tracked:
    venue_order_id: str
    client_order_id: str
    product_id: str
    side: OrderSide
    cumulative: Decimal | None = None  # None: not known yet in this session
    average_price: Decimal = ZERO
    total_fees: Decimal = ZERO
    number_of_fills: int | None = None
    accepted: bool = False
    terminal: bool = False
    deferred: OrderUpdate | None = None  # a terminal update waiting for its fills over REST
    target: Decimal = ZERO  # the cumulative quantity the emitted fills must reach
    emitted: Decimal = ZERO  # the cumulative quantity of the fills emitted so far
    fallback: list[tuple[Fill, Decimal]] = attrs.field(factory=list)  # derived (fill, cumulative after it)
    catch_up_tries: int = 0


RestFills = Callable[[str], list[Fill]]  # venue order id -> its fills (cumulative ids), oldest first


class OrderTracker:
    """Not thread-safe: the broker holds its lock around every call."""

    def __init__(self, *, rest_fills: RestFills, symbol_of: Callable[[str], str], catch_up_limit: int = 20,
                 fallback_after: int = 3) -> None:
        self._rest_fills = rest_fills
        self._symbol_of = symbol_of
        self._catch_up_limit = catch_up_limit
        self._fallback_after = fallback_after
        self.orders: dict[str, Tracked] = {}
        self.by_client: dict[str, str] = {}
        self.seen_fills: set[str] = set()
        self.last_event_ts: datetime | None = None
        self.pending: set[str] = set()  # venue order ids whose fills are awaited over REST

    def register(self, *, venue_order_id: str, client_order_id: str, product_id: str, side: OrderSide,
                 cumulative: Decimal | None = ZERO, number_of_fills: int | None = 0) -> Tracked:
        tracked = self.orders.get(venue_order_id)
        if tracked is None:
            tracked = Tracked(venue_order_id=venue_order_id, client_order_id=client_order_id or venue_order_id,
                              product_id=product_id, side=side, cumulative=cumulative, number_of_fills=number_of_fills)
            self.orders[venue_order_id] = tracked
            if client_order_id:
                self.by_client[client_order_id] = venue_order_id
        return tracked

    def open_ids(self) -> list[str]:
        return [vid for vid, t in self.orders.items() if not t.terminal]

    def apply(self, update: OrderUpdate) -> list[BrokerEvent]:
        tracked = self.orders.get(update.venue_order_id) or self.register(
            venue_order_id=update.venue_order_id, client_order_id=update.client_order_id,
            product_id=update.product_id, side=update.side, cumulative=None, number_of_fills=None)
        events: list[BrokerEvent] = []
        state = status(update.status, what="order update")
        if not tracked.accepted and not tracked.terminal and state is not OrderStatus.REJECTED:
            tracked.accepted = True
            events.append(OrderAccepted(client_order_id=tracked.client_order_id,
                                        venue_order_id=tracked.venue_order_id, ts=update.ts))
        known = tracked.cumulative
        if update.cumulative > (known or ZERO) or (known is None and update.cumulative > 0):
            one_more = (known is not None and update.number_of_fills is not None
                        and tracked.number_of_fills is not None
                        and update.number_of_fills == tracked.number_of_fills + 1)
            if known is not None and one_more:
                self._derive(tracked, update)  # kept in case REST does not answer
            tracked.target = max(tracked.target, update.cumulative)
            self.pending.add(tracked.venue_order_id)
        elif known is None:
            tracked.cumulative = update.cumulative
            tracked.number_of_fills = update.number_of_fills
        if state.is_terminal and not tracked.terminal:
            if tracked.venue_order_id in self.pending:
                tracked.deferred = update
            else:
                events.extend(self._terminal(tracked, update, state))
        events.extend(self.catch_up())
        self._note(events)
        return events

    def emit_fills(self, fills: list[Fill]) -> list[BrokerEvent]:
        """REST fills (cumulative ids): the unseen ones become events."""
        events: list[BrokerEvent] = []
        for fill in fills:
            if fill.fill_id in self.seen_fills:
                continue
            self.seen_fills.add(fill.fill_id)
            events.append(OrderFilled(fill=fill))
        self._note(events)
        return events

    def catch_up(self) -> list[BrokerEvent]:
        """Read the fills of the orders that wait for them over REST. A transient failure
        leaves them pending for the next poll."""
        events: list[BrokerEvent] = []
        for vid in sorted(self.pending):
            tracked = self.orders[vid]
            tracked.catch_up_tries += 1
            try:
                fills = self._rest_fills(vid)
            except TransientError as error:
                log.warning("coinbase: fills of order %s not readable yet: %s", vid, error)
                fills = []
            events.extend(self.emit_fills(fills))
            if fills:
                cumulative = sum((f.quantity for f in fills), ZERO)
                tracked.emitted = max(tracked.emitted, cumulative)
                if cumulative >= (tracked.cumulative or ZERO):
                    tracked.cumulative = cumulative
                    tracked.average_price = sum((f.notional for f in fills), ZERO) / cumulative
                    tracked.total_fees = sum((f.commission for f in fills), ZERO)
                    tracked.number_of_fills = len(fills)
            if tracked.emitted < tracked.target and tracked.catch_up_tries >= self._fallback_after:
                events.extend(self._use_fallback(tracked))
            tracked.fallback = [(f, c) for f, c in tracked.fallback if c > tracked.emitted]
            if tracked.emitted >= tracked.target or tracked.catch_up_tries >= self._catch_up_limit:
                # Done, or given up: reconciliation (fills()) backfills anything REST still lacks.
                self.pending.discard(vid)
                tracked.catch_up_tries = 0
                if tracked.deferred is not None and not tracked.terminal:
                    update, tracked.deferred = tracked.deferred, None
                    events.extend(self._terminal(tracked, update, status(update.status, what="order update")))
        self._note(events)
        return events

    def _use_fallback(self, tracked: Tracked) -> list[BrokerEvent]:
        """REST has not given these executions: emit the ones derived from the stream."""
        derived = [(f, c) for f, c in tracked.fallback if c > tracked.emitted]
        if derived:
            log.warning("coinbase: fills of order %s not on REST after %d attempts; using the %d derived from the "
                        "user stream (commission from total_fees, liquidity unknown)", tracked.venue_order_id,
                        tracked.catch_up_tries, len(derived))
            tracked.emitted = max(c for _, c in derived)
        tracked.fallback.clear()
        return self.emit_fills([f for f, _ in derived])

    def _derive(self, tracked: Tracked, update: OrderUpdate) -> None:
        previous = tracked.cumulative or ZERO
        quantity = update.cumulative - previous
        notional = update.average_price * update.cumulative - tracked.average_price * previous
        price = Decimal(format((notional / quantity).quantize(PRICE_PLACES).normalize(), "f"))
        commission = max(ZERO, update.total_fees - tracked.total_fees)
        tracked.cumulative = update.cumulative
        tracked.average_price = update.average_price
        tracked.total_fees = update.total_fees
        tracked.number_of_fills = update.number_of_fills
        try:
            fill = Fill(fill_id=fill_id(tracked.venue_order_id, update.cumulative),
                        client_order_id=tracked.client_order_id, symbol=self._symbol_of(tracked.product_id),
                        side=tracked.side, quantity=quantity, price=price, commission=commission, ts=update.ts,
                        liquidity="unknown")  # the user channel does not say maker or taker
        except ValueError as error:  # a nonsensical average price: only REST can tell
            log.warning("coinbase: cannot derive a fill of order %s (%s); waiting for REST", tracked.venue_order_id,
                        error)
            return
        tracked.fallback.append((fill, update.cumulative))

    def _terminal(self, tracked: Tracked, update: OrderUpdate, state: OrderStatus) -> list[BrokerEvent]:
        tracked.terminal = True
        cid = tracked.client_order_id
        # The venue's final filled quantity goes with the end: the store checks it against its fills.
        if state is OrderStatus.CANCELLED:
            return [OrderCancelled(client_order_id=cid, reason=update.reason or "cancelled", ts=update.ts,
                                   filled_quantity=update.cumulative)]
        if state is OrderStatus.EXPIRED:
            return [OrderExpired(client_order_id=cid, ts=update.ts, filled_quantity=update.cumulative)]
        if state is OrderStatus.REJECTED:
            return [OrderRejected(client_order_id=cid, reason=update.reason or "failed at the venue", ts=update.ts)]
        return []  # FILLED: the fills said it all

    def _note(self, events: list[BrokerEvent]) -> None:
        for event in events:
            if self.last_event_ts is None or event.ts > self.last_event_ts:
                self.last_event_ts = event.ts
