"""SQLite store adapter: the UnitOfWork port and its repositories on one SQLite file."""

from adapters.sqlite.converter import make_store_converter
from adapters.sqlite.store import SqliteStore
from adapters.sqlite.unit_of_work import SqliteUnitOfWork

__all__ = ["SqliteStore", "SqliteUnitOfWork", "make_store_converter"]
