"""Bot leases: who may trade a bot, until when, by the store's wall clock."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import datetime_to_text, text_to_datetime
from application.records import Lease

_LEASE_COLUMNS = "account, bot, holder, acquired_at, expires_at"


def checked_ttl(ttl_seconds: float) -> float:
    ttl = float(ttl_seconds)
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"a lease needs a positive, finite ttl_seconds, got {ttl_seconds!r}")
    return ttl


class SqliteLeases:
    def __init__(self, statements: Statements, *, wall_clock: Callable[[], datetime]) -> None:
        self._db = statements
        self._wall_clock = wall_clock

    def acquire(self, *, account: str, bot: str, holder: str, ttl_seconds: float) -> Lease | None:
        ttl = checked_ttl(ttl_seconds)
        now = self._wall_clock()
        # One statement, so it is atomic even outside BEGIN IMMEDIATE. excluded.acquired_at is
        # `now`; text comparison is time comparison (fixed-width UTC). A live lease of the same
        # holder is renewed and keeps its acquired_at; an expired one is taken afresh by anyone.
        row = self._db.one(
            f"INSERT INTO leases ({_LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account, bot) DO UPDATE SET"
            " acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.acquired_at"
            " THEN leases.acquired_at ELSE excluded.acquired_at END,"
            " holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at"
            f" RETURNING {_LEASE_COLUMNS}",
            (account, bot, holder, datetime_to_text(now), datetime_to_text(now + timedelta(seconds=ttl))),
        )
        return None if row is None else _lease_from(row)

    def release(self, *, account: str, bot: str, holder: str) -> None:
        self._db.execute("DELETE FROM leases WHERE account = ? AND bot = ? AND holder = ?", (account, bot, holder))

    def get(self, *, account: str, bot: str) -> Lease | None:
        row = self._db.one(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE account = ? AND bot = ?", (account, bot))
        return None if row is None else _lease_from(row)

    def list(self, *, account: str | None = None) -> list[Lease]:
        clause, params = where([("account = ?", account)])
        rows = self._db.all(f"SELECT {_LEASE_COLUMNS} FROM leases{clause} ORDER BY account, bot", params)
        return [_lease_from(row) for row in rows]


def _lease_from(row: sqlite3.Row) -> Lease:
    return Lease(
        account=row["account"],
        bot=row["bot"],
        holder=row["holder"],
        acquired_at=text_to_datetime(row["acquired_at"]),
        expires_at=text_to_datetime(row["expires_at"]),
    )
