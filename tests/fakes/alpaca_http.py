"""The fake Alpaca's HTTP routes (trading API v2 and market data v2), for FakeAlpaca."""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

if TYPE_CHECKING:
    from tests.fakes.alpaca_venue import FakeAlpaca

_ORDER_TYPES = {"market", "limit", "stop", "stop_limit"}


@attrs.frozen
class RecordedRequest:
    method: str
    path: str
    query: dict
    body: object
    at: float  # wall clock (time.time()) when the request arrived


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)  # the SDK sends naive UTC


def handler_for(fake: FakeAlpaca) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet in tests
            return None

        def _send(self, status: int, body: object = None, *, raw: bytes | None = None,
                  headers: dict | None = None) -> None:
            data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            text = self.rfile.read(length).decode() if length else ""
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = text
            fake.requests.append(_record(method, path, query, body))
            if not fake._authorized(self.headers.get("APCA-API-KEY-ID", ""),
                                    self.headers.get("APCA-API-SECRET-KEY", "")):
                return self._send(401, {"code": 40110000, "message": "request is not authorized"})
            fault = fake.take_fault(method, path, ("rate_limit", "error"))
            if fault is not None and fault.kind == "rate_limit":
                reset = math.ceil(time.time() + fault.reset_in)
                return self._send(429, {"code": 42910000, "message": "rate limit exceeded"}, headers={
                    "X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
            if fault is not None:
                return self._send(fault.status, {"code": 50010000, "message": "internal server error"})
            delay = fake.take_fault(method, path, ("delay",))
            if delay is not None:
                time.sleep(delay.seconds)  # then answers as usual
            if method != "POST" or path != "/v2/orders":
                malformed = fake.take_fault(method, path, ("malformed",))
                if malformed is not None:
                    return self._send(200, raw=b'{"id": "truncated', headers={})
            route = _ROUTES.get((method, path))
            if route is not None:
                return route(self, query, body)
            if method == "GET" and path.startswith("/v2/orders/"):
                return self._order_by_id(path.rsplit("/", 1)[1])
            if method == "DELETE" and path.startswith("/v2/orders/"):
                return self._cancel(path.rsplit("/", 1)[1])
            if method == "GET" and path.startswith("/v2/assets/"):
                asset = fake.assets.get(unquote(path.removeprefix("/v2/assets/")))
                if asset is None:
                    return self._send(404, {"code": 40410000, "message": "asset not found"})
                return self._send(200, asset)
            return self._send(404, {"code": 40410000, "message": f"no route {method} {path}"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        # --- routes ---------------------------------------------------------------

        def submit(self, query: dict, body: object) -> None:
            if not isinstance(body, dict):
                return self._send(400, {"code": 40010000, "message": "request body format is invalid"})
            reject = fake.take_fault("POST", "/v2/orders", ("reject",))
            if reject is not None:
                return self._send(reject.status, {"code": 40310000, "message": reject.message})
            symbol = str(body.get("symbol"))
            if symbol not in fake.assets:
                return self._send(422, {"code": 40010001, "message": f'asset "{symbol}" not found'})
            try:
                qty = Decimal(str(body["qty"]))
                limit = None if body.get("limit_price") is None else Decimal(str(body["limit_price"]))
                stop = None if body.get("stop_price") is None else Decimal(str(body["stop_price"]))
            except (KeyError, InvalidOperation):
                return self._send(422, {"code": 40010001, "message": "invalid qty or price"})
            kind = body.get("type")
            if kind not in _ORDER_TYPES or body.get("side") not in ("buy", "sell") or qty <= 0:
                return self._send(422, {"code": 40010001, "message": "invalid order"})
            coid = str(body.get("client_order_id") or "")
            order_class = body.get("order_class") or "simple"
            if order_class not in ("simple", "bracket", "oto"):
                return self._send(422, {"code": 40010001, "message": f"invalid order_class {order_class!r}"})
            exits = None
            if order_class != "simple":
                exits = _exits(body, order_class=order_class, kind=kind, side=body["side"],
                               base=limit if kind == "limit" else fake.book.prices.get(symbol))
                if isinstance(exits, str):
                    return self._send(422, {"code": 42210000, "message": exits})
            with fake.book.lock:
                if coid and coid in fake.book.by_client_id:
                    return self._send(422, {"code": 40010001, "message": "client_order_id must be unique"})
                if exits is None:
                    order = fake.book.create(client_order_id=coid or str(uuid.uuid4()), symbol=symbol,
                                             side=body["side"], qty=qty, type=kind,
                                             time_in_force=str(body.get("time_in_force")), limit_price=limit,
                                             stop_price=stop, status=fake.take_next_status())
                else:
                    order = fake.book.create_bracket(client_order_id=coid or str(uuid.uuid4()), symbol=symbol,
                                                     side=body["side"], qty=qty, type=kind,
                                                     time_in_force=str(body.get("time_in_force")),
                                                     limit_price=limit, **exits)
                answer = order.json()  # as Alpaca: the answer shows the order as accepted
            fake.book.match(order)
            after = fake.take_fault("POST", "/v2/orders", ("error_after_create", "slow_after_create", "malformed"))
            if after is not None and after.kind == "error_after_create":
                return self._send(after.status, {"code": 50010000, "message": "internal server error"})
            if after is not None and after.kind == "malformed":
                return self._send(200, raw=b'{"id": "' + order.id.encode() + b'", "status": ')
            if after is not None and after.kind == "slow_after_create":
                time.sleep(after.seconds)
            return self._send(200, answer)

        def list_orders(self, query: dict, body: object) -> None:
            """Alpaca's GET /v2/orders: status open|closed|all, limit (default 50, at most 500),
            direction by submission time (default desc; ties in no particular order), after and
            until (both exclusive, on the submission time), nested (legs under their entry
            instead of listed on their own)."""
            status = query.get("status", "open")
            limit = int(query.get("limit", 50))
            direction = query.get("direction", "desc")
            if status not in ("open", "closed", "all") or direction not in ("asc", "desc") or not 0 < limit <= 500:
                return self._send(422, {"code": 40010001, "message": "invalid status, direction or limit (max 500)"})
            after = _parse_time(query["after"]) if "after" in query else None
            until = _parse_time(query["until"]) if "until" in query else None
            nested = query.get("nested", "false") == "true"
            with fake.book.lock:
                orders = [o for o in fake.book.orders.values()
                          if (status == "all" or (o.open if status == "open" else not o.open))
                          and (after is None or o.created_at > after) and (until is None or o.created_at < until)
                          and not (nested and o.parent is not None)]
                ties = random.Random(len(orders))
                orders.sort(key=lambda o: (o.created_at, ties.random()), reverse=direction == "desc")
                rows = [o.json(legs=nested) for o in orders[:limit]]
            self._send(200, rows)

        def by_client_id(self, query: dict, body: object) -> None:
            order = fake.book.by_client_id.get(query.get("client_order_id", ""))
            if order is None:
                return self._send(404, {"code": 40410000, "message": "order not found"})
            self._send(200, order.json())

        def _order_by_id(self, order_id: str) -> None:
            order = fake.book.orders.get(order_id)
            if order is None:
                return self._send(404, {"code": 40410000, "message": "order not found"})
            self._send(200, order.json())

        def _cancel(self, order_id: str) -> None:
            order = fake.book.orders.get(order_id)
            if order is None:
                return self._send(404, {"code": 40410000, "message": "order not found"})
            if not fake.book.request_cancel(order):
                return self._send(422, {"code": 42210000, "message": f"order is already in \"{order.status}\" state"})
            self._send(204)

        def positions(self, query: dict, body: object) -> None:
            self._send(200, fake.book.position_rows())

        def account(self, query: dict, body: object) -> None:
            self._send(200, fake.account_json())

        def clock(self, query: dict, body: object) -> None:
            self._send(200, fake.clock_fields)

        def calendar(self, query: dict, body: object) -> None:
            start = date.fromisoformat(query.get("start", "2024-01-01")[:10])
            end = date.fromisoformat(query.get("end", start.isoformat())[:10])
            self._send(200, fake.calendar_json(start, end))

        def activities(self, query: dict, body: object, kind: str = "FILL") -> None:
            page_size = min(int(query.get("page_size", 100)), 100)
            with fake.book.lock:
                rows = [a for a in fake.book.activities if a["activity_type"] == kind]
            if "after" in query:
                after = _parse_time(query["after"])
                rows = [a for a in rows if _activity_time(a) > after]
            if "until" in query:
                until = _parse_time(query["until"])
                rows = [a for a in rows if _activity_time(a) <= until]
            if query.get("direction", "desc") == "desc":
                rows.reverse()
            token = query.get("page_token")
            if token:
                ids = [a["id"] for a in rows]
                rows = rows[ids.index(token) + 1:] if token in ids else []
            self._send(200, rows[:page_size])

        def stock_bars(self, query: dict, body: object) -> None:
            symbols = [s for s in query.get("symbols", "").split(",") if s]
            start = _parse_time(query["start"]) if "start" in query else None
            end = _parse_time(query["end"]) if "end" in query else None
            rows = [(s, b) for s in sorted(symbols) for b in fake.bars.get(s, [])
                    if (start is None or _parse_time(b["t"]) >= start) and (end is None or _parse_time(b["t"]) <= end)]
            offset = int(query.get("page_token") or 0)
            size = min(int(query.get("limit") or 10_000), fake.bars_page_size)
            page = rows[offset:offset + size]
            result: dict[str, list] = {}
            for symbol, bar in page:
                result.setdefault(symbol, []).append(bar)
            more = offset + size < len(rows)
            self._send(200, {"bars": result, "next_page_token": str(offset + size) if more else None,
                             "currency": "USD"})

    _ROUTES = {
        ("POST", "/v2/orders"): Handler.submit,
        ("GET", "/v2/orders"): Handler.list_orders,
        ("GET", "/v2/orders:by_client_order_id"): Handler.by_client_id,
        ("GET", "/v2/positions"): Handler.positions,
        ("GET", "/v2/account"): Handler.account,
        ("GET", "/v2/clock"): Handler.clock,
        ("GET", "/v2/calendar"): Handler.calendar,
        ("GET", "/v2/account/activities/FILL"): Handler.activities,
        ("GET", "/v2/account/activities/FEE"): lambda self, query, body: Handler.activities(self, query, body, "FEE"),
        ("GET", "/v2/stocks/bars"): Handler.stock_bars,
    }
    return Handler


def _exits(body: dict, *, order_class: str, kind: str, side: str, base: Decimal | None) -> dict | str:
    """The legs of a bracket (take_profit and stop_loss) or an oto (one of them), checked as
    Alpaca does against the entry's base price (its limit, else the last price); a str is the
    venue's refusal."""
    if kind not in ("market", "limit"):
        return f"{order_class} orders must be market or limit orders"
    legs = {name: body.get(name) for name in ("take_profit", "stop_loss") if body.get(name) is not None}
    if (order_class == "bracket" and len(legs) != 2) or (order_class == "oto" and len(legs) != 1):
        return f"{order_class} orders need {'take_profit and stop_loss' if order_class == 'bracket' else 'one leg'}"
    try:
        take_profit = Decimal(str(legs["take_profit"]["limit_price"])) if "take_profit" in legs else None
        stop_loss = Decimal(str(legs["stop_loss"]["stop_price"])) if "stop_loss" in legs else None
        stop_limit = legs.get("stop_loss", {}).get("limit_price")
        stop_limit = None if stop_limit is None else Decimal(str(stop_limit))
    except (KeyError, TypeError, AttributeError, InvalidOperation):
        return "invalid take_profit or stop_loss"
    sign = 1 if side == "buy" else -1
    if base is not None:
        if take_profit is not None and sign * (take_profit - base) < Decimal("0.01"):
            return f"take_profit.limit_price must be {'>=' if sign > 0 else '<='} base_price {'+' if sign > 0 else '-'} 0.01"
        if stop_loss is not None and sign * (base - stop_loss) < Decimal("0.01"):
            return f"stop_loss.stop_price must be {'<=' if sign > 0 else '>='} base_price {'-' if sign > 0 else '+'} 0.01"
    return {"take_profit": take_profit, "stop_loss": stop_loss, "stop_loss_limit": stop_limit}


def _activity_time(activity: dict) -> datetime:
    # FILL activities carry a transaction_time; the others (FEE...) a date and created_at.
    return _parse_time(activity.get("transaction_time") or activity.get("created_at") or activity["date"])


def _record(method: str, path: str, query: dict, body: object) -> RecordedRequest:
    return RecordedRequest(method=method, path=path, query=query, body=body, at=time.time())
