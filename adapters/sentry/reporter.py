"""The ErrorReporter port (application/error_reporting.py) on sentry-sdk 3.

What it sends, and what it never sends:
- release quantshift@<version> and the environment (the command: paper, live, serve, watch, cli),
  so Sentry groups a regression by release and keeps paper apart from real money;
- tags bot, account, client_order_id (and symbol) as the caller gives them or the log context
  of application/log_context.py held where the exception was raised;
- no personal data by default (data_collection: no user, no cookies, no bodies), and every
  event and breadcrumb passes the redactor (application/redaction.py) last, in before_send /
  before_breadcrumb: the exception's message, the local variables of each frame, extra,
  request data and breadcrumbs alike. A redactor that fails drops the event (the SDK's rule).

Only the SDK's plain integrations are on (threads, the excepthook, breadcrumbs from logging):
the auto-enabled ones (Litestar, httpx, ...) would report on their own, a second time, with
request data we never chose to send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.utils import BadDsn, Dsn

from application.log_context import context_of
from application.redaction import Redactor
from domain.errors import ConfigurationError

log = logging.getLogger("quantshift.errors")

# No personal data: no user (nor IP), cookies or request bodies; headers and query strings
# only after the SDK's own deny list (the redactor takes what it leaves).
_NO_PERSONAL_DATA = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_bodies": [],
    "http_headers": {"request": {"mode": "denylist"}},
    "url_query_params": {"mode": "denylist"},
    "gen_ai": {"inputs": False, "outputs": False},
    "mcp": {"inputs": False, "outputs": False},
    "graphql": {"document": False, "variables": False},
    "database_query_data": False,
}


def check_dsn(dsn: str, *, variable: str) -> None:
    """A ConfigurationError naming `variable` unless `dsn` is a DSN the SDK can send to. The
    message never repeats the DSN: it holds the project's key."""
    try:
        Dsn(dsn)
    except (BadDsn, ValueError) as exc:
        raise ConfigurationError(f"{variable}: not a Sentry DSN ({exc}); it looks like "
                                 "https://<public key>@<host>/<project id>, from the project's Client Keys") from None


def start_sentry(*, dsn: str, release: str, environment: str, redactor: Redactor, variable: str,
                 shutdown_seconds: float = 2.0) -> SentryReporter:
    """Initialise the SDK for this process (it is process-wide state) and answer its reporter."""
    check_dsn(dsn, variable=variable)
    sentry_sdk.init(
        dsn=dsn, release=release, environment=environment,
        data_collection=_NO_PERSONAL_DATA,
        auto_enabling_integrations=False,
        integrations=[LoggingIntegration(level=None, event_level=None, breadcrumb_level=logging.INFO),
                      AtexitIntegration(callback=_say_pending)],
        before_send=_redacting(redactor),
        before_breadcrumb=_redacting(redactor),
        # Release health counts sessions per request or process start; errors are what is asked for.
        auto_session_tracking=False,
        shutdown_timeout=shutdown_seconds,
        max_breadcrumbs=50,
    )
    return SentryReporter(shutdown_seconds=shutdown_seconds)


class SentryReporter:
    def __init__(self, *, shutdown_seconds: float = 2.0) -> None:
        self._shutdown_seconds = shutdown_seconds

    def capture(self, exc: BaseException, *, bot: str = "", account: str = "", client_order_id: str = "",
                symbol: str = "", extra: Mapping[str, object] | None = None) -> None:
        try:
            known = context_of(exc)
            given = {"bot": bot, "account": account, "client_order_id": client_order_id, "symbol": symbol}
            tags = {name: value or known.get(name, "") for name, value in given.items()}
            # The SDK queues the event for its background thread: this returns at once.
            sentry_sdk.capture_exception(exc, tags={name: value for name, value in tags.items() if value},
                                         extras=dict(extra or {}))
        except Exception:  # noqa: BLE001 - a report that fails must not add a second failure
            log.warning("the error report to Sentry failed", exc_info=True)

    def flush(self, *, timeout: float = 2.0) -> None:
        try:
            sentry_sdk.flush(timeout=timeout)
        except Exception:  # noqa: BLE001
            log.warning("flushing the error reports to Sentry failed", exc_info=True)


def _redacting(redactor: Redactor) -> Callable[[Any, Any], Any]:
    def redact(item: Any, _hint: Any) -> Any:
        return redactor.data(item)

    return redact


def _say_pending(pending: int, timeout: float) -> None:
    # The SDK's default prints three lines to stderr at exit, which would break a JSON log stream.
    log.warning("sending %d pending error report(s) to Sentry, waiting up to %s s", pending, timeout)
