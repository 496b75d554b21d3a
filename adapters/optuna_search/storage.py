"""Where a study lives, and how every worker process opens it again.

- No storage given, one process: in memory.
- No storage given, several processes: a journal file in a temporary directory (Optuna's
  file-locked append-only log, made for processes sharing a disk), removed afterwards.
- "sqlite:///file.db": one machine; SQLite serialises writers, so a long busy timeout.
- "postgresql://...": several machines, each running workers on the same study name.
  Optuna's RDB storage goes through SQLAlchemy, whose default PostgreSQL driver is
  psycopg2; we ship psycopg 3, so the URL is rewritten to the "postgresql+psycopg" dialect.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.pool
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from sqlalchemy.engine import make_url

from domain.errors import StoreUnavailable

_POSTGRES_NAMES = ("postgresql", "postgres", "postgresql+psycopg")


def normalise_storage_url(storage: str) -> str:
    """The SQLAlchemy URL Optuna should use, or ValueError naming `storage` (never its password)."""
    if not isinstance(storage, str) or not storage.strip():
        raise ValueError(f"storage must be a database URL such as sqlite:///study.db or postgresql://host/db, "
                         f"got {storage!r}")
    try:
        url = make_url(storage.strip())
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise ValueError("storage is not a database URL (expected sqlite:///study.db or "
                         "postgresql://user@host:5432/db)") from None
    shown = url.render_as_string(hide_password=True)
    if url.drivername in _POSTGRES_NAMES:
        if not url.database:
            raise ValueError(f"storage {shown}: name the database (postgresql://user@host:5432/DATABASE)")
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername.startswith("postgresql+"):
        raise ValueError(f"storage {shown}: only the psycopg (3) driver is installed; write postgresql://...")
    elif url.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise ValueError(f"storage {shown}: unsupported database {url.drivername!r}; use sqlite:/// or postgresql://")
    return url.render_as_string(hide_password=False)


def is_shared(url: str) -> bool:
    """Whether other processes can open this URL (an in-memory SQLite database they cannot)."""
    parsed = make_url(url)
    return not (parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"))


@attrs.frozen(kw_only=True)
class StorageTarget:
    """Plain strings, so a worker process (forked or spawned) can open the same storage."""

    url: str | None = None
    journal_path: str | None = None

    def open(self) -> BaseStorage | None:
        if self.journal_path is not None:
            return JournalStorage(JournalFileBackend(self.journal_path))
        if self.url is None:
            return None  # Optuna's in-memory storage
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite":
            options: dict = {"connect_args": {"timeout": 60}}  # wait out the other workers' writes
        else:
            options = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
        try:
            if parsed.get_backend_name() == "postgresql":
                with _schema_lock(self.url):
                    return RDBStorage(self.url, engine_kwargs=options)
            try:
                return RDBStorage(self.url, engine_kwargs=options)
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                # Two workers creating Optuna's tables in a new SQLite file at the same moment:
                # one loses the race. The tables exist now; open again.
                time.sleep(0.2)
                return RDBStorage(self.url, engine_kwargs=options)
        except sqlalchemy.exc.OperationalError as error:
            reason = " ".join(str(getattr(error, "orig", error)).split())
            raise StoreUnavailable(
                f"storage {parsed.render_as_string(hide_password=True)} cannot be reached: {reason}"
            ) from None

    def shown(self) -> str:
        if self.journal_path is not None:
            return f"journal file {self.journal_path}"
        return "memory" if self.url is None else make_url(self.url).render_as_string(hide_password=True)


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Hold a Postgres advisory lock while Optuna creates (or checks) its tables: workers
    starting together on a new database would otherwise race on CREATE TABLE, and a retry
    after a pause only narrows that window (it failed in CI with alembic_version)."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool,
                                      connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(hashtext('quantshift-optuna-schema'))"))
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(hashtext('quantshift-optuna-schema'))"))
    finally:
        engine.dispose()


def release_connections(storage: BaseStorage | None) -> None:
    """Close pooled connections before forking: a child must never use a socket of its parent's."""
    if isinstance(storage, RDBStorage):
        storage.remove_session()
        storage.engine.dispose()


@contextmanager
def storage_target(url: str | None, *, processes: int) -> Iterator[StorageTarget]:
    if url is not None:
        yield StorageTarget(url=url)
        return
    if processes == 1:
        yield StorageTarget()
        return
    directory = tempfile.mkdtemp(prefix="quantshift-optuna-")
    try:
        yield StorageTarget(journal_path=f"{directory}/study.log")
    finally:
        shutil.rmtree(directory, ignore_errors=True)

