"""Which sqlite3 errors mean "the store cannot be reached", mapped to StoreUnavailable.

Only failures of the database itself are mapped (cannot open, locked past the busy
timeout, I/O, full disk, not a database). Constraint violations and SQL mistakes stay
sqlite3 errors: they are bugs or refusals, and retrying them would not help.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.errors import StoreUnavailable

# Primary result codes (https://sqlite.org/rescode.html). Python 3.11+ gives the
# extended code in sqlite_errorcode; its low byte is the primary one.
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _PROTOCOL, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 15, 26,
)
_UNAVAILABLE = frozenset({_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _PROTOCOL})


def unavailable_from(error: BaseException, *, path: Path) -> StoreUnavailable | None:
    """The StoreUnavailable this error means, or None when it is not a store failure."""
    if isinstance(error, OSError):  # creating the directory, for one
        return StoreUnavailable(f"SQLite store {path} cannot be opened: {error}")
    if not isinstance(error, sqlite3.DatabaseError) or isinstance(error, sqlite3.ProgrammingError):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _NOTADB:
        return StoreUnavailable(f"{path} is not a SQLite database ({error})")
    if primary in _UNAVAILABLE:
        return StoreUnavailable(f"SQLite store {path} is unavailable: {error}")
    return None


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        mapped = unavailable_from(error, path=path)
        if mapped is None:
            raise
        raise mapped from error
