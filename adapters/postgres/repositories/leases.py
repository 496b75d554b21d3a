"""Bot leases: who may trade a bot, until when, by the database server's clock."""

from __future__ import annotations

import math

from adapters.postgres.connection import Row, Statements, where
from adapters.postgres.converter import utc
from application.records import Lease

_LEASE_COLUMNS = "account, bot, holder, acquired_at, expires_at"


def checked_ttl(ttl_seconds: float) -> float:
    ttl = float(ttl_seconds)
    if not math.isfinite(ttl) or ttl <= 0:
        raise ValueError(f"a lease needs a positive, finite ttl_seconds, got {ttl_seconds!r}")
    return ttl


class PostgresLeases:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def acquire(self, *, account: str, bot: str, holder: str, ttl_seconds: float) -> Lease | None:
        # One statement, race-free under READ COMMITTED: a concurrent insert of the same key
        # waits for the other transaction, then DO UPDATE re-checks its WHERE against the row
        # that transaction committed. `now` is read once from the server's clock
        # (clock_timestamp(), not the transaction's start); excluded.acquired_at carries it.
        # A live lease of the same holder is renewed and keeps its acquired_at; an expired
        # one is taken afresh by anyone; a live lease of another holder returns no row.
        row = self._db.one(
            f"INSERT INTO leases ({_LEASE_COLUMNS})"
            " SELECT %s, %s, %s, clock.now, clock.now + make_interval(secs => %s)"
            " FROM (SELECT clock_timestamp() AS now) AS clock"
            " ON CONFLICT (account, bot) DO UPDATE SET"
            " acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.acquired_at"
            " THEN leases.acquired_at ELSE excluded.acquired_at END,"
            " holder = excluded.holder, expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at"
            f" RETURNING {_LEASE_COLUMNS}",
            (account, bot, holder, checked_ttl(ttl_seconds)),
        )
        return None if row is None else _lease_from(row)

    def release(self, *, account: str, bot: str, holder: str) -> None:
        self._db.execute(
            "DELETE FROM leases WHERE account = %s AND bot = %s AND holder = %s", (account, bot, holder)
        )

    def get(self, *, account: str, bot: str) -> Lease | None:
        row = self._db.one(f"SELECT {_LEASE_COLUMNS} FROM leases WHERE account = %s AND bot = %s", (account, bot))
        return None if row is None else _lease_from(row)

    def list(self, *, account: str | None = None) -> list[Lease]:
        clause, params = where([("account = %s", account)])
        rows = self._db.all(f"SELECT {_LEASE_COLUMNS} FROM leases{clause} ORDER BY account, bot", params)
        return [_lease_from(row) for row in rows]


def _lease_from(row: Row) -> Lease:
    return Lease(
        account=row["account"],
        bot=row["bot"],
        holder=row["holder"],
        acquired_at=utc(row["acquired_at"]),
        expires_at=utc(row["expires_at"]),
    )
