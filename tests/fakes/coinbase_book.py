"""The fake Coinbase venue's state: products, balances, orders and fills, and the matching.

Prices are set by the test (`set_price`); market orders fill at once at that price; resting
limit and stop-limit orders fill when a new price reaches them. Every order change is handed
to `publish` (the user websocket) in the venue's wire shape.

Cancels are asynchronous, as on Coinbase: a cancel request is accepted with the order going
CANCEL_QUEUED, and the order can still fill until the venue finishes it (`cancel_latency`
seconds later, or when the test calls `finish_cancel` while `hold_cancels` is set): then it is
CANCELLED with its final filled size, or FILLED if it filled completely meanwhile. Orders
below the product's base_min_size or quote_min_size (or above its maxima) are refused with
the venue's preview failure reasons.
"""


from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

import attrs

ZERO = Decimal(0)
# Coinbase's order statuses (List Orders' order_status and the order's `status`).
STATUSES = ("PENDING", "OPEN", "FILLED", "CANCELLED", "EXPIRED", "FAILED", "UNKNOWN_ORDER_STATUS", "QUEUED",
            "CANCEL_QUEUED", "EDIT_QUEUED")
LIVE = ("PENDING", "OPEN", "QUEUED", "CANCEL_QUEUED", "EDIT_QUEUED")  # still able to fill


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != 0 else "0"


@attrs.define
class FakeOrder:
    order_id: str
    client_order_id: str
    product_id: str
    side: str  # BUY / SELL
    kind: str  # market_market_ioc, limit_limit_gtc, sor_limit_ioc, stop_limit_stop_limit_gtc
    config: dict
    size: Decimal
    created: datetime
    limit: Decimal | None = None
    stop: Decimal | None = None
    stop_direction: str = ""
    status: str = "OPEN"
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    last_fill: datetime | None = None
    triggered: bool = False
    cancel_reason: str = ""

    @property
    def average(self) -> Decimal:
        return self.notional / self.filled if self.filled else ZERO

    def rest(self) -> dict:
        order_type = {"market_market_ioc": "MARKET", "limit_limit_gtc": "LIMIT", "sor_limit_ioc": "LIMIT",
                      "stop_limit_stop_limit_gtc": "STOP_LIMIT"}[self.kind]
        return {
            "order_id": self.order_id, "product_id": self.product_id, "user_id": "user-1",
            "order_configuration": {self.kind: self.config}, "side": self.side,
            "client_order_id": self.client_order_id, "status": self.status,
            "time_in_force": "IMMEDIATE_OR_CANCEL" if self.kind in ("market_market_ioc", "sor_limit_ioc")
            else "GOOD_UNTIL_CANCELLED",
            "created_time": iso(self.created), "completion_percentage": plain(self.filled / self.size * 100),
            "filled_size": plain(self.filled), "average_filled_price": plain(self.average),
            "number_of_fills": str(self.fills), "filled_value": plain(self.notional),
            "pending_cancel": self.status == "CANCEL_QUEUED",
            "size_in_quote": False, "total_fees": plain(self.fees), "order_type": order_type,
            "reject_reason": "", "cancel_message": self.cancel_reason, "product_type": "SPOT",
            "last_fill_time": iso(self.last_fill) if self.last_fill else None,
        }

    def ws(self) -> dict:
        return {
            "order_id": self.order_id, "client_order_id": self.client_order_id, "product_id": self.product_id,
            "order_side": self.side, "order_type": self.rest()["order_type"], "status": self.status,
            "cumulative_quantity": plain(self.filled), "leaves_quantity": plain(self.size - self.filled),
            "avg_price": plain(self.average), "total_fees": plain(self.fees), "number_of_fills": str(self.fills),
            "filled_value": plain(self.notional), "creation_time": iso(self.created),
            "cancel_reason": self.cancel_reason, "reject_reason": "", "product_type": "SPOT",
        }


class Book:
    def __init__(self, *, now: Callable[[], datetime], fee_rate: Decimal = Decimal("0.006"),
                 maker_fee_rate: Decimal = Decimal("0.004")) -> None:
        self.now = now
        self.fee_rate = fee_rate  # taker
        self.maker_fee_rate = maker_fee_rate
        self.cancel_latency = 0.02  # seconds from CANCEL_QUEUED to done
        self.hold_cancels = False  # True: cancels stay CANCEL_QUEUED until finish_cancel()
        self.lock = threading.RLock()
        self.products: dict[str, dict] = {}
        self.prices: dict[str, Decimal] = {}
        self.balances: dict[str, list[Decimal]] = {}  # currency -> [available, hold]
        self.orders: dict[str, FakeOrder] = {}  # in creation order
        self.fills: list[dict] = []
        # (product id, granularity) -> candle start (unix seconds) -> wire row. A product and
        # granularity with recorded candles serves only those; any other one synthetic candles.
        self.candles: dict[tuple[str, str], dict[int, dict]] = {}
        self.publish: Callable[[list[dict]], None] = lambda rows: None
        self._trade_ids = itertools.count(1)

    # Setup.

    def add_product(self, product_id: str, *, price: Decimal, base_increment: str = "0.00000001",
                    quote_increment: str = "0.01", base_min_size: str = "0.00000001", quote_min_size: str = "1",
                    **extra: object) -> None:
        base, quote = product_id.split("-", 1)
        with self.lock:
            self.products[product_id] = {
                "product_id": product_id, "price": plain(price), "base_increment": base_increment,
                "quote_increment": quote_increment, "base_min_size": base_min_size, "base_max_size": "1000000",
                "quote_min_size": quote_min_size, "quote_max_size": "10000000", "status": "online", "trading_disabled": False, "is_disabled": False,
                "product_type": "SPOT", "base_currency_id": base, "quote_currency_id": quote.split("-")[0],
                **extra,
            }
            self.prices[product_id] = price

    def set_balance(self, currency: str, available: Decimal | str, hold: Decimal | str = ZERO) -> None:
        with self.lock:
            self.balances[currency] = [Decimal(available), Decimal(hold)]

    def balance(self, currency: str) -> Decimal:
        with self.lock:
            return self.balances.get(currency, [ZERO, ZERO])[0]

    # Orders.

    def create(self, *, client_order_id: str, product_id: str, side: str, configuration: dict) -> FakeOrder | str:
        """The new order, or the failure reason (success:false)."""
        with self.lock:
            product = self.products.get(product_id)
            if product is None:
                return "INVALID_PRODUCT_ID"
            if len(configuration) != 1:
                return "UNSUPPORTED_ORDER_CONFIGURATION"
            kind, config = next(iter(configuration.items()))
            try:
                size = Decimal(config["base_size"])
                limit = Decimal(config["limit_price"]) if "limit_price" in config else None
                stop = Decimal(config["stop_price"]) if "stop_price" in config else None
            except (KeyError, ArithmeticError, TypeError):
                return "INVALID_ORDER_CONFIGURATION"
            if kind not in ("market_market_ioc", "limit_limit_gtc", "sor_limit_ioc", "stop_limit_stop_limit_gtc"):
                return "UNSUPPORTED_ORDER_CONFIGURATION"
            if size <= 0 or size % Decimal(product["base_increment"]) != 0:
                return "INVALID_SIZE_PRECISION"
            if size < Decimal(product["base_min_size"]):
                return "INVALID_BASE_SIZE_TOO_SMALL"
            if size > Decimal(product["base_max_size"]):
                return "INVALID_BASE_SIZE_TOO_LARGE"
            for price in (limit, stop):
                if price is not None and (price <= 0 or price % Decimal(product["quote_increment"]) != 0):
                    return "INVALID_PRICE_PRECISION"
            base, quote = product["base_currency_id"], product["quote_currency_id"]
            reference = limit if limit is not None else self.prices[product_id]
            if size * reference < Decimal(product["quote_min_size"]):
                return "INVALID_QUOTE_SIZE_TOO_SMALL"
            if size * reference > Decimal(product["quote_max_size"]):
                return "INVALID_QUOTE_SIZE_TOO_LARGE"
            if side == "BUY" and self.balance(quote) < size * reference * (1 + self.fee_rate):
                return "INSUFFICIENT_FUND"
            if side == "SELL" and self.balance(base) < size:
                return "INSUFFICIENT_FUND"
            order = FakeOrder(order_id=str(uuid.uuid4()), client_order_id=client_order_id, product_id=product_id,
                              side=side, kind=kind, config=config, size=size, created=self.now(), limit=limit,
                              stop=stop, stop_direction=str(config.get("stop_direction", "")))
            self.orders[order.order_id] = order
            self.publish([order.ws()])
            self._match(order)
            if kind in ("market_market_ioc", "sor_limit_ioc") and order.status == "OPEN":
                order.status = "CANCELLED"  # immediate-or-cancel: the rest is cancelled
                order.cancel_reason = "IOC remainder"
                self.publish([order.ws()])
            return order

    def by_client_id(self, client_order_id: str) -> FakeOrder | None:
        with self.lock:
            return next((o for o in self.orders.values() if o.client_order_id == client_order_id), None)

    def cancel(self, order_id: str) -> str:
        """Take a cancel request: "" when accepted (the order is CANCEL_QUEUED), else the
        venue's failure reason."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order.status in ("CANCELLED", "EXPIRED", "FAILED"):
                return "UNKNOWN_CANCEL_ORDER"
            if order.status == "FILLED":
                return "ORDER_IS_FULLY_FILLED"
            if order.status == "CANCEL_QUEUED":
                return "DUPLICATE_CANCEL_REQUEST"
            if order.status == "EDIT_QUEUED":
                return "ORDER_IS_BEING_REPLACED"
            order.status = "CANCEL_QUEUED"
            self.publish([order.ws()])
            if not self.hold_cancels:
                timer = threading.Timer(self.cancel_latency, self.finish_cancel, args=(order_id,))
                timer.daemon = True
                timer.start()
            return ""

    def finish_cancel(self, order_id: str) -> None:
        """The venue is done with a queued cancel: CANCELLED with what filled meanwhile (an
        order that filled completely meanwhile stays FILLED)."""
        with self.lock:
            order = self.orders[order_id]
            if order.status != "CANCEL_QUEUED":
                return
            order.status = "CANCELLED"
            order.cancel_reason = "User requested cancel"
            self.publish([order.ws()])

    def set_status(self, order_id: str, status: str) -> None:
        """Put an order in any status the venue has (or one it may add: the adapter must cope)."""
        with self.lock:
            order = self.orders[order_id]
            order.status = status
            self.publish([order.ws()])

    def set_price(self, product_id: str, price: Decimal | str) -> None:
        with self.lock:
            self.prices[product_id] = Decimal(price)
            self.products[product_id]["price"] = plain(Decimal(price))
            for order in list(self.orders.values()):
                if order.product_id == product_id and order.status in ("OPEN", "CANCEL_QUEUED"):
                    self._match(order)

    def execute(self, order_id: str, size: Decimal | str, price: Decimal | str, *, maker: bool = False) -> dict:
        """One execution of an open order (partial fills are scripted with this)."""
        with self.lock:
            order = self.orders[order_id]
            size, price = Decimal(size), Decimal(price)
            if order.status not in LIVE or size <= 0 or size > order.size - order.filled:
                raise ValueError(f"order {order_id} cannot fill {size} ({order.status}, {order.filled}/{order.size})")
            product = self.products[order.product_id]
            base, quote = product["base_currency_id"], product["quote_currency_id"]
            notional = size * price
            fee = (notional * (self.maker_fee_rate if maker else self.fee_rate)).quantize(Decimal("0.00000001"))
            at = self.now()
            sign = 1 if order.side == "BUY" else -1
            self.balances.setdefault(base, [ZERO, ZERO])[0] += sign * size
            self.balances.setdefault(quote, [ZERO, ZERO])[0] -= sign * notional + fee
            order.filled += size
            order.notional += notional
            order.fees += fee
            order.fills += 1
            order.last_fill = at
            if order.filled == order.size:
                order.status = "FILLED"
            trade = next(self._trade_ids)
            row = {"entry_id": f"E{trade}", "trade_id": f"T{trade}", "order_id": order_id, "trade_time": iso(at),
                   "trade_type": "FILL", "price": plain(price), "size": plain(size), "commission": plain(fee),
                   "product_id": order.product_id, "sequence_timestamp": iso(at),
                   "liquidity_indicator": "MAKER" if maker else "TAKER", "size_in_quote": False,
                   "user_id": "user-1", "side": order.side}
            self.fills.append(row)
            self.publish([order.ws()])
            return row

    def _match(self, order: FakeOrder) -> None:
        price = self.prices[order.product_id]
        if order.kind == "stop_limit_stop_limit_gtc" and not order.triggered:
            up = order.stop_direction == "STOP_DIRECTION_STOP_UP"
            if (up and price >= order.stop) or (not up and price <= order.stop):
                order.triggered = True
            else:
                return
        if order.limit is not None:
            if (order.side == "BUY" and price > order.limit) or (order.side == "SELL" and price < order.limit):
                return
        self.execute(order.order_id, order.size - order.filled, price, maker=order.kind == "limit_limit_gtc")
