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

import typer
from dependency_injector import providers

from application.trading.paper_session import ProcessInfo
from domain.errors import ConfigurationError, QuantShiftError, StoreNotFound, StoreUnavailable
from domain.symbols import check_symbol
from entrypoints.container import Container, build_container, build_store
from entrypoints.settings import Settings, load_settings

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML file with bots, symbols, strategy parameters, capital, risk limits."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

EXIT_CONFIG = 2
EXIT_STORE = 3
EXIT_ERROR = 4


def fail(message: str, *, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Map our exception hierarchy to a message and an exit code, once."""
    try:
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


def setup_logging(*, verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def actor() -> str:
    """Who did it, for the audit trail: the OS user and host."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    return f"{user}@{socket.gethostname()}"


Command = Callable[..., None]
