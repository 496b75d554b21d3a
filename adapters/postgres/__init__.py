"""Postgres store adapter: the UnitOfWork port and its repositories on a Postgres database."""

from adapters.postgres.converter import make_store_converter
from adapters.postgres.store import PostgresStore
from adapters.postgres.unit_of_work import PostgresUnitOfWork

__all__ = ["PostgresStore", "PostgresUnitOfWork", "make_store_converter"]
