"""The fake Coinbase's REST endpoints (/api/v3/brokerage/...), in the venue's wire shapes."""

from __future__ import annotations

import re
import time
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from tests.fakes.coinbase_book import STATUSES, FakeOrder, iso, plain

if TYPE_CHECKING:
    from tests.fakes.coinbase_venue import FakeCoinbase

PREFIX = "/api/v3/brokerage"
GRANULARITY_SECONDS = {"ONE_MINUTE": 60, "FIVE_MINUTE": 300, "FIFTEEN_MINUTE": 900, "THIRTY_MINUTE": 1800,
                       "ONE_HOUR": 3600, "TWO_HOUR": 7200, "SIX_HOUR": 21600, "ONE_DAY": 86400}
Answer = tuple[int, object, dict[str, str], float]


@attrs.frozen(kw_only=True)
class Recorded:
    op: str
    method: str
    path: str
    query: dict
    body: dict | None


def synthetic_candle(start: int, seconds: int) -> dict:
    """Deterministic OHLCV of the candle opening at `start` (unix seconds)."""
    base = Decimal(100 + (start // seconds) % 50)
    return {"start": str(start), "open": plain(base), "high": plain(base + 2), "low": plain(base - 1),
            "close": plain(base + 1), "volume": "10"}


def _op(method: str, path: str) -> str:
    rest = path.removeprefix(PREFIX)
    table = [("GET", r"/time", "time"), ("GET", r"/accounts", "accounts"), ("GET", r"/products", "products"),
             ("GET", r"/products/[^/]+", "product"), ("GET", r"/products/[^/]+/candles", "candles"),
             ("POST", r"/orders", "create_order"), ("POST", r"/orders/batch_cancel", "cancel"),
             ("GET", r"/orders/historical/batch", "list_orders"), ("GET", r"/orders/historical/fills", "fills"),
             ("GET", r"/orders/historical/[^/]+", "get_order"), ("GET", r"/key_permissions", "key_permissions"),
             ("GET", r"/best_bid_ask", "best_bid_ask")]
    for verb, pattern, name in table:
        if verb == method and re.fullmatch(pattern, rest):
            return name
    return "unknown"


def _page(rows: list[dict], query: dict, key: str) -> dict:
    start = int((query.get("cursor") or ["0"])[0] or 0)
    limit = int((query.get("limit") or ["100"])[0])
    chunk = rows[start:start + limit]
    more = start + limit < len(rows)
    return {key: chunk, "has_next": more, "cursor": str(start + limit) if more else ""}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def route(venue: FakeCoinbase, method: str, path: str, query: dict, body: dict | None, auth: str | None) -> Answer:
    op = _op(method, path)
    venue.record(Recorded(op=op, method=method, path=path, query=query, body=body))
    if op == "unknown":
        return 404, {"error": "NOT_FOUND", "message": f"no route {method} {path}"}, {}, 0.0
    if op != "time" and not venue.authorized(method, path, auth):
        return 401, {"error": "UNAUTHENTICATED", "message": "invalid JWT"}, {}, 0.0
    fault = venue.take_fault(op)
    if fault is not None and not fault.kind.endswith("_after_create"):
        if fault.kind == "429":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            if fault.reset_in is not None:
                headers["x-ratelimit-reset"] = f"{time.time() + fault.reset_in:.3f}"
            return 429, {"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}, headers, 0.0
        if fault.kind == "500":
            return 500, {"error": "INTERNAL", "message": "internal error"}, {}, 0.0
        if fault.kind == "401":
            return 401, {"error": "UNAUTHENTICATED", "message": "invalid key"}, {}, 0.0
        if fault.kind == "malformed":
            return 200, b'{"truncated": [', {}, 0.0
    with venue.book.lock:
        answer = _answer(venue, op, path, query, body or {})
    if fault is not None and op == "create_order":
        if fault.kind == "500_after_create":
            return 503, {"error": "UNAVAILABLE", "message": "upstream timeout"}, {}, 0.0
        if fault.kind == "slow_after_create":
            return answer[0], answer[1], answer[2], fault.delay
        if fault.kind == "malformed_after_create":
            return 200, b"<html>502 Bad Gateway</html>", {}, 0.0
    return answer


def _answer(venue: FakeCoinbase, op: str, path: str, query: dict, body: dict) -> Answer:
    book = venue.book
    if op == "time":
        now = venue.now()
        return 200, {"iso": iso(now), "epochSeconds": str(int(now.timestamp())),
                     "epochMillis": str(int(now.timestamp() * 1000))}, {}, 0.0
    if op == "key_permissions":
        return 200, dict(venue.permissions), {}, 0.0
    if op == "accounts":
        rows = [{"uuid": f"acct-{c}", "name": f"{c} Wallet", "currency": c,
                 "available_balance": {"value": plain(a), "currency": c}, "default": True, "active": True,
                 "type": "ACCOUNT_TYPE_CRYPTO" if c != "USD" else "ACCOUNT_TYPE_FIAT", "ready": True,
                 "hold": {"value": plain(h), "currency": c}, "retail_portfolio_id": "portfolio-1"}
                for c, (a, h) in sorted(book.balances.items())]
        page = _page(rows, query, "accounts")
        page["size"] = len(page["accounts"])
        return 200, page, {}, 0.0
    if op == "products":
        rows = list(book.products.values())
        if query.get("product_type"):
            rows = [p for p in rows if p["product_type"] == query["product_type"][0]]
        if query.get("contract_expiry_type"):
            wanted = query["contract_expiry_type"][0]
            rows = [p for p in rows if (p.get("future_product_details") or {}).get("contract_expiry_type") == wanted]
        return 200, {"products": rows, "num_products": len(rows)}, {}, 0.0
    if op == "product":
        product = book.products.get(path.rsplit("/", 1)[1])
        if product is None:
            return 404, {"error": "NOT_FOUND", "message": "ProductID is invalid"}, {}, 0.0
        return 200, product, {}, 0.0
    if op == "candles":
        pid = path.split("/")[-2]
        if pid not in book.products:
            return 404, {"error": "NOT_FOUND", "message": "ProductID is invalid"}, {}, 0.0
        seconds = GRANULARITY_SECONDS.get((query.get("granularity") or [""])[0])
        if seconds is None:
            return 400, {"error": "INVALID_ARGUMENT", "message": "bad granularity"}, {}, 0.0
        start, end = int(query["start"][0]), int(query["end"][0])
        first = -(-start // seconds) * seconds
        starts = list(range(first, end + 1, seconds))
        if len(starts) > 350:
            return 400, {"error": "INVALID_ARGUMENT",
                         "message": "number of candles requested should be less than 350"}, {}, 0.0
        recorded = book.candles.get((pid, query["granularity"][0]))
        if recorded is not None:  # the venue's history as the test wrote it (no trade: no candle)
            rows = [dict(recorded[s]) for s in reversed(starts) if s in recorded]
        else:
            rows = [synthetic_candle(s, seconds) for s in reversed(starts)]
        return 200, {"candles": rows}, {}, 0.0
    if op == "best_bid_ask":
        books = [{"product_id": pid, "bids": [{"price": plain(book.prices[pid] - Decimal("0.1")), "size": "1"}],
                  "asks": [{"price": plain(book.prices[pid] + Decimal("0.1")), "size": "1"}], "time": iso(venue.now())}
                 for pid in query.get("product_ids", []) if pid in book.prices]
        return 200, {"pricebooks": books}, {}, 0.0
    if op == "create_order":
        return _create(venue, body)
    if op == "cancel":
        # Accepted is not done: the order goes CANCEL_QUEUED and may still fill (see Book.cancel).
        results = []
        for oid in body.get("order_ids") or []:
            failure = book.cancel(oid)
            results.append({"success": not failure, "failure_reason": failure or "UNKNOWN_CANCEL_FAILURE_REASON",
                            "order_id": oid})
        return 200, {"results": results}, {}, 0.0
    if op == "get_order":
        order = book.orders.get(path.rsplit("/", 1)[1])
        if order is None:
            return 404, {"error": "NOT_FOUND", "message": "order not found"}, {}, 0.0
        return 200, {"order": order.rest()}, {}, 0.0
    if op == "list_orders":
        orders: list[FakeOrder] = list(reversed(book.orders.values()))  # newest first
        if query.get("order_ids"):
            orders = [o for o in orders if o.order_id in query["order_ids"]]
        if query.get("product_ids"):
            orders = [o for o in orders if o.product_id in query["product_ids"]]
        if query.get("order_status"):
            # A repeated parameter (order_status=OPEN&order_status=QUEUED); each value must be a status.
            for value in query["order_status"]:
                if value not in STATUSES:
                    return 400, {"error": "INVALID_ARGUMENT", "error_details": "",
                                 "message": f'parsing list "order_status": "{value}" is not a valid value'}, {}, 0.0
            orders = [o for o in orders if o.status in query["order_status"]]
        if query.get("start_date"):
            since = _when(query["start_date"][0])
            orders = [o for o in orders if o.created >= since or (o.last_fill and o.last_fill >= since)]
        page = _page([o.rest() for o in orders], query, "orders")
        page["sequence"] = "0"
        return 200, page, {}, 0.0
    if op == "fills":
        fills = list(reversed(book.fills))  # newest first
        if query.get("order_ids"):
            fills = [f for f in fills if f["order_id"] in query["order_ids"]]
        if query.get("product_ids"):
            fills = [f for f in fills if f["product_id"] in query["product_ids"]]
        if query.get("start_sequence_timestamp"):
            since = _when(query["start_sequence_timestamp"][0])
            fills = [f for f in fills if _when(f["trade_time"]) >= since]
        return 200, _page(fills, query, "fills"), {}, 0.0
    return 404, {"error": "NOT_FOUND"}, {}, 0.0


def _create(venue: FakeCoinbase, body: dict) -> Answer:
    book = venue.book
    client_order_id = str(body.get("client_order_id") or "")
    existing = book.by_client_id(client_order_id) if client_order_id else None
    if existing is not None:
        if venue.duplicate_mode == "existing":
            return 200, {"success": True, "success_response": {
                "order_id": existing.order_id, "product_id": existing.product_id, "side": existing.side,
                "client_order_id": client_order_id}}, {}, 0.0
        return 200, _failure("DUPLICATE_CLIENT_ORDER_ID", "an order with this client_order_id exists"), {}, 0.0
    result = book.create(client_order_id=client_order_id, product_id=str(body.get("product_id")),
                         side=str(body.get("side")), configuration=body.get("order_configuration") or {})
    if isinstance(result, str):
        return 200, _failure(result, result.replace("_", " ").lower()), {}, 0.0
    return 200, {"success": True, "success_response": {
        "order_id": result.order_id, "product_id": result.product_id, "side": result.side,
        "client_order_id": client_order_id}, "order_configuration": {result.kind: result.config}}, {}, 0.0


def _failure(error: str, message: str) -> dict:
    return {"success": False, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
            "error_response": {"error": error, "message": message, "error_details": "",
                               "preview_failure_reason": f"PREVIEW_{error}",
                               "new_order_failure_reason": "UNKNOWN_FAILURE_REASON"}}


