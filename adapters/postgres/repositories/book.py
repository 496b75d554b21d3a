"""Positions, cash accounts and equity curves: rows that are overwritten, never duplicated."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from adapters.postgres.connection import Row, Statements, where
from adapters.postgres.converter import (
    checked_datetime,
    checked_decimal,
    from_jsonb,
    optional_datetime,
    optional_decimal,
    optional_utc,
    to_jsonb,
    utc,
)
from application.records import BotAccount, EquityPoint
from domain.accounting.position import OpenTrip, Position

_POSITION_COLUMNS = "bot, symbol, quantity, cost_basis, realized_pnl, commissions, trip, updated_at"


class PostgresPositions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str, symbol: str) -> Position:
        row = self._db.one(
            f"SELECT {_POSITION_COLUMNS} FROM positions WHERE account = %s AND bot = %s AND symbol = %s",
            (account, bot, symbol),
        )
        return Position(bot=bot, symbol=symbol) if row is None else self._position_from(row)

    def upsert(self, position: Position, *, account: str, last_price: Decimal | None = None) -> None:
        # ON CONFLICT DO UPDATE: the old system crashed on a duplicate key right here.
        # A None last_price keeps the stored mark: an update without a price is not "no price".
        trip = None if position.trip is None else to_jsonb(self._db.converter, position.trip)
        self._db.execute(
            f"INSERT INTO positions (account, {_POSITION_COLUMNS}, last_price)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (account, bot, symbol) DO UPDATE SET"
            " quantity = excluded.quantity, cost_basis = excluded.cost_basis,"
            " realized_pnl = excluded.realized_pnl, commissions = excluded.commissions,"
            " trip = excluded.trip, updated_at = excluded.updated_at,"
            " last_price = COALESCE(excluded.last_price, positions.last_price)",
            (
                account, position.bot, position.symbol, checked_decimal(position.quantity),
                checked_decimal(position.cost_basis), checked_decimal(position.realized_pnl),
                checked_decimal(position.commissions), trip, optional_datetime(position.updated_at),
                optional_decimal(last_price),
            ),
        )

    def list(
        self, *, account: str | None = None, bot: str | None = None
    ) -> list[tuple[str, Position, Decimal | None]]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(
            f"SELECT account, {_POSITION_COLUMNS}, last_price FROM positions{clause} ORDER BY account, bot, symbol",
            params,
        )
        return [(row["account"], self._position_from(row), row["last_price"]) for row in rows]

    def _position_from(self, row: Row) -> Position:
        trip = row["trip"]
        return Position(
            bot=row["bot"],
            symbol=row["symbol"],
            quantity=row["quantity"],
            cost_basis=row["cost_basis"],
            realized_pnl=row["realized_pnl"],
            commissions=row["commissions"],
            trip=None if trip is None else from_jsonb(self._db.converter, trip, OpenTrip),
            updated_at=optional_utc(row["updated_at"]),
        )


class PostgresAccounts:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str) -> BotAccount | None:
        row = self._db.one(
            "SELECT account, bot, initial_cash, cash FROM accounts WHERE account = %s AND bot = %s", (account, bot)
        )
        return None if row is None else _account_from(row)

    def ensure(self, *, account: str, bot: str, initial_cash: Decimal) -> BotAccount:
        cash = checked_decimal(initial_cash)
        self._db.execute(
            "INSERT INTO accounts (account, bot, initial_cash, cash) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (account, bot) DO NOTHING",
            (account, bot, cash, cash),
        )
        stored = self.get(account=account, bot=bot)
        if stored is None:  # cannot happen inside one transaction; say so if it ever does
            raise LookupError(f"account row {account}/{bot} vanished after insert")
        return stored

    def set_cash(self, *, account: str, bot: str, cash: Decimal) -> None:
        changed = self._db.execute(
            "UPDATE accounts SET cash = %s WHERE account = %s AND bot = %s", (checked_decimal(cash), account, bot)
        )
        if changed != 1:
            raise LookupError(f"no account row for {account}/{bot}")

    def list(self, *, account: str | None = None) -> list[BotAccount]:
        clause, params = where([("account = %s", account)])
        rows = self._db.all(
            f"SELECT account, bot, initial_cash, cash FROM accounts{clause} ORDER BY account, bot", params
        )
        return [_account_from(row) for row in rows]


def _account_from(row: Row) -> BotAccount:
    return BotAccount(account=row["account"], bot=row["bot"], initial_cash=row["initial_cash"], cash=row["cash"])


class PostgresEquity:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add_many(self, *, account: str, bot: str, points: Sequence[EquityPoint]) -> None:
        # Upsert one row at a time (executemany): recomputing a point at the same ts keeps
        # the newest figure, also when one batch names a ts twice (as INSERT OR REPLACE does).
        self._db.execute_many(
            "INSERT INTO equity (account, bot, ts, equity) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (account, bot, ts) DO UPDATE SET equity = excluded.equity",
            [(account, bot, checked_datetime(p.ts), checked_decimal(p.equity)) for p in points],
        )

    def list(self, *, account: str, bot: str | None = None) -> list[tuple[str, EquityPoint]]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(f"SELECT bot, ts, equity FROM equity{clause} ORDER BY ts, bot", params)
        return [(row["bot"], EquityPoint(ts=utc(row["ts"]), equity=row["equity"])) for row in rows]
