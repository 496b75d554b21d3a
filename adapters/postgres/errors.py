"""Which psycopg / pool errors mean "the store cannot be reached", mapped to StoreUnavailable.

Mapped: OperationalError (cannot connect, connection lost, server shutting down, out of
disk, deadlock or serialisation failure: all worth a retry later) and the pool's
timeouts. Constraint violations, SQL mistakes and the audit trigger's refusal stay
psycopg errors: they are bugs or refusals, and retrying them would not help.

Messages name the host, port and database and the cause, never the password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import psycopg
import psycopg_pool

from domain.errors import StoreUnavailable


def describe(params: Mapping[str, str], *, schema: str | None) -> str:
    """postgresql://user@host:port/dbname, without the password (for status output and errors)."""
    user = params.get("user", "")
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port", "")
    text = f"postgresql://{user + '@' if user else ''}{host}{':' + port if port else ''}/{params.get('dbname', '')}"
    return f"{text} (schema {schema})" if schema else text


class Scrubber:
    """Removes a password from a message (libpq does not echo it; this makes sure)."""

    def __init__(self, password: str | None) -> None:
        self._password = password or None

    def __call__(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text


def cause(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())  # libpq messages span lines


def unavailable_from(
    error: BaseException,
    *,
    location: str,
    scrub: Callable[[str], str],
    last_connect_error: Callable[[], BaseException | None] = lambda: None,
) -> StoreUnavailable | None:
    """The StoreUnavailable this error means, or None when it is not a store failure."""
    if isinstance(error, psycopg_pool.PoolTimeout):
        last = last_connect_error()
        detail = f"; last connection attempt: {cause(last)}" if last is not None else " (every connection busy?)"
        return StoreUnavailable(scrub(f"Postgres store {location} is unavailable: {cause(error)}{detail}"))
    if isinstance(error, psycopg.OperationalError):
        return StoreUnavailable(scrub(f"Postgres store {location} is unavailable: {cause(error)}"))
    return None


@contextmanager
def translate_errors(
    *,
    location: str,
    scrub: Callable[[str], str],
    last_connect_error: Callable[[], BaseException | None] = lambda: None,
) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as error:  # the pool's errors are OperationalErrors too
        mapped = unavailable_from(error, location=location, scrub=scrub, last_connect_error=last_connect_error)
        if mapped is None:
            raise
        raise mapped from error
