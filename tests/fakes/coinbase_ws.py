"""The fake Coinbase websocket: user (JWT-authenticated), ticker, candles, market_trades and
heartbeats channels on ws://127.0.0.1:PORT, served by the websockets library in its own
asyncio loop thread. `drop()` cuts every connection and refuses new ones until `restore()`.

As on Coinbase, every message of a connection (subscription acks, heartbeats, user updates,
market data) carries that connection's `sequence_num`, counted from 0 across all its channels,
and a heartbeats subscription gets one message a second (`heartbeat_interval`) with a
`heartbeat_counter` that goes up by one each time. `lose(n, channel=...)` makes the next n
messages sent (on whichever connection) vanish on their way (their sequence numbers and counters are used up, as when the
venue or the network drops a message): the client sees a gap.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import threading
from collections.abc import Callable
from datetime import datetime

import jwt
import websockets
from websockets.legacy.server import WebSocketServerProtocol

from tests.fakes.coinbase_book import iso


class FakeCoinbaseWebsocket:
    def __init__(self, *, key_name: str, public_pem: bytes, now: Callable[[], datetime],
                 snapshot: Callable[[], list[dict]], heartbeat_interval: float | None = 1.0) -> None:
        self._key_name = key_name
        self._public_pem = public_pem
        self._now = now
        self._snapshot = snapshot  # the user's open orders, sent on subscribe
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-coinbase-ws", daemon=True)
        self._subs: dict[WebSocketServerProtocol, dict[str, set[str]]] = {}
        self._sequences: dict[WebSocketServerProtocol, itertools.count] = {}  # per connection
        self._beats: dict[WebSocketServerProtocol, asyncio.Task] = {}
        self._counters: dict[WebSocketServerProtocol, itertools.count] = {}  # heartbeat_counter per connection
        self.heartbeat_interval: float | None = heartbeat_interval  # None: heartbeats only by push
        self._losses: list[list] = []  # [remaining, channel or None]
        self.lost = 0  # messages lost so far
        self.down = False
        self.connections = 0  # handshakes accepted, over the whole run
        self.auth_failures = 0
        self.subscribe_messages: list[dict] = []
        self._server = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self) -> int:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0, process_request=self._gate)
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def _stop() -> None:
            for beat in self._beats.values():
                beat.cancel()
            self._server.close()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()  # an unclosed loop is a ResourceWarning at garbage collection

    # Test controls.

    def drop(self) -> None:
        """Cut every connection (an abnormal close) and refuse new ones until restore()."""
        self.down = True

        async def _drop() -> None:
            for connection in list(self._subs):
                await connection.close(code=1011, reason="fake venue drops the connection")
            self._subs.clear()
        asyncio.run_coroutine_threadsafe(_drop(), self._loop).result(timeout=10)

    def restore(self) -> None:
        self.down = False

    def lose(self, count: int = 1, *, channel: str | None = None) -> None:
        """The next `count` messages sent (of `channel`, or of any channel; on whichever
        connection) are lost: numbered, never delivered."""
        self._losses.append([count, channel])

    def subscribers(self, channel: str) -> int:
        return sum(1 for subs in list(self._subs.values()) if channel in subs)

    def publish(self, channel: str, events: list[dict], *, product: str | None = None) -> None:
        """Send a message to every connection subscribed to `channel` (and `product`)."""
        if not self._loop.is_running():
            return  # a venue timer (a queued cancel finishing) firing after the fake stopped
        asyncio.run_coroutine_threadsafe(self._publish(channel, events, product), self._loop)

    def heartbeat(self) -> None:
        """One heartbeat now on every heartbeats subscription (besides the periodic ones)."""
        asyncio.run_coroutine_threadsafe(self._beat_all(), self._loop).result(timeout=10)

    def publish_sync(self, channel: str, events: list[dict], *, product: str | None = None) -> None:
        asyncio.run_coroutine_threadsafe(self._publish(channel, events, product), self._loop).result(timeout=10)

    # Internals.

    async def _gate(self, path: str, headers: object):
        if self.down:
            return http.HTTPStatus.SERVICE_UNAVAILABLE, [], b"down\n"
        self.connections += 1
        return None

    async def _publish(self, channel: str, events: list[dict], product: str | None) -> None:
        for connection, subs in list(self._subs.items()):
            products = subs.get(channel)
            if products is None or (product is not None and products and product not in products):
                continue
            await self._send(connection, channel, events)

    async def _send(self, connection: WebSocketServerProtocol, channel: str, events: list[dict]) -> None:
        sequence = self._sequences.setdefault(connection, itertools.count())
        message = {"channel": channel, "client_id": "", "timestamp": iso(self._now()),
                   "sequence_num": next(sequence), "events": events}
        if self._take_loss(channel):
            self.lost += 1
            return
        try:
            await connection.send(json.dumps(message))
        except websockets.ConnectionClosed:
            self._subs.pop(connection, None)

    def _take_loss(self, channel: str) -> bool:
        for loss in self._losses:
            if loss[1] is None or loss[1] == channel:
                loss[0] -= 1
                if loss[0] <= 0:
                    self._losses.remove(loss)
                return True
        return False

    async def _heartbeat(self, connection: WebSocketServerProtocol) -> None:
        counter = self._counters.setdefault(connection, itertools.count(1))
        await self._send(connection, "heartbeats", [{"current_time": iso(self._now()),
                                                    "heartbeat_counter": next(counter)}])

    async def _beat(self, connection: WebSocketServerProtocol) -> None:
        while self.heartbeat_interval is not None and connection in self._subs:
            await self._heartbeat(connection)
            await asyncio.sleep(self.heartbeat_interval)

    async def _beat_all(self) -> None:
        for connection, subs in list(self._subs.items()):
            if "heartbeats" in subs:
                await self._heartbeat(connection)

    async def _handle(self, connection: WebSocketServerProtocol) -> None:
        self._subs[connection] = {}
        try:
            async for raw in connection:
                request = json.loads(raw)
                self.subscribe_messages.append(request)
                channel = request.get("channel")
                if request.get("type") != "subscribe" or not isinstance(channel, str):
                    continue
                if channel == "user" and not self._authorized(request.get("jwt")):
                    self.auth_failures += 1
                    await connection.send(json.dumps({"type": "error", "message": "authentication failure"}))
                    continue
                self._subs[connection].setdefault(channel, set()).update(request.get("product_ids") or [])
                await self._send(connection, "subscriptions", [
                    {"subscriptions": {c: sorted(p) for c, p in self._subs[connection].items()}}])
                if channel == "heartbeats" and connection not in self._beats:
                    self._beats[connection] = asyncio.ensure_future(self._beat(connection))
                if channel == "user":
                    await self._send(connection, "user", [{"type": "snapshot", "orders": self._snapshot()}])
        except websockets.ConnectionClosed:
            pass
        finally:
            self._subs.pop(connection, None)
            self._sequences.pop(connection, None)
            self._counters.pop(connection, None)
            beat = self._beats.pop(connection, None)
            if beat is not None:
                beat.cancel()

    def _authorized(self, token: object) -> bool:
        if not isinstance(token, str):
            return False
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self._public_pem, algorithms=["ES256"])
        except jwt.PyJWTError:
            return False
        return header.get("kid") == self._key_name and claims.get("sub") == self._key_name
