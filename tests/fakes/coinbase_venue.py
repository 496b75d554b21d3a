"""A loopback fake of Coinbase Advanced Trade for the real coinbase-advanced-py SDK.

    venue = FakeCoinbase.start(tmp_path)      # HTTPS on 127.0.0.1 (trustme CA) + ws://127.0.0.1
    venue.rest_host, venue.ws_url, venue.ca_file, venue.key.name, venue.key.secret
    venue.book.set_price("BTC-USD", "100")     # market orders fill at once at the price
    venue.fault("create_order", "500_after_create")   # script faults (see `fault`)
    venue.push_ticker("BTC-USD", price="100", bid="99.9", ask="100.1")
    venue.stop()

REST speaks enough of /api/v3/brokerage for the SDK; every private request must carry a JWT
signed (ES256) by the test key with kid = key name and uri "METHOD host/path" (else 401).
Every request is recorded (`requests`, `count(op)`), so a test can count order creations.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import attrs
import jwt

from tests.fakes.coinbase_book import LIVE, Book, iso
from tests.fakes.coinbase_keys import TestKey, make_key, make_tls
from tests.fakes.coinbase_routes import Recorded, route
from tests.fakes.coinbase_ws import FakeCoinbaseWebsocket

@attrs.define(kw_only=True)
class Fault:
    kind: str  # 429, 500, 500_after_create, slow_after_create, malformed, malformed_after_create, 401
    times: int = 1
    retry_after: float | None = None  # 429: Retry-After seconds
    reset_in: float | None = None  # 429: x-ratelimit-reset as an epoch this many seconds ahead
    delay: float = 0.0  # slow_after_create: seconds before answering


class FakeCoinbase:
    def __init__(self, directory: Path, *, now: Callable[[], datetime] | None = None,
                 heartbeat_interval: float | None = 1.0) -> None:
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.key: TestKey = make_key()
        self.tls = make_tls(directory)
        self.book = Book(now=self.now)
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[Fault]] = {}
        self.duplicate_mode = "existing"  # or "error": a duplicate client_order_id answers success:false
        self.permissions = {"can_view": True, "can_trade": True, "can_transfer": False,
                            "portfolio_uuid": "portfolio-1", "portfolio_type": "DEFAULT"}
        self._lock = threading.Lock()
        self.ws = FakeCoinbaseWebsocket(key_name=self.key.name, public_pem=self.key.public_pem, now=self.now,
                                        snapshot=self._open_orders_ws, heartbeat_interval=heartbeat_interval)
        self.book.publish = lambda rows: self.ws.publish("user", [{"type": "update", "orders": rows}])
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._http.socket = self.tls.server_context.wrap_socket(self._http.socket, server_side=True,
                                                                do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-coinbase-rest", daemon=True)

    @classmethod
    def start(cls, directory: Path | None = None, **options: object) -> FakeCoinbase:
        """A running fake with BTC-USD (price 100) and ETH-USD (price 10), 100,000 USD."""
        venue = cls(Path(directory or tempfile.mkdtemp(prefix="fake-coinbase-")), **options)
        venue.book.add_product("BTC-USD", price=Decimal(100))
        venue.book.add_product("ETH-USD", price=Decimal(10), base_increment="0.0001", base_min_size="0.001")
        venue.book.set_balance("USD", "100000")
        venue._thread.start()
        venue.ws.start()
        return venue

    def stop(self) -> None:
        self.ws.stop()
        self._http.shutdown()
        self._http.server_close()

    @property
    def rest_host(self) -> str:
        return f"127.0.0.1:{self._http.server_address[1]}"

    @property
    def ws_url(self) -> str:
        return self.ws.url

    @property
    def ca_file(self) -> str:
        return self.tls.ca_file

    # Test controls.

    def fault(self, op: str, kind: str, **options: object) -> None:
        """The next request(s) of `op` (create_order, cancel, list_orders, get_order, fills, accounts,
        products, product, candles, time, key_permissions, best_bid_ask) meet `kind`:
        "429" (retry_after= or reset_in=), "500", "malformed", "401"; for create_order also
        "500_after_create", "slow_after_create" (delay=), "malformed_after_create"."""
        with self._lock:
            self.faults.setdefault(op, []).append(Fault(kind=kind, **options))

    def count(self, op: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.op == op)

    def orders_with(self, client_order_id: str) -> int:
        with self.book.lock:
            return sum(1 for o in self.book.orders.values() if o.client_order_id == client_order_id)

    def enable_perpetuals(self, rate: str = "0.0001") -> None:
        self.book.add_product(
            "BTC-PERP-INTX", price=Decimal(100), product_type="FUTURE",
            future_product_details={"contract_expiry_type": "PERPETUAL", "venue": "INTX",
                                    "perpetual_details": {"funding_rate": rate, "funding_time": iso(self.now()),
                                                          "open_interest": "1", "max_leverage": "10"}})
        self.book.products["BTC-PERP-INTX"]["base_currency_id"] = "BTC"

    def add_foreign_order(self, *, client_order_id: str, product_id: str = "BTC-USD", size: str = "1",
                          limit: str = "1") -> str:
        """An order placed elsewhere (another app, the web UI): resting limit buy."""
        order = self.book.create(client_order_id=client_order_id, product_id=product_id, side="BUY",
                                 configuration={"limit_limit_gtc": {"base_size": size, "limit_price": limit,
                                                                    "post_only": False}})
        assert not isinstance(order, str), order
        return order.order_id

    def add_rest_candle(self, product_id: str, *, granularity: str, start: datetime, open: str, high: str, low: str,
                        close: str, volume: str) -> None:
        """A candle the REST candles endpoint serves (the venue's history, e.g. for the time a
        websocket was down). The venue also serves a candle still forming, as Coinbase does."""
        with self.book.lock:
            self.book.candles.setdefault((product_id, granularity), {})[int(start.timestamp())] = {
                "start": str(int(start.timestamp())), "open": open, "high": high, "low": low, "close": close,
                "volume": volume}

    def push_ticker(self, product_id: str, *, price: str, bid: str, ask: str) -> None:
        self.ws.publish_sync("ticker", [{"type": "update", "tickers": [{
            "type": "ticker", "product_id": product_id, "price": price, "best_bid": bid, "best_ask": ask,
            "volume_24_h": "1", "best_bid_quantity": "1", "best_ask_quantity": "1"}]}], product=product_id)

    def push_candle(self, product_id: str, *, start: datetime, open: str, high: str, low: str, close: str,
                    volume: str) -> None:
        self.ws.publish_sync("candles", [{"type": "update", "candles": [{
            "start": str(int(start.timestamp())), "open": open, "high": high, "low": low, "close": close,
            "volume": volume, "product_id": product_id}]}], product=product_id)

    def push_trade(self, product_id: str, *, trade_id: str, price: str, size: str, at: datetime,
                   side: str = "BUY") -> None:
        self.ws.publish_sync("market_trades", [{"type": "update", "trades": [{
            "trade_id": trade_id, "product_id": product_id, "price": price, "size": size, "side": side,
            "time": iso(at)}]}], product=product_id)

    def push_heartbeat(self) -> None:
        """A heartbeat now, with each connection's next heartbeat_counter."""
        self.ws.heartbeat()

    # Internals.

    def _open_orders_ws(self) -> list[dict]:
        with self.book.lock:
            return [o.ws() for o in self.book.orders.values() if o.status in LIVE]

    def take_fault(self, op: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(op)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def authorized(self, method: str, path: str, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            claims = jwt.decode(token, self.key.public_pem, algorithms=["ES256"])
        except jwt.PyJWTError:
            return False
        return kid == self.key.name and claims.get("uri") == f"{method} {self.rest_host}{path}"


def _handler(venue: FakeCoinbase) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            status, payload, headers, delay = route(venue, method, parts.path, query, body,
                                                    self.headers.get("Authorization"))
            if delay:
                time.sleep(delay)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError, OSError):
                pass  # the client gave up (a timeout test)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
