"""The allocation history: every rebalance of a sleeve's capital, appended, never changed."""

from __future__ import annotations

from decimal import Decimal

from adapters.postgres.connection import Statements, where
from adapters.postgres.converter import checked_datetime, checked_decimal, mapping_from_jsonb, to_jsonb, utc
from application.records import AllocationRecord

_COLUMNS = "account, bot, ts, weight, equity, transfer, reason, metrics"


class PostgresAllocations:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, record: AllocationRecord) -> None:
        r = record
        self._db.execute(
            f"INSERT INTO allocations ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                r.account, r.bot, checked_datetime(r.ts), checked_decimal(r.weight), checked_decimal(r.equity),
                checked_decimal(r.transfer), r.reason, to_jsonb(self._db.converter, r.metrics),
            ),
        )

    def list(self, *, account: str, bot: str | None = None) -> list[AllocationRecord]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(f"SELECT id, {_COLUMNS} FROM allocations{clause} ORDER BY ts, id", params)
        return [
            AllocationRecord(
                account=row["account"],
                bot=row["bot"],
                ts=utc(row["ts"]),
                weight=Decimal(row["weight"]),
                equity=Decimal(row["equity"]),
                transfer=Decimal(row["transfer"]),
                reason=row["reason"],
                metrics=mapping_from_jsonb(row["metrics"]),
            )
            for row in rows
        ]
