"""Loopback receivers for alerts: an HTTP server (Apprise's json:// webhook, ntfy's HTTP API,
Sentry envelopes, any webhook) and an SMTP server (aiosmtpd), each a context manager that
records what arrived and when, so a test can assert on the content and measure a latency.

    with HttpReceiver() as hook:
        ... send to f"json://127.0.0.1:{hook.port}/alerts" ...
        request = hook.wait_for(1)[0]
        assert request.json()["title"] == ...; latency = request.at - fired_at

    with SmtpReceiver() as smtp:
        ... send to f"mailto://127.0.0.1:{smtp.port}?from=a@x.test&to=b@x.test" ...
        message = smtp.wait_for(1)[0].message

`at` is time.time() on arrival (wall clock, comparable across processes); `monotonic` is
time.monotonic() (for latencies measured inside one process). Both receivers bind
127.0.0.1 on a free port and answer from their own threads; leaving the block stops them.
"""

from __future__ import annotations

import email
import http.server
import json
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from types import TracebackType
from typing import Any, Self

import attrs


@attrs.frozen(kw_only=True)
class HttpRequest:
    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.time() on arrival
    monotonic: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@attrs.frozen(kw_only=True)
class Reply:
    """What the receiver answers: a status, a JSON body, and an optional delay before answering
    (a slow channel)."""

    status: int = 200
    body: Any = attrs.field(factory=dict)
    delay: float = 0.0


class _Recorder:
    """What both receivers share: the list of arrivals and a wait on it."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._items: list[Any] = []

    def _add(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            self._lock.notify_all()

    def _snapshot(self) -> list[Any]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def wait_for(self, count: int = 1, *, timeout: float = 10.0) -> list[Any]:
        """The first `count` arrivals (all of them, if more came), waiting up to `timeout`
        seconds; an AssertionError saying how many came otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{type(self).__name__}: {len(self._items)} of {count} expected "
                                         f"arrivals within {timeout} s")
                self._lock.wait(left)
            return list(self._items)


class HttpReceiver(_Recorder):
    """Records every request (any method, any path) and answers `reply` (or what
    `reply_for(request)` returns, e.g. a 500 for one path)."""

    def __init__(self, *, reply: Reply | None = None,
                 reply_for: Callable[[HttpRequest], Reply | None] | None = None) -> None:
        super().__init__()
        self.reply = reply or Reply()
        self.reply_for = reply_for
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[HttpRequest]:
        return self._snapshot()

    @property
    def port(self) -> int:
        assert self._server is not None, "the receiver is not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = HttpRequest(method=self.command, path=self.path,
                                      headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                                      at=time.time(), monotonic=time.monotonic())
                receiver._add(request)
                reply = (receiver.reply_for(request) if receiver.reply_for else None) or receiver.reply
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting (a timeout under test)
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-receiver", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@attrs.frozen(kw_only=True)
class SmtpMessage:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    at: float  # time.time() on arrival
    monotonic: float


class SmtpReceiver(_Recorder):
    """aiosmtpd on loopback, accepting every message (no login, no TLS)."""

    def __init__(self) -> None:
        super().__init__()
        self._controller: Any = None

    @property
    def messages(self) -> list[SmtpMessage]:
        return self._snapshot()

    @property
    def port(self) -> int:
        assert self._controller is not None, "the receiver is not started"
        return int(self._controller.port)

    def __enter__(self) -> Self:
        from aiosmtpd.controller import Controller  # loaded by the tests that use it

        from tests.support.processes import free_port

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                receiver._add(SmtpMessage(
                    sender=envelope.mail_from, recipients=tuple(envelope.rcpt_tos),
                    message=email.message_from_bytes(envelope.content, policy=default_policy),  # type: ignore[arg-type]
                    at=time.time(), monotonic=time.monotonic()))
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(),
                                      server_hostname="smtp.test", ready_timeout=5)
        self._controller.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._controller is not None:
            self._controller.stop()
