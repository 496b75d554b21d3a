"""Running an alpaca-py stream in a background thread, and stopping it cleanly.

The SDK's run loop reconnects by itself (exponential backoff with jitter between
`_reconnect_min_backoff` and `_reconnect_max_backoff`); these subclasses only make the
backoff configurable, tell us of every (re)connection once the venue confirms what it will
send us (so what was missed can be read over REST) and close at once on request (the SDK's
own stop waits for a 5 s receive timeout).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.stream import TradingStream

log = logging.getLogger(__name__)


class _Hooks:
    """Mixed into the SDK stream classes (attributes set by `_setup`)."""

    _on_connected: Callable[[], None]
    _confirmed: bool
    _own_loop: asyncio.AbstractEventLoop | None
    connections: int

    def _setup(self, *, reconnect_backoff: float, on_connected: Callable[[], None]) -> None:
        self._reconnect_min_backoff = reconnect_backoff
        self._reconnect_max_backoff = max(reconnect_backoff * 30, reconnect_backoff)
        self._on_connected = on_connected
        self._confirmed = False
        self._own_loop = None
        self._loop_ready = threading.Event()
        self.connections = 0

    async def _run_forever(self) -> None:
        self._own_loop = asyncio.get_running_loop()
        self._loop_ready.set()
        await super()._run_forever()  # type: ignore[misc]

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[misc]
        self.connections += 1
        self._confirmed = False  # this connection's subscription is not confirmed yet

    async def _shutdown(self) -> None:
        await self.stop_ws()  # type: ignore[attr-defined]
        await self.close()  # type: ignore[attr-defined]  # wakes the receive loop at once


class ResyncingTradingStream(_Hooks, TradingStream):
    """The trading stream resyncs once the venue confirms it listens to trade updates, not at
    the connection: an update sent between the connection and the "listening" answer reaches
    nobody, and only a REST read made after that answer is sure to see it."""

    def __init__(self, *, api_key: str, secret_key: str, paper: bool, url: str | None,
                 reconnect_backoff: float, on_connected: Callable[[], None]) -> None:
        TradingStream.__init__(self, api_key, secret_key, paper=paper, raw_data=True, url_override=url)
        self._setup(reconnect_backoff=reconnect_backoff, on_connected=on_connected)

    async def _dispatch(self, msg: dict) -> None:
        if isinstance(msg, dict) and msg.get("stream") == "listening":
            self._on_connected()
        await TradingStream._dispatch(self, msg)


class ReconnectingDataStream(_Hooks, StockDataStream):
    """The data stream tells of a (re)connection once the venue confirms the subscription
    (its first "subscription" message on the connection): a bar is sent only to a confirmed
    subscription, so a REST read made after it sees every bar the stream will not send.

    `on_connected` runs in a worker thread (it reads REST) and is awaited: the bars streamed
    after the confirmation wait in the socket until it returns, so whatever it hands on comes
    before them."""

    def __init__(self, *, api_key: str, secret_key: str, feed: str, url: str | None,
                 reconnect_backoff: float, on_connected: Callable[[], None]) -> None:
        StockDataStream.__init__(self, api_key, secret_key, raw_data=True, feed=DataFeed(feed), url_override=url)
        self._setup(reconnect_backoff=reconnect_backoff, on_connected=on_connected)

    async def _dispatch(self, msg: dict) -> None:
        if isinstance(msg, dict) and msg.get("T") == "subscription" and not self._confirmed:
            self._confirmed = True
            await asyncio.get_running_loop().run_in_executor(None, self._on_connected)
        await StockDataStream._dispatch(self, msg)


StreamWithHooks = ResyncingTradingStream | ReconnectingDataStream
Handler = Callable[[dict], Awaitable[None]]


class StreamThread:
    """One SDK stream in one daemon thread."""

    def __init__(self, *, stream: StreamWithHooks, name: str) -> None:
        self.stream = stream
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    def _run(self) -> None:
        try:
            self.stream.run()
        except Exception:  # noqa: BLE001 - a dying stream thread must say why
            log.exception("alpaca stream thread %s ended with an error", self._thread.name)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self, *, timeout: float = 5.0) -> None:
        if not self._started:
            return
        # Our own close of the socket makes the SDK's loop log "websocket error, restarting" once
        # before it sees that it was told to stop: on a clean stop that line is false, so it is
        # dropped, for this thread only (another stream's real error still shows).
        quiet = _StoppingStream(thread=self._thread.ident)
        for name in _SDK_STREAM_LOGGERS:
            logging.getLogger(name).addFilter(quiet)
        try:
            if self.stream._loop_ready.wait(timeout):
                loop = self.stream._own_loop
                if loop is not None and loop.is_running():
                    try:
                        asyncio.run_coroutine_threadsafe(self.stream._shutdown(), loop).result(timeout)
                    except (RuntimeError, TimeoutError, asyncio.CancelledError) as error:
                        log.warning("alpaca stream %s did not stop cleanly: %s", self._thread.name, error)
            self._thread.join(timeout)
        finally:
            for name in _SDK_STREAM_LOGGERS:
                logging.getLogger(name).removeFilter(quiet)


_SDK_STREAM_LOGGERS = ("alpaca.trading.stream", "alpaca.data.live.websocket")


class _StoppingStream(logging.Filter):
    def __init__(self, *, thread: int | None) -> None:
        super().__init__()
        self._thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.thread == self._thread and "websocket error, restarting" in record.getMessage())
