"""What every command shares: settings, the container, and turning errors into messages."""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import click
import typer
from dependency_injector import providers

from application.log_context import context_of
from application.trading.paper_session import ProcessInfo
from domain.errors import ConfigurationError, QuantShiftError, StoreNotFound, StoreUnavailable
from domain.symbols import check_symbol
from entrypoints.container import Container, build_container, build_store
from entrypoints.error_reporting import process_error_reporter, report_unexpected, start_error_reporting
from entrypoints.logging_setup import (
    LOG_FORMAT_VARIABLE,
    LogFormat,
    configure_logging,
    json_logging,
    log_format_from_environment,
    say,
)
from entrypoints.settings import Settings, load_settings

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML file with bots, symbols, strategy parameters, capital, risk limits."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
# Every long-running command (paper, live, serve, watch) takes it: docs/monitoring.md "Structured logs".
LogFormatOption = Annotated[LogFormat, typer.Option(
    "--log-format", envvar=LOG_FORMAT_VARIABLE, case_sensitive=False,
    help="Log lines on stderr: text for a person, or json, one object per line for a log stack (ts, level, "
         "logger, message, and account, bot, symbol, client_order_id where known; from INFO).")]

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_ERROR = 4
EXIT_DEFECT = 1  # what Python exits with on an uncaught exception: a defect, not the user's input

_log = logging.getLogger("quantshift.cli")


def fail(message: str, *, code: int) -> NoReturn:
    if json_logging():
        say(f"error: {message}", level=logging.ERROR)
    else:
        print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def cli_errors(*, environment: str | None = None) -> Iterator[None]:
    """Map our exception hierarchy to a message and an exit code, once. Anything else is a
    defect: logged with its traceback, reported to Sentry when QUANTSHIFT_SENTRY_DSN is set,
    exit 1. `environment`: a long-running command (paper, live, watch) starts error
    reporting here, under that name, and sends what is queued when it ends."""
    try:
        if environment is not None:
            start_error_reporting(environment=environment)
        yield
    except StoreNotFound as exc:
        fail(f"{exc} (QUANTSHIFT_DATABASE_URL, or database_url in the config); nothing was created there. "
             "Check the path: a store is made by the first `quantshift paper` or by `quantshift db upgrade`",
             code=EXIT_STORE)
    except ConfigurationError as exc:
        fail(str(exc), code=EXIT_CONFIG)
    except StoreUnavailable as exc:
        fail(f"the store is unavailable: {exc}", code=EXIT_STORE)
    except QuantShiftError as exc:
        fail(str(exc), code=EXIT_ERROR)
    except KeyboardInterrupt:
        fail("interrupted; the session stopped cleanly", code=130)
    except (typer.Exit, typer.Abort, typer.TyperException, click.exceptions.Exit, click.exceptions.Abort,
            click.ClickException):
        raise  # typer's and click's own exits (fail() above, a command's exit code): no errors
    except Exception as exc:
        _ensure_logging()
        _log.critical("unexpected error (a defect in QuantShift; the traceback follows): %s: %s", type(exc).__name__, exc,
                      exc_info=exc, extra=dict(context_of(exc)))
        report_unexpected(exc)
        raise typer.Exit(EXIT_DEFECT) from None
    finally:
        process_error_reporter().flush()  # a no-op without Sentry


def _ensure_logging() -> None:
    """A short command logs nothing until a defect: then it, too, logs through the redacting
    formatter (QUANTSHIFT_LOG_FORMAT's, text if that is unset or bad), not logging's bare last resort."""
    if not logging.getLogger().handlers:
        try:
            log_format = log_format_from_environment(os.environ)
        except ConfigurationError:
            log_format = LogFormat.TEXT
        configure_logging(log_format=log_format)


def container_for(config: Path | None, *, require_bots: bool = True) -> Container:
    settings: Settings = load_settings(config_file=config, require_bots=require_bots)
    container = build_container(settings)
    return container


def reading_container(config: Path | None) -> Container:
    """For the commands that only read the store (status, trades, audit, db status, ...): the
    store must exist already; a mistyped path is named, never made into a new empty store."""
    container = container_for(config)
    container.store.override(providers.Singleton(build_store, url=container.settings().database_url, create=False))
    return container


def checked_symbol(value: str | None, *, option: str = "--symbol") -> str | None:
    """A symbol typed as an option, by the one rule (domain/symbols.py)."""
    if value is None:
        return None
    try:
        return check_symbol(value)
    except ValueError as exc:
        raise ConfigurationError(f"{option}: {exc}") from None


def process_info() -> ProcessInfo:
    return ProcessInfo(pid=os.getpid(), host=socket.gethostname())


def setup_logging(*, verbose: bool = False, log_format: LogFormat = LogFormat.TEXT) -> None:
    """Log to stderr: text (WARNING and up; INFO with --verbose) or JSON lines (INFO and up),
    secrets cut out (entrypoints/logging_setup.py)."""
    configure_logging(log_format=log_format, verbose=verbose)


def actor() -> str:
    """Who did it, for the audit trail: the OS user and host."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    return f"{user}@{socket.gethostname()}"


Command = Callable[..., None]
