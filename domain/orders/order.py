"""Orders and their one explicit state machine.

Every status change goes through `Order.transition`, checked against `_TRANSITIONS`.
Late or replayed venue events that would move an order backwards are illegal
transitions; the application ignores and logs them (never applies them).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from decimal import Decimal

import attrs

from domain.errors import IllegalTransition
from domain.numbers import ZERO


class OrderSide(enum.Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(enum.Enum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"  # elected like a stop, then a limit order (no fill beyond the limit)


class OrderStatus(enum.Enum):
    INITIALIZED = "initialized"  # intent committed to the store, not yet sent
    DENIED = "denied"  # refused by our own risk engine; never sent
    SUBMITTED = "submitted"  # sent; the venue has not answered yet
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Still able to trade: counts as pending for the one-order-per-symbol rule."""
        return not self.is_terminal


_S = OrderStatus
_TERMINAL = frozenset({_S.DENIED, _S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED})

# From -> the statuses it may move to. A fill may arrive before the ack (venues do
# that), so SUBMITTED may go straight to PARTIALLY_FILLED or FILLED.
_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.INITIALIZED: frozenset({_S.SUBMITTED, _S.DENIED, _S.REJECTED, _S.CANCELLED}),
    _S.SUBMITTED: frozenset(
        {_S.ACCEPTED, _S.REJECTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED, _S.PENDING_CANCEL}
    ),
    # A venue may still reject an order it acknowledged (Alpaca: "rare occasions, decided by
    # the exchanges"; Coinbase: FAILED after OPEN).
    _S.ACCEPTED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED, _S.EXPIRED, _S.REJECTED}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.PENDING_CANCEL, _S.CANCELLED, _S.EXPIRED}
    ),
    _S.PENDING_CANCEL: frozenset({_S.CANCELLED, _S.PARTIALLY_FILLED, _S.FILLED, _S.EXPIRED}),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in _TRANSITIONS.get(current, frozenset())


def client_order_id_for(
    *, account: str, bot: str, strategy: str, symbol: str, side: OrderSide, signal_ts: datetime
) -> str:
    """Deterministic id of one trading intent.

    The same (account, bot, strategy, symbol, side, signal bar) always gives the
    same id, so a repeated signal can never become a second order: the store's
    unique key and the venue's idempotency both see the same id.
    """
    key = "|".join((account, bot, strategy, symbol, side.value, signal_ts.isoformat()))
    return "qs-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@attrs.define(kw_only=True)
class Order:
    client_order_id: str
    account: str
    bot: str
    strategy: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    created_at: datetime
    signal_ts: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    status: OrderStatus = OrderStatus.INITIALIZED
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    venue_order_id: str | None = None
    reason: str = ""
    updated_at: datetime | None = None
    submitted_at: datetime | None = None

    def __attrs_post_init__(self) -> None:
        if not self.quantity.is_finite() or self.quantity <= 0:
            raise ValueError(f"order quantity must be positive, got {self.quantity}")
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit order needs a limit_price")
        if self.order_type is OrderType.STOP and self.stop_price is None:
            raise ValueError("a stop order needs a stop_price")
        if self.order_type is OrderType.STOP_LIMIT and (self.stop_price is None or self.limit_price is None):
            raise ValueError("a stop-limit order needs a stop_price and a limit_price")
        for name in ("limit_price", "stop_price"):
            price = getattr(self, name)
            if price is not None and (not price.is_finite() or price <= 0):
                raise ValueError(f"{name} must be positive, got {price}")

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def transition(self, target: OrderStatus, *, at: datetime, reason: str = "") -> None:
        if not can_transition(self.status, target):
            raise IllegalTransition(
                f"order {self.client_order_id}: {self.status.value} -> {target.value} is not allowed"
            )
        self.status = target
        self.updated_at = at
        if target is OrderStatus.SUBMITTED:
            self.submitted_at = at
        if reason:
            self.reason = reason

    def apply_fill(self, *, quantity: Decimal, price: Decimal, at: datetime) -> str:
        """Add an execution the venue reports, whatever our copy of the order says.

        A fill is a fact: venues cancel asynchronously (Coinbase's CANCEL_QUEUED, Alpaca's
        REST read-back ahead of its trade stream), so a fill can follow our CANCELLED, and a
        venue may fill more than we think (an order replaced at the venue). The quantity is
        always added. An open order moves to PARTIALLY_FILLED or FILLED through the table; a
        cancelled, expired or rejected one, or one whose cancel is pending, keeps its status
        unless the fill completes it (then the cancel never took effect: FILLED). Returns a
        note for the audit trail: "" for an ordinary fill, else what was unusual about it.
        """
        if not quantity.is_finite() or quantity <= 0:
            raise ValueError(f"order {self.client_order_id}: fill quantity must be positive, got {quantity}")
        if self.status is OrderStatus.INITIALIZED:
            self.transition(OrderStatus.SUBMITTED, at=at)
        previous = self.status
        filled = self.filled_quantity + quantity
        note = ""
        if filled > self.quantity:
            note = f"overfill: the venue filled {filled} of an order for {self.quantity}"
        elif previous.is_terminal and previous is not OrderStatus.FILLED:
            note = f"fill after the order was {previous.value}"
        if previous is OrderStatus.PENDING_CANCEL and filled < self.quantity:
            pass  # our cancel request still stands: the venue's answer ends the order
        elif not previous.is_terminal:
            self.transition(OrderStatus.FILLED if filled >= self.quantity else OrderStatus.PARTIALLY_FILLED, at=at)
        elif filled >= self.quantity and previous is not OrderStatus.FILLED:
            # Outside the table on purpose: only a venue fact may move a terminal order, and only to FILLED.
            self.status = OrderStatus.FILLED
        self.updated_at = at
        previous_notional = (self.average_fill_price or ZERO) * self.filled_quantity
        self.average_fill_price = (previous_notional + price * quantity) / filled
        self.filled_quantity = filled
        return note

    def restate_fills(self, *, filled_quantity: Decimal, average_fill_price: Decimal | None, at: datetime) -> None:
        """The venue corrected (or busted) a fill of this order after the fact: its filled
        quantity and average price are what the corrected fills add up to. The status stays
        (the venue tells a status change of its own; a busted fill does not reopen an order)."""
        if not filled_quantity.is_finite() or filled_quantity < 0:
            raise ValueError(f"order {self.client_order_id}: filled quantity must be >= 0, got {filled_quantity}")
        self.filled_quantity = filled_quantity
        self.average_fill_price = average_fill_price if filled_quantity > 0 else None
        self.updated_at = at
