"""A ChannelSender that keeps what it was asked to send, and fails or stalls where told."""

from __future__ import annotations

import threading
import time

import attrs

from application.alerting.ports import DeliveryFailed, UrlCheck
from application.ports import AlertLevel
from domain.errors import ConfigurationError


@attrs.frozen(kw_only=True)
class Sent:
    url: str
    title: str
    body: str
    level: AlertLevel
    at: float  # time.monotonic() when send began


class RecordingChannelSender:
    """Every URL is "known" (shown as its scheme) unless it starts with "bad"; a URL in
    `failing` raises DeliveryFailed, one in `slow` sleeps that many seconds first."""

    def __init__(self, *, failing: set[str] | None = None, slow: dict[str, float] | None = None) -> None:
        self.failing = failing or set()
        self.slow = slow or {}
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def send(self, *, url: str, title: str, body: str, level: AlertLevel) -> None:
        began = time.monotonic()
        time.sleep(self.slow.get(url, 0.0))
        if url in self.failing:
            raise DeliveryFailed("fake: refused", service="fake")
        with self._lock:
            self.sent.append(Sent(url=url, title=title, body=body, level=level, at=began))

    def check(self, url: str) -> UrlCheck:
        scheme, separator, _ = url.partition("://")
        if not separator or scheme.startswith("bad"):
            raise ConfigurationError("url: fake sender does not know it")
        return UrlCheck(service=scheme, shown=f"{scheme}://…")

    def urls(self) -> list[str]:
        with self._lock:
            return [s.url for s in self.sent]
