"""An ErrorReporter that keeps what it was asked to report."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from application.log_context import context_of


@attrs.frozen(kw_only=True)
class Report:
    exc: BaseException
    tags: Mapping[str, str]  # as the reporter would send them: given, else the log context's
    extra: Mapping[str, object]


class RecordingReporter:
    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.flushes = 0

    def capture(self, exc: BaseException, *, bot: str = "", account: str = "", client_order_id: str = "",
                symbol: str = "", extra: Mapping[str, object] | None = None) -> None:
        known = context_of(exc)
        given = {"bot": bot, "account": account, "client_order_id": client_order_id, "symbol": symbol}
        self.reports.append(Report(exc=exc, tags={k: v or known.get(k, "") for k, v in given.items()},
                                   extra=dict(extra or {})))

    def flush(self, *, timeout: float = 2.0) -> None:
        self.flushes += 1
