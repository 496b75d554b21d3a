"""Sentry error tracking (sentry-sdk 3): the ErrorReporter port on the SDK, redacted."""

from adapters.sentry.reporter import SentryReporter, check_dsn, start_sentry

__all__ = ["SentryReporter", "check_dsn", "start_sentry"]
