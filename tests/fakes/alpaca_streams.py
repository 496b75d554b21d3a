"""Loopback websocket servers speaking Alpaca's two streams, for the fake venue.

- TradingStreamServer: JSON in BINARY frames like wss://paper-api.alpaca.markets/stream (Alpaca's
  docs: "the trade_updates stream ... uses binary frames"; alpaca-py json.loads the bytes):
  {"action":"authenticate","data":{"key_id","secret_key"}} -> {"stream":"authorization",...},
  {"action":"listen","data":{"streams":["trade_updates"]}} -> {"stream":"listening",...},
  then {"stream":"trade_updates","data":{...}} pushed by the venue.
- DataStreamServer: msgpack frames like wss://stream.data.alpaca.markets/v2/iex:
  [{"T":"success","msg":"connected"}] on connect, auth, subscribe, then bars "b" and quotes "q"
  (timestamps as msgpack Timestamps). Like Alpaca, it allows ONE connection per key: a second
  one is answered [{"T":"error","code":406,"msg":"connection limit exceeded"}] and closed.

`drop()` closes every connection and refuses new ones (HTTP 503) until `restore()`.
"""

from __future__ import annotations

import asyncio
import http
import json
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import msgpack
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class _LoopbackServer:
    """An asyncio websocket server on 127.0.0.1 (random port) in its own thread."""

    path = "/"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._server = None
        self.port = 0
        self.down = False
        self.connections: set[ServerConnection] = set()
        self.accepted = 0  # handshakes accepted (a reconnect adds one)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def start(self) -> None:
        self._thread.start()
        async def open_server():
            return await serve(self._serve, "127.0.0.1", 0, process_request=self._gate)
        self._server = self.run(open_server())
        self.port = self._server.sockets[0].getsockname()[1]

    def run(self, coroutine, timeout: float = 5.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None:
            async def shut() -> None:
                self._server.close()
                for connection in list(self.connections):
                    await connection.close()
                await self._server.wait_closed()
            self.run(shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()  # an unclosed loop is a ResourceWarning at garbage collection

    def _gate(self, connection: ServerConnection, request):
        if self.down:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "stream down\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        self.accepted += 1
        self.connections.add(connection)
        try:
            await self.session(connection)  # type: ignore[attr-defined]  # each server its protocol
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(connection)

    def drop(self) -> None:
        """Close every connection and refuse new ones until restore()."""
        self.down = True

        async def close_all() -> None:
            for connection in list(self.connections):
                await connection.close(code=1011, reason="dropped by the test")
        self.run(close_all())

    def restore(self) -> None:
        self.down = False

    def live_connections(self) -> int:
        return len(self.connections)


class TradingStreamServer(_LoopbackServer):
    path = "/stream"

    def __init__(self, *, authorized: Callable[[str, str], bool]) -> None:
        super().__init__()
        self._authorized = authorized
        self._listening: set[ServerConnection] = set()
        self._held: list[dict] | None = None  # updates waiting for release() while held

    async def session(self, connection: ServerConnection) -> None:
        async for frame in connection:
            try:
                message = json.loads(frame)
            except ValueError:
                continue
            action = message.get("action")
            data = message.get("data") or {}
            if action in ("authenticate", "auth"):
                ok = self._authorized(str(data.get("key_id")), str(data.get("secret_key")))
                await connection.send(_binary({"stream": "authorization", "data": {
                    "status": "authorized" if ok else "unauthorized", "action": "authenticate"}}))
                if not ok:
                    await connection.close()
                    return
            elif action == "listen":
                streams = list(data.get("streams") or [])
                if "trade_updates" in streams:
                    self._listening.add(connection)
                await connection.send(_binary({"stream": "listening", "data": {"streams": streams}}))
        self._listening.discard(connection)

    def listening(self) -> int:
        return len([c for c in self._listening if c in self.connections])

    def hold(self) -> None:
        """Keep trade updates back (in order) until release()."""
        if self._held is None:
            self._held = []

    def release(self) -> int:
        """Send what was held, in order, and stop holding; returns how many updates."""
        held, self._held = self._held or [], None
        for update in held:
            self.push(update)
        return len(held)

    def push(self, update: dict) -> int:
        """Send one trade update to every listening client; returns how many got it."""
        if self._held is not None:
            self._held.append(update)
            return 0
        text = _binary({"stream": "trade_updates", "data": update})

        async def send() -> int:
            sent = 0
            for connection in list(self._listening):
                try:
                    await connection.send(text)
                    sent += 1
                except ConnectionClosed:
                    self._listening.discard(connection)
            return sent
        if self.down:
            return 0
        return self.run(send())


def _binary(message: dict) -> bytes:
    return json.dumps(message).encode()  # bytes: websockets sends them as a binary frame


def _ts(value: datetime) -> msgpack.Timestamp:
    return msgpack.Timestamp.from_datetime(value)


class DataStreamServer(_LoopbackServer):
    path = "/v2/iex"

    def __init__(self, *, authorized: Callable[[str, str], bool]) -> None:
        super().__init__()
        self._authorized = authorized
        self._bars: dict[ServerConnection, set[str]] = {}
        self._quotes: dict[ServerConnection, set[str]] = {}
        self._by_key: dict[str, ServerConnection] = {}
        self.refused_second_connection = 0
        self.subscribe_messages: list[dict] = []

    async def session(self, connection: ServerConnection) -> None:
        await connection.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        key = None
        try:
            async for frame in connection:
                message = msgpack.unpackb(frame) if isinstance(frame, bytes) else json.loads(frame)
                action = message.get("action")
                if action == "auth":
                    if not self._authorized(str(message.get("key")), str(message.get("secret"))):
                        await connection.send(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
                        await connection.close()
                        return
                    holder = self._by_key.get(str(message.get("key")))
                    if holder is not None and holder in self.connections:
                        self.refused_second_connection += 1
                        await connection.send(msgpack.packb(
                            [{"T": "error", "code": 406, "msg": "connection limit exceeded"}]))
                        await connection.close()
                        return
                    key = str(message.get("key"))
                    self._by_key[key] = connection
                    await connection.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
                elif action in ("subscribe", "unsubscribe"):
                    self.subscribe_messages.append(message)
                    change = set.update if action == "subscribe" else set.difference_update
                    change(self._bars.setdefault(connection, set()), message.get("bars") or [])
                    change(self._quotes.setdefault(connection, set()), message.get("quotes") or [])
                    await connection.send(msgpack.packb([{
                        "T": "subscription", "trades": [], "quotes": sorted(self._quotes[connection]),
                        "bars": sorted(self._bars[connection]), "updatedBars": [], "dailyBars": [],
                        "statuses": [], "lulds": [], "corrections": [], "cancelErrors": []}]))
        finally:
            self._bars.pop(connection, None)
            self._quotes.pop(connection, None)
            if key is not None and self._by_key.get(key) is connection:
                del self._by_key[key]

    def subscribed_bars(self) -> set[str]:
        return set().union(*self._bars.values()) if self._bars else set()

    def _send_to(self, table: dict[ServerConnection, set[str]], symbol: str, frame: bytes) -> int:
        async def send() -> int:
            sent = 0
            for connection, symbols in list(table.items()):
                if symbol in symbols or "*" in symbols:
                    try:
                        await connection.send(frame)
                        sent += 1
                    except ConnectionClosed:
                        pass
            return sent
        return self.run(send())

    def push_bar(self, *, symbol: str, ts: datetime, open: Decimal | float, high: Decimal | float,
                 low: Decimal | float, close: Decimal | float, volume: int | float = 100) -> int:
        """One minute bar (ts = its open time), as Alpaca sends it after the minute closes."""
        frame = msgpack.packb([{"T": "b", "S": symbol, "o": float(open), "h": float(high), "l": float(low),
                                "c": float(close), "v": volume, "t": _ts(ts), "n": 10, "vw": float(close)}])
        return self._send_to(self._bars, symbol, frame)

    def push_raw_bar(self, message: dict) -> int:
        """A bar frame exactly as given (for malformed-message tests)."""
        return self._send_to(self._bars, str(message.get("S")), msgpack.packb([message]))

    def push_quote(self, *, symbol: str, ts: datetime, bid: Decimal | float, ask: Decimal | float) -> int:
        frame = msgpack.packb([{"T": "q", "S": symbol, "bx": "V", "bp": float(bid), "bs": 1, "ax": "V",
                                "ap": float(ask), "as": 1, "t": _ts(ts), "c": ["R"], "z": "C"}])
        return self._send_to(self._quotes, symbol, frame)
