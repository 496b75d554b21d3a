"""Ports of alerting: where alerts are raised (AlertSink) and where they go out (the channels)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from application.alerting.alert import Alert
from application.ports import AlertLevel
from domain.errors import TransientError

if TYPE_CHECKING:
    from application.alerting.channels import Delivery  # channels.py imports this module


@runtime_checkable  # a Notifier that is also a sink gets keyed alerts (bot_alerts.as_sink)
class AlertSink(Protocol):
    def fire(self, alert: Alert) -> None:
        """Raise `alert` (or count one more occurrence of it). Never raises, and never blocks
        the caller for more than a few milliseconds: a trading loop calls it."""
        ...

    def resolve(self, *, key: str, title: str, body: str = "", account: str = "", bot: str = "") -> None:
        """The condition under `key` cleared. Nothing happens when no alert of it is open.
        Never raises, never blocks."""
        ...


class AlertRoute(Protocol):
    """One way out for the dispatcher's notices: the saved channels, the saved e-mail recipients."""

    def deliver(self, alert: Alert, *, now: datetime, link: str) -> Sequence[Delivery]:
        """Send `alert` wherever this route reaches that wants it: one Delivery each (none when
        nothing wants it). Never raises."""
        ...


# channels


class DeliveryFailed(TransientError):
    """A channel did not take an alert (refused, unreachable, timed out). The message names the
    channel's service and what went wrong, never the URL: it holds the channel's secrets."""

    def __init__(self, message: str, *, service: str) -> None:
        super().__init__(message)
        self.service = service


@attrs.frozen(kw_only=True)
class UrlCheck:
    """What the sender made of a channel URL: the service it reaches ("Telegram", "E-Mail")
    and the URL as it may be shown (scheme and host only: "tgram://…", "json://127.0.0.1:8123/…")."""

    service: str
    shown: str


class ChannelSender(Protocol):
    """Sends one message to one channel URL (an Apprise URL, its secrets already resolved)."""

    def send(self, *, url: str, title: str, body: str, level: AlertLevel) -> None:
        """Deliver now, within the sender's time bound. Raises DeliveryFailed naming the service."""
        ...

    def check(self, url: str) -> UrlCheck:
        """Whether the sender knows the URL's service and the URL parses for it: the UrlCheck,
        or ConfigurationError saying what is wrong (never echoing the URL). Sends nothing."""
        ...


class SecretBox(Protocol):
    """Encrypts channel URLs for the store, and decrypts them at send time."""

    def seal(self, plain: str) -> str:
        """`plain` encrypted, as text. Raises ConfigurationError when no key is configured."""
        ...

    def open(self, sealed: str) -> str:
        """What `seal` gave back, decrypted. Raises ConfigurationError when no key is
        configured, or when the key is not the one that sealed it."""
        ...
