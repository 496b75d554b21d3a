"""The allocation history: every rebalance of a sleeve's capital, appended, never changed."""

from __future__ import annotations

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    decimal_to_text,
    mapping_from_json,
    text_to_datetime,
    text_to_decimal,
    to_json,
)
from application.records import AllocationRecord

_COLUMNS = "account, bot, ts, weight, equity, transfer, reason, metrics"


class SqliteAllocations:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, record: AllocationRecord) -> None:
        r = record
        self._db.execute(
            f"INSERT INTO allocations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.account, r.bot, datetime_to_text(r.ts), decimal_to_text(r.weight), decimal_to_text(r.equity),
                decimal_to_text(r.transfer), r.reason, to_json(self._db.converter, r.metrics),
            ),
        )

    def list(self, *, account: str, bot: str | None = None) -> list[AllocationRecord]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        # ts is fixed-width UTC text, so text order is time order; id breaks ties by insertion.
        rows = self._db.all(f"SELECT id, {_COLUMNS} FROM allocations{clause} ORDER BY ts, id", params)
        return [
            AllocationRecord(
                account=row["account"],
                bot=row["bot"],
                ts=text_to_datetime(row["ts"]),
                weight=text_to_decimal(row["weight"]),
                equity=text_to_decimal(row["equity"]),
                transfer=text_to_decimal(row["transfer"]),
                reason=row["reason"],
                metrics=mapping_from_json(row["metrics"]),
            )
            for row in rows
        ]
