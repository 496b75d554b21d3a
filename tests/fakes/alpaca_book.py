"""The fake Alpaca venue's books: orders, executions (FILL activities), positions, cash.

Market orders fill at the symbol's price once one is set; limit, stop and stop-limit
orders fill when a price reaches them (`set_price`). Every change is told to `notify`
(the trading stream) as Alpaca's trade update: new, fill, partial_fill, canceled, rejected.
Thread-safe (one lock): the HTTP handler threads and the test both use it.

Bracket and oto orders (`create_bracket`) as Alpaca runs them: the exit legs are orders of
their own (ids and client_order_ids of the venue's making), "held" (never matched, no trade
update) until the entry has filled; then they turn "new" (for the quantity filled) and work
like any order. When one leg fills, the other is cancelled (OCO); when the entry ends with
nothing filled, the legs are cancelled; cancelling a leg cancels its sibling.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

import attrs

ZERO = Decimal(0)
# What GET /v2/orders?status=open lists: every status that is not an end (a status Alpaca may
# add later included).
CLOSED_STATUSES = {"filled", "canceled", "expired", "replaced", "rejected"}
# Open, but not matched against prices (parked, under review, or done for the session).
NOT_MATCHED = {"held", "pending_review", "suspended", "done_for_day", "calculated"}


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


@attrs.define
class FakeOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    type: str
    time_in_force: str
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: str = "accepted"
    filled_qty: Decimal = ZERO
    filled_avg_price: Decimal | None = None
    updated_at: datetime | None = None
    triggered: bool = False  # a stop whose price was reached
    commission: Decimal = ZERO  # cumulative, what the venue charged the order so far
    order_class: str = ""
    legs: list[FakeOrder] = attrs.field(factory=list, eq=False, repr=False)  # a bracket/oto entry's exits
    parent: FakeOrder | None = attrs.field(default=None, eq=False, repr=False)  # a leg's entry

    @property
    def open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def json(self, *, legs: bool = True) -> dict:
        """As Alpaca shows one order; `legs`: with the exit legs rolled up under a bracket's
        entry (single-order answers, and lists asked with nested=true)."""
        return {
            "id": self.id, "client_order_id": self.client_order_id, "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at), "submitted_at": iso(self.created_at),
            "filled_at": iso(self.updated_at) if self.status == "filled" and self.updated_at else None,
            "expired_at": None, "canceled_at": None, "failed_at": None, "replaced_at": None, "replaced_by": None,
            "replaces": None, "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, self.symbol)), "symbol": self.symbol,
            "asset_class": "us_equity", "notional": None, "qty": number(self.qty), "filled_qty": number(self.filled_qty),
            "filled_avg_price": number(self.filled_avg_price), "order_class": self.order_class, "order_type": self.type,
            "type": self.type, "side": self.side, "time_in_force": self.time_in_force,
            "limit_price": number(self.limit_price), "stop_price": number(self.stop_price), "status": self.status,
            "commission": number(self.commission), "extended_hours": False, "legs": [leg.json() for leg in self.legs] if legs and self.legs else None,
            "trail_percent": None, "trail_price": None, "hwm": None,
        }


class OrderBook:
    def __init__(self, *, now: Callable[[], datetime], notify: Callable[[dict], None]) -> None:
        self.lock = threading.RLock()
        self._now = now
        self._notify = notify
        self.orders: dict[str, FakeOrder] = {}
        self.by_client_id: dict[str, FakeOrder] = {}
        self.activities: list[dict] = []
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (signed qty, avg entry)
        self.prices: dict[str, Decimal] = {}
        self.cash = Decimal("100000")
        self.commission_per_share = ZERO  # charged on every execution, added to the order's commission
        # Asynchronous cancels: a DELETE makes the order pending_cancel; it still trades until
        # finish_cancel (held) or at once (not held, the default).
        self.hold_cancels = False
        # Executions the venue makes as a DELETE arrives (the race every cancel runs): coid -> (qty, price).
        self.fills_on_cancel: dict[str, tuple[Decimal, Decimal]] = {}
        self.held_activities: list[dict] | None = None  # not listed yet while held
        self.execution_ids: dict[str, str] = {}  # FILL activity id -> the execution_id its updates carry

    # --- orders -----------------------------------------------------------------------

    def create(self, *, client_order_id: str, symbol: str, side: str, qty: Decimal, type: str,
               time_in_force: str, limit_price: Decimal | None = None, stop_price: Decimal | None = None,
               status: str = "accepted") -> FakeOrder:
        with self.lock:
            order = FakeOrder(id=str(uuid.uuid4()), client_order_id=client_order_id, symbol=symbol, side=side,
                              qty=qty, type=type, time_in_force=time_in_force, created_at=self._now(),
                              limit_price=limit_price, stop_price=stop_price, status=status)
            self.orders[order.id] = order
            self.by_client_id[client_order_id] = order
            self._tell("new" if status in ("accepted", "new") else status, order)
            return order

    def create_bracket(self, *, client_order_id: str, symbol: str, side: str, qty: Decimal, type: str,
                       time_in_force: str, limit_price: Decimal | None, take_profit: Decimal | None,
                       stop_loss: Decimal | None, stop_loss_limit: Decimal | None = None) -> FakeOrder:
        """The entry (told "new") and its held legs: a take-profit limit and/or a stop-loss stop
        (stop_limit with `stop_loss_limit`), on the other side, for the same quantity."""
        with self.lock:
            order_class = "bracket" if take_profit is not None and stop_loss is not None else "oto"
            entry = self.create(client_order_id=client_order_id, symbol=symbol, side=side, qty=qty, type=type,
                                time_in_force=time_in_force, limit_price=limit_price)
            entry.order_class = order_class
            exit_side = "sell" if side == "buy" else "buy"
            shapes = []
            if take_profit is not None:
                shapes.append({"type": "limit", "limit_price": take_profit})
            if stop_loss is not None:
                shapes.append({"type": "stop_limit" if stop_loss_limit is not None else "stop",
                               "stop_price": stop_loss, "limit_price": stop_loss_limit})
            for shape in shapes:
                leg = FakeOrder(id=str(uuid.uuid4()), client_order_id=str(uuid.uuid4()), symbol=symbol,
                                side=exit_side, qty=qty, time_in_force=time_in_force, created_at=entry.created_at,
                                status="held", order_class=order_class, parent=entry, **shape)
                entry.legs.append(leg)
                self.orders[leg.id] = leg
                self.by_client_id[leg.client_order_id] = leg
            return entry

    def _entry_ended(self, entry: FakeOrder) -> None:
        """The entry filled or ended: its legs work for what filled, or go."""
        for leg in entry.legs:
            if leg.status != "held":
                continue
            if entry.filled_qty > 0:
                leg.qty = entry.filled_qty
                leg.status = "new"
                leg.updated_at = self._now()
                self._tell("new", leg)
            else:
                self.cancel(leg)
        for leg in entry.legs:
            self.match(leg)

    def _leg_ended(self, leg: FakeOrder) -> None:
        """One leg filled or was cancelled: the other is cancelled (one-cancels-other)."""
        if leg.parent is not None:
            for sibling in leg.parent.legs:
                if sibling is not leg and sibling.open:
                    self.cancel(sibling)

    def match(self, order: FakeOrder) -> None:
        with self.lock:
            price = self.prices.get(order.symbol)
            if price is None or not order.open or order.status in NOT_MATCHED:
                return
            if order.type in ("stop", "stop_limit") and not order.triggered:
                reached = price >= order.stop_price if order.side == "buy" else price <= order.stop_price
                if not reached:
                    return
                order.triggered = True
            if order.type in ("limit", "stop_limit"):
                ok = price <= order.limit_price if order.side == "buy" else price >= order.limit_price
                if not ok:
                    return
            self.execute(order, order.qty - order.filled_qty, price)

    def set_price(self, symbol: str, price: Decimal) -> None:
        with self.lock:
            self.prices[symbol] = Decimal(price)
            for order in list(self.orders.values()):
                if order.symbol == symbol:
                    self.match(order)

    def execute(self, order: FakeOrder, qty: Decimal, price: Decimal) -> dict:
        """One execution: order totals, a FILL activity, position and cash, a trade update."""
        with self.lock:
            if not order.open or qty <= 0 or qty > order.qty - order.filled_qty:
                raise ValueError(f"order {order.client_order_id} cannot fill {qty} ({order.status}, "
                                 f"{order.filled_qty} of {order.qty})")
            now = self._now()
            notional = (order.filled_avg_price or ZERO) * order.filled_qty + price * qty
            order.filled_qty += qty
            order.filled_avg_price = notional / order.filled_qty
            # A fill while a cancel is pending leaves it pending (the cancel ends what is left).
            if order.filled_qty == order.qty:
                order.status = "filled"
            elif order.status != "pending_cancel":
                order.status = "partially_filled"
            order.updated_at = now
            commission = (self.commission_per_share * qty).quantize(Decimal("0.01"))
            order.commission += commission
            activity = {
                "id": f"{now.strftime('%Y%m%d%H%M%S%f')[:17]}::{uuid.uuid4()}", "activity_type": "FILL",
                "transaction_time": iso(now), "type": "fill" if order.status == "filled" else "partial_fill",
                "price": number(price), "qty": number(qty), "side": order.side, "symbol": order.symbol,
                "leaves_qty": number(order.qty - order.filled_qty), "order_id": order.id,
                "cum_qty": number(order.filled_qty), "order_status": order.status,
            }
            (self.activities if self.held_activities is None else self.held_activities).append(activity)
            signed = qty if order.side == "buy" else -qty
            total = self._move_position(order.symbol, signed, price)
            self.cash -= signed * price + commission
            execution_id = str(uuid.uuid4())
            self.execution_ids[activity["id"]] = execution_id
            self._tell("fill" if order.status == "filled" else "partial_fill", order, execution_id=execution_id,
                       price=number(price), qty=number(qty), position_qty=number(total))
            if order.status == "filled":
                self._entry_ended(order)
                self._leg_ended(order)
            return activity

    def _move_position(self, symbol: str, signed: Decimal, price: Decimal) -> Decimal:
        held, average = self.positions.get(symbol, (ZERO, ZERO))
        total = held + signed
        if held == 0 or (held > 0) == (signed > 0):
            average = (average * abs(held) + price * abs(signed)) / abs(total) if total else ZERO
        elif (total > 0) != (held > 0) and total != 0:
            average = price  # flipped through zero
        self.positions[symbol] = (total, average)
        return total

    def _execution(self, order: FakeOrder, cum_qty: Decimal) -> dict:
        for activity in self.activities:
            if (activity["activity_type"] == "FILL" and activity["order_id"] == order.id
                    and Decimal(activity["cum_qty"]) == cum_qty):
                return activity
        raise ValueError(f"order {order.client_order_id} has no execution with cum_qty {cum_qty}")

    def _restated_totals(self, order: FakeOrder) -> None:
        mine = [a for a in self.activities if a["activity_type"] == "FILL" and a["order_id"] == order.id]
        order.filled_qty = sum((Decimal(a["qty"]) for a in mine), ZERO)
        notional = sum((Decimal(a["qty"]) * Decimal(a["price"]) for a in mine), ZERO)
        order.filled_avg_price = notional / order.filled_qty if order.filled_qty else None
        order.updated_at = self._now()

    def bust(self, order: FakeOrder, cum_qty: Decimal) -> None:
        """The trade behind one execution is busted: it never happened. The execution leaves the
        FILL activities, the order's totals, the position and cash; told as trade_bust with the
        busted execution's id, qty and price (the order as it now stands)."""
        with self.lock:
            activity = self._execution(order, cum_qty)
            self.activities.remove(activity)
            qty, price = Decimal(activity["qty"]), Decimal(activity["price"])
            signed = qty if order.side == "buy" else -qty
            self._move_position(order.symbol, -signed, price)
            self.cash += signed * price
            self._restated_totals(order)
            self._tell("trade_bust", order, execution_id=self.execution_ids.get(activity["id"]),
                       qty=number(qty), price=number(price))

    def restate(self, order: FakeOrder, cum_qty: Decimal, price: Decimal) -> None:
        """One execution's price is corrected; told as restated with the execution's id, its qty
        and the new price."""
        with self.lock:
            activity = self._execution(order, cum_qty)
            qty, old = Decimal(activity["qty"]), Decimal(activity["price"])
            activity["price"] = number(price)
            signed = qty if order.side == "buy" else -qty
            self.cash -= signed * (price - old)
            self._restated_totals(order)
            self._tell("restated", order, execution_id=self.execution_ids.get(activity["id"]),
                       qty=number(qty), price=number(price))

    def charge_fee(self, *, amount: Decimal, description: str, symbol: str | None = None,
                   order: FakeOrder | None = None, status: str = "executed") -> dict:
        """A FEE activity as Alpaca posts them at the end of the day (REG, TAF, CAT fees): a
        negative net_amount, a date; a symbol and an order id when it names one."""
        with self.lock:
            now = self._now()
            activity = {"id": f"{now.strftime('%Y%m%d%H%M%S%f')[:17]}::{uuid.uuid4()}", "activity_type": "FEE",
                        "date": now.date().isoformat(), "created_at": iso(now), "net_amount": number(-amount),
                        "description": description, "status": status, "symbol": symbol, "qty": None,
                        "per_share_amount": None}
            if order is not None:
                activity["order_id"] = order.id
            self.activities.append(activity)
            self.cash -= amount
            return activity

    def cancel(self, order: FakeOrder) -> bool:
        """The venue's own cancel (or one a client asked for): at once."""
        with self.lock:
            if not order.open:
                return False
            order.status = "canceled"
            order.updated_at = self._now()
            self._tell("canceled", order)
            self._entry_ended(order)
            self._leg_ended(order)
            return True

    def request_cancel(self, order: FakeOrder) -> bool:
        """A client's DELETE, as Alpaca takes it: accepted (pending_cancel, told), ended later;
        until then the order may still fill. Not held: ended before the answer."""
        with self.lock:
            if not order.open:
                return False
            racing = self.fills_on_cancel.pop(order.client_order_id, None)
            if racing is not None:
                self.execute(order, *racing)
                if not order.open:
                    return True  # it filled completely first: the cancel is too late
            if order.status != "pending_cancel":
                order.status = "pending_cancel"
                order.updated_at = self._now()
                self._tell("pending_cancel", order)
            if not self.hold_cancels:
                self.cancel(order)
            return True

    def set_status(self, order: FakeOrder, status: str, *, event: str | None = None) -> None:
        """Any status Alpaca has (or one it may add), told as `event` (default: the status)."""
        with self.lock:
            order.status = status
            order.updated_at = self._now()
            self._tell(event or status, order)

    def expire(self, order: FakeOrder) -> None:
        with self.lock:
            order.status = "expired"
            order.updated_at = self._now()
            self._tell("expired", order)
            self._entry_ended(order)

    def _tell(self, event: str, order: FakeOrder, **extra: object) -> None:
        update = {"event": event, "timestamp": iso(order.updated_at or order.created_at),
                  "execution_id": str(uuid.uuid4()), "order": order.json()}
        update.update({k: v for k, v in extra.items() if v is not None})
        self._notify(update)

    # --- reads ------------------------------------------------------------------------

    def position_rows(self) -> list[dict]:
        with self.lock:
            rows = []
            for symbol, (qty, average) in sorted(self.positions.items()):
                if qty == 0:
                    continue
                price = self.prices.get(symbol, average)
                rows.append({
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "symbol": symbol,
                    "exchange": "NASDAQ", "asset_class": "us_equity", "avg_entry_price": number(average),
                    "qty": number(qty), "qty_available": number(qty), "side": "long" if qty > 0 else "short",
                    "market_value": number(qty * price), "cost_basis": number(qty * average),
                    "unrealized_pl": number((price - average) * qty), "current_price": number(price),
                    "lastday_price": number(price), "change_today": "0",
                })
            return rows
