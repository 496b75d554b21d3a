"""One supervised websocket connection through the SDK's WSClient.

The SDK retries a dropped connection a few times (5 tries, seconds apart) and then gives up
for good, and does not retry at all after a clean close from the server. A bot runs for days,
so this wrapper turns the SDK's retry off and supervises the connection itself: a thread
opens it, subscribes, watches it, and on a drop reconnects with exponential backoff (base
`reconnect_backoff`, capped at `max_backoff`) for as long as it runs, then calls
`on_reconnect` so the owner can resync over REST what it missed. `on_disconnect` is called once
per drop, when the supervisor notices it and before any new connection delivers a message, so
the owner can tell what came before the drop from what comes after. close() stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from coinbase.websocket import WSClient

log = logging.getLogger(__name__)


class SupervisedSocket:
    def __init__(
        self,
        *,
        url: str,
        subscriptions: Sequence[tuple[Sequence[str], str]],  # (product ids, channel)
        on_message: Callable[[Mapping], None],
        on_reconnect: Callable[[], None] = lambda: None,
        on_disconnect: Callable[[], None] = lambda: None,
        api_key: str | None = None,
        api_secret: str | None = None,
        timeout: float = 10.0,
        reconnect_backoff: float = 1.0,
        max_backoff: float = 30.0,
        watch_interval: float = 0.05,
        name: str = "coinbase-ws",
    ) -> None:
        self._subscriptions = [(list(products), channel) for products, channel in subscriptions]
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._on_disconnect = on_disconnect
        self._backoff = reconnect_backoff
        self._max_backoff = max(max_backoff, reconnect_backoff)
        self._watch = watch_interval
        self._stop = threading.Event()
        self.connects = 0  # successful connections (the first one included)
        self.received = 0  # messages received (for the health report and tests)
        self.connected = threading.Event()
        self._client = WSClient(api_key=api_key, api_secret=api_secret, base_url=url, timeout=timeout,
                                on_message=self._receive, retry=False)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        client = self._client
        if client.loop is None or client.loop.is_closed():
            return
        try:
            if client.websocket is not None and client.websocket.open:
                client.close()  # closes the socket, stops the SDK's loop and joins its thread
                return
        except Exception as error:  # closing a dying socket: stop the loop below anyway
            log.debug("coinbase websocket close: %s", error)
        if not client.loop.is_closed():
            client.loop.call_soon_threadsafe(client.loop.stop)
            if client.thread is not None:
                client.thread.join(timeout=10)
            client.loop.close()

    def _alive(self) -> bool:
        websocket = self._client.websocket
        return websocket is not None and websocket.open

    def _run(self) -> None:
        delay = self._backoff
        while not self._stop.is_set():
            if self._alive():
                self._stop.wait(self._watch)
                continue
            if self.connected.is_set():
                self.connected.clear()
                self._on_disconnect()
            try:
                self._client.open()
                for products, channel in self._subscriptions:
                    self._client.subscribe(product_ids=products, channels=[channel])
            except Exception as error:  # the SDK raises WSClientException (and AuthenticationError)
                log.warning("coinbase websocket: connect failed (%s); retrying in %.3gs", error, delay)
                self._abandon()  # opened but not (fully) subscribed: start the next attempt afresh
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            delay = self._backoff
            self.connects += 1
            self.connected.set()
            if self.connects > 1:
                self._on_reconnect()

    def _abandon(self) -> None:
        client = self._client
        if not self._alive() or client.loop is None or client.loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(client.close_async(), client.loop).result(timeout=5)
        except Exception as error:  # already dying: the next open() replaces it anyway
            log.debug("coinbase websocket: closing a half-open connection: %s", error)

    def _receive(self, raw: str) -> None:
        # Runs in the SDK's event loop: never raise (it would end the SDK's message handler).
        try:
            message = json.loads(raw)
            if isinstance(message, Mapping):
                self._on_message(message)
        except Exception as error:
            log.warning("coinbase websocket: message dropped (%s)", error)
        finally:
            self.received += 1  # counted once handled: a reader of the count sees its effects
