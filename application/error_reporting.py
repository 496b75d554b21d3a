"""The port unexpected exceptions are reported through (an error tracker such as Sentry:
adapters/sentry), so the code that catches them never imports the tracker's SDK.

Only defects go here: an exception nobody expected (a strategy raising, a bug reaching the
CLI or the API's 500). Errors the caller must act on by the hierarchy of domain/errors.py
(a bad configuration, a venue rejection, a store outage) are answered, not reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ErrorReporter(Protocol):
    def capture(self, exc: BaseException, *, bot: str = "", account: str = "", client_order_id: str = "",
                symbol: str = "", extra: Mapping[str, object] | None = None) -> None:
        """Report `exc` with the given tags (empty: those of the log context it was raised in)
        and `extra` (what else says where: the request's method and path). Never raises and
        never blocks the caller for long: the report is sent in the background."""
        ...

    def flush(self, *, timeout: float = 2.0) -> None:
        """Send what is still queued, waiting at most `timeout` seconds (before a process exits)."""
        ...


class NoErrorReporter:
    """The default: no error tracker configured, nothing is reported."""

    def capture(self, exc: BaseException, *, bot: str = "", account: str = "", client_order_id: str = "",
                symbol: str = "", extra: Mapping[str, object] | None = None) -> None:
        return None

    def flush(self, *, timeout: float = 2.0) -> None:
        return None
