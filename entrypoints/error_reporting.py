"""Error tracking for this process: Sentry when QUANTSHIFT_SENTRY_DSN is set, nothing otherwise.

The SDK keeps its client in process-wide state, so the reporter is the process's too: a
long-running command starts it once (environment = the command: paper, live, serve, watch),
the container hands it to the code that reports (`container.error_reporter()`), and a short
command starts it only when a defect reaches the CLI's error path (environment "cli").
sentry_sdk is imported only when a DSN is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import metadata

import attrs

from application.error_reporting import ErrorReporter, NoErrorReporter
from application.redaction import redactor_from_environment

SENTRY_DSN_VARIABLE = "QUANTSHIFT_SENTRY_DSN"
CLI_ENVIRONMENT = "cli"


@attrs.define
class _ProcessReporting:
    reporter: ErrorReporter = attrs.field(factory=NoErrorReporter)
    environment: str = ""  # "" until started with a DSN


_PROCESS = _ProcessReporting()


def _dsn(environ: Mapping[str, str]) -> str:
    return environ.get(SENTRY_DSN_VARIABLE, "").strip()


def check_error_reporting(environ: Mapping[str, str]) -> None:
    """A bad QUANTSHIFT_SENTRY_DSN refused before a server starts its workers (a ConfigurationError)."""
    if _dsn(environ):
        from adapters.sentry import check_dsn

        check_dsn(_dsn(environ), variable=SENTRY_DSN_VARIABLE)


def start_error_reporting(*, environment: str, environ: Mapping[str, str] | None = None) -> ErrorReporter:
    """The process's reporter, started with Sentry if the DSN is set (once: a second call
    answers the first one's). A bad DSN is a ConfigurationError naming the variable."""
    environ = os.environ if environ is None else environ
    if _PROCESS.environment or not _dsn(environ):
        return _PROCESS.reporter
    from adapters.sentry import start_sentry

    _PROCESS.reporter = start_sentry(dsn=_dsn(environ), release=f"quantshift@{_version()}", environment=environment,
                                     redactor=redactor_from_environment(environ), variable=SENTRY_DSN_VARIABLE)
    _PROCESS.environment = environment
    return _PROCESS.reporter


def process_error_reporter() -> ErrorReporter:
    """What the container provides: Sentry once started, the no-op reporter otherwise."""
    return _PROCESS.reporter


def report_unexpected(exc: BaseException) -> None:
    """A defect that reached the CLI: reported (the tags from where it was raised) and sent
    before the process exits. Never raises: the error being reported is the one to show."""
    try:
        reporter = start_error_reporting(environment=CLI_ENVIRONMENT)
    except Exception:  # noqa: BLE001 - a bad DSN must not hide the defect; the next start names it
        return
    reporter.capture(exc)
    reporter.flush()


def _version() -> str:
    try:
        return metadata.version("quantshift")
    except metadata.PackageNotFoundError:
        return "0+unknown"
