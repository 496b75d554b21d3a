"""Positions, cash accounts and equity curves: rows that are overwritten, never duplicated."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from decimal import Decimal

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    decimal_to_text,
    from_json,
    optional_datetime_to_text,
    optional_decimal_to_text,
    text_to_datetime,
    text_to_decimal,
    text_to_optional_datetime,
    text_to_optional_decimal,
    to_json,
)
from application.records import BotAccount, EquityPoint
from domain.accounting.position import OpenTrip, Position

_POSITION_COLUMNS = "bot, symbol, quantity, cost_basis, realized_pnl, commissions, trip, updated_at"


class SqlitePositions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str, symbol: str) -> Position:
        row = self._db.one(
            f"SELECT {_POSITION_COLUMNS} FROM positions WHERE account = ? AND bot = ? AND symbol = ?",
            (account, bot, symbol),
        )
        return Position(bot=bot, symbol=symbol) if row is None else self._position_from(row)

    def upsert(self, position: Position, *, account: str, last_price: Decimal | None = None) -> None:
        # ON CONFLICT DO UPDATE: the old system crashed on a duplicate key right here.
        # A None last_price keeps the stored mark: an update without a price is not "no price".
        trip = None if position.trip is None else to_json(self._db.converter, position.trip)
        self._db.execute(
            f"INSERT INTO positions (account, {_POSITION_COLUMNS}, last_price) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account, bot, symbol) DO UPDATE SET"
            " quantity = excluded.quantity, cost_basis = excluded.cost_basis,"
            " realized_pnl = excluded.realized_pnl, commissions = excluded.commissions,"
            " trip = excluded.trip, updated_at = excluded.updated_at,"
            " last_price = COALESCE(excluded.last_price, positions.last_price)",
            (
                account, position.bot, position.symbol, decimal_to_text(position.quantity),
                decimal_to_text(position.cost_basis), decimal_to_text(position.realized_pnl),
                decimal_to_text(position.commissions), trip, optional_datetime_to_text(position.updated_at),
                optional_decimal_to_text(last_price),
            ),
        )

    def list(
        self, *, account: str | None = None, bot: str | None = None
    ) -> list[tuple[str, Position, Decimal | None]]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all(
            f"SELECT account, {_POSITION_COLUMNS}, last_price FROM positions{clause} ORDER BY account, bot, symbol",
            params,
        )
        return [(row["account"], self._position_from(row), text_to_optional_decimal(row["last_price"])) for row in rows]

    def _position_from(self, row: sqlite3.Row) -> Position:
        trip_text = row["trip"]
        return Position(
            bot=row["bot"],
            symbol=row["symbol"],
            quantity=text_to_decimal(row["quantity"]),
            cost_basis=text_to_decimal(row["cost_basis"]),
            realized_pnl=text_to_decimal(row["realized_pnl"]),
            commissions=text_to_decimal(row["commissions"]),
            trip=None if trip_text is None else from_json(self._db.converter, trip_text, OpenTrip),
            updated_at=text_to_optional_datetime(row["updated_at"]),
        )


class SqliteAccounts:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str) -> BotAccount | None:
        row = self._db.one(
            "SELECT account, bot, initial_cash, cash FROM accounts WHERE account = ? AND bot = ?", (account, bot)
        )
        return None if row is None else _account_from(row)

    def ensure(self, *, account: str, bot: str, initial_cash: Decimal) -> BotAccount:
        cash = decimal_to_text(initial_cash)
        self._db.execute(
            "INSERT INTO accounts (account, bot, initial_cash, cash) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (account, bot) DO NOTHING",
            (account, bot, cash, cash),
        )
        stored = self.get(account=account, bot=bot)
        if stored is None:  # cannot happen inside one transaction; say so if it ever does
            raise LookupError(f"account row {account}/{bot} vanished after insert")
        return stored

    def set_cash(self, *, account: str, bot: str, cash: Decimal) -> None:
        changed = self._db.execute(
            "UPDATE accounts SET cash = ? WHERE account = ? AND bot = ?", (decimal_to_text(cash), account, bot)
        )
        if changed != 1:
            raise LookupError(f"no account row for {account}/{bot}")

    def list(self, *, account: str | None = None) -> list[BotAccount]:
        clause, params = where([("account = ?", account)])
        rows = self._db.all(f"SELECT account, bot, initial_cash, cash FROM accounts{clause} ORDER BY account, bot", params)
        return [_account_from(row) for row in rows]


def _account_from(row: sqlite3.Row) -> BotAccount:
    return BotAccount(
        account=row["account"],
        bot=row["bot"],
        initial_cash=text_to_decimal(row["initial_cash"]),
        cash=text_to_decimal(row["cash"]),
    )


class SqliteEquity:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add_many(self, *, account: str, bot: str, points: Sequence[EquityPoint]) -> None:
        # INSERT OR REPLACE: recomputing a point at the same ts keeps the newest figure.
        self._db.execute_many(
            "INSERT OR REPLACE INTO equity (account, bot, ts, equity) VALUES (?, ?, ?, ?)",
            [(account, bot, datetime_to_text(p.ts), decimal_to_text(p.equity)) for p in points],
        )

    def list(self, *, account: str, bot: str | None = None) -> list[tuple[str, EquityPoint]]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all(f"SELECT bot, ts, equity FROM equity{clause} ORDER BY ts, bot", params)
        return [
            (row["bot"], EquityPoint(ts=text_to_datetime(row["ts"]), equity=text_to_decimal(row["equity"])))
            for row in rows
        ]
