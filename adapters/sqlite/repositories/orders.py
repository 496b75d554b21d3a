"""Orders, fills and round trips: the rows that must exist exactly once."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    decimal_to_text,
    optional_datetime_to_text,
    optional_decimal_to_text,
    text_to_datetime,
    text_to_decimal,
    text_to_optional_datetime,
    text_to_optional_decimal,
)
from domain.accounting.position import Direction, RoundTrip
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

_TERMINAL_VALUES = tuple(status.value for status in OrderStatus if status.is_terminal)

_ORDER_COLUMNS = (
    "client_order_id, account, bot, strategy, symbol, side, order_type, quantity, created_at, signal_ts,"
    " limit_price, stop_price, status, filled_quantity, average_fill_price, venue_order_id, reason,"
    " updated_at, submitted_at"
)


class SqliteOrders:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, order: Order) -> bool:
        # ON CONFLICT DO NOTHING: a repeated intent is a no-op, never a duplicate-key crash.
        changed = self._db.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 19)})"
            " ON CONFLICT (client_order_id) DO NOTHING",
            (
                order.client_order_id, order.account, order.bot, order.strategy, order.symbol,
                order.side.value, order.order_type.value, decimal_to_text(order.quantity),
                datetime_to_text(order.created_at), datetime_to_text(order.signal_ts),
                *self._mutable_fields(order),
            ),
        )
        return changed == 1

    def get(self, client_order_id: str) -> Order | None:
        row = self._db.one(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = ?", (client_order_id,))
        return None if row is None else _order_from(row)

    def save(self, order: Order) -> None:
        changed = self._db.execute(
            "UPDATE orders SET limit_price = ?, stop_price = ?, status = ?, filled_quantity = ?,"
            " average_fill_price = ?, venue_order_id = ?, reason = ?, updated_at = ?, submitted_at = ?"
            " WHERE client_order_id = ?",
            (*self._mutable_fields(order), order.client_order_id),
        )
        if changed != 1:
            # Saving an order that was never added would silently lose it.
            raise LookupError(f"no stored order {order.client_order_id} to save")

    def open_orders(self, *, account: str, bot: str | None = None, symbol: str | None = None) -> list[Order]:
        clause, params = where([("account = ?", account), ("bot = ?", bot), ("symbol = ?", symbol)])
        marks = ", ".join("?" * len(_TERMINAL_VALUES))
        rows = self._db.all(
            f"SELECT {_ORDER_COLUMNS} FROM orders{clause} AND status NOT IN ({marks})"
            " ORDER BY created_at, rowid",
            (*params, *_TERMINAL_VALUES),
        )
        return [_order_from(row) for row in rows]

    def submission_times(
        self, *, account: str, bot: str, symbol: str | None, since: datetime
    ) -> list[datetime]:
        clause, params = where([("account = ?", account), ("bot = ?", bot), ("symbol = ?", symbol)])
        # Text comparison is time comparison: every stored time is fixed-width UTC.
        rows = self._db.all(
            f"SELECT submitted_at FROM orders{clause} AND submitted_at >= ? ORDER BY submitted_at",
            (*params, datetime_to_text(since)),
        )
        return [text_to_datetime(row[0]) for row in rows]

    def list(self, *, account: str | None = None, bot: str | None = None, limit: int = 1000) -> list[Order]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all(
            f"SELECT {_ORDER_COLUMNS} FROM orders{clause} ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (*params, limit),
        )
        return [_order_from(row) for row in rows]

    def count(self, *, account: str, bot: str | None = None) -> int:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        row = self._db.one(f"SELECT COUNT(*) FROM orders{clause}", params)
        return int(row[0]) if row else 0

    def count_by_status(self, *, account: str) -> dict[tuple[str, OrderStatus], int]:
        rows = self._db.all("SELECT bot, status, COUNT(*) FROM orders WHERE account = ? GROUP BY bot, status",
                            (account,))
        return {(row[0], OrderStatus(row[1])): int(row[2]) for row in rows}

    @staticmethod
    def _mutable_fields(order: Order) -> tuple[object, ...]:
        return (
            optional_decimal_to_text(order.limit_price),
            optional_decimal_to_text(order.stop_price),
            order.status.value,
            decimal_to_text(order.filled_quantity),
            optional_decimal_to_text(order.average_fill_price),
            order.venue_order_id,
            order.reason,
            optional_datetime_to_text(order.updated_at),
            optional_datetime_to_text(order.submitted_at),
        )


def _order_from(row: sqlite3.Row) -> Order:
    return Order(
        client_order_id=row["client_order_id"],
        account=row["account"],
        bot=row["bot"],
        strategy=row["strategy"],
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        order_type=OrderType(row["order_type"]),
        quantity=text_to_decimal(row["quantity"]),
        created_at=text_to_datetime(row["created_at"]),
        signal_ts=text_to_datetime(row["signal_ts"]),
        limit_price=text_to_optional_decimal(row["limit_price"]),
        stop_price=text_to_optional_decimal(row["stop_price"]),
        status=OrderStatus(row["status"]),
        filled_quantity=text_to_decimal(row["filled_quantity"]),
        average_fill_price=text_to_optional_decimal(row["average_fill_price"]),
        venue_order_id=row["venue_order_id"],
        reason=row["reason"],
        updated_at=text_to_optional_datetime(row["updated_at"]),
        submitted_at=text_to_optional_datetime(row["submitted_at"]),
    )


_FILL_COLUMNS = "fill_id, client_order_id, symbol, side, quantity, price, commission, ts, liquidity"


class SqliteFills:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def exists(self, fill_id: str) -> bool:
        return self._db.one("SELECT 1 FROM fills WHERE fill_id = ?", (fill_id,)) is not None

    def add(self, fill: Fill, *, account: str, bot: str) -> bool:
        changed = self._db.execute(
            f"INSERT INTO fills (account, bot, {_FILL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (fill_id) DO NOTHING",
            (
                account, bot, fill.fill_id, fill.client_order_id, fill.symbol, fill.side.value,
                decimal_to_text(fill.quantity), decimal_to_text(fill.price), decimal_to_text(fill.commission),
                datetime_to_text(fill.ts), fill.liquidity,
            ),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[Fill]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all(f"SELECT {_FILL_COLUMNS} FROM fills{clause} ORDER BY ts, rowid", params)
        return [
            Fill(
                fill_id=row["fill_id"],
                client_order_id=row["client_order_id"],
                symbol=row["symbol"],
                side=OrderSide(row["side"]),
                quantity=text_to_decimal(row["quantity"]),
                price=text_to_decimal(row["price"]),
                commission=text_to_decimal(row["commission"]),
                ts=text_to_datetime(row["ts"]),
                liquidity=row["liquidity"],
            )
            for row in rows
        ]

    def count(self, *, account: str, bot: str | None = None) -> int:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        row = self._db.one(f"SELECT COUNT(*) FROM fills{clause}", params)
        return int(row[0]) if row else 0


_TRADE_COLUMNS = (
    "bot, symbol, direction, quantity, entry_price, exit_price, opened_at, closed_at, gross_pnl,"
    " commission, closing_fill_id"
)


class SqliteTrades:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, trip: RoundTrip, *, account: str) -> bool:
        changed = self._db.execute(
            f"INSERT INTO trades (account, {_TRADE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account, bot, closing_fill_id) DO NOTHING",
            (
                account, trip.bot, trip.symbol, trip.direction.value, decimal_to_text(trip.quantity),
                decimal_to_text(trip.entry_price), decimal_to_text(trip.exit_price),
                datetime_to_text(trip.opened_at), datetime_to_text(trip.closed_at),
                decimal_to_text(trip.gross_pnl), decimal_to_text(trip.commission), trip.closing_fill_id,
            ),
        )
        return changed == 1

    def replace(self, *, account: str, bot: str, symbol: str, trips: Sequence[RoundTrip]) -> None:
        self._db.execute("DELETE FROM trades WHERE account = ? AND bot = ? AND symbol = ?", (account, bot, symbol))
        for trip in trips:
            self.add(trip, account=account)

    def list(
        self, *, account: str | None = None, bot: str | None = None, symbol: str | None = None
    ) -> list[tuple[str, RoundTrip]]:
        clause, params = where([("account = ?", account), ("bot = ?", bot), ("symbol = ?", symbol)])
        rows = self._db.all(
            f"SELECT account, {_TRADE_COLUMNS} FROM trades{clause} ORDER BY closed_at, id", params
        )
        return [(row["account"], _trip(row)) for row in rows]

    def page(
        self, *, account: str | None = None, bots: Sequence[str] | None = None, symbol: str | None = None,
        since: datetime | None = None, until: datetime | None = None, limit: int, offset: int = 0,
    ) -> tuple[int, list[tuple[str, RoundTrip]]]:
        if bots is not None and not bots:
            return 0, []
        clause, params = where([
            ("account = ?", account), ("symbol = ?", symbol),
            # closed_at is fixed-width UTC text: text order is time order.
            ("closed_at >= ?", None if since is None else datetime_to_text(since)),
            ("closed_at < ?", None if until is None else datetime_to_text(until)),
        ])
        if bots is not None:
            marks = ", ".join("?" * len(bots))
            clause += (" AND" if clause else " WHERE") + f" bot IN ({marks})"
            params = [*params, *bots]
        total = self._db.one(f"SELECT count(*) AS n FROM trades{clause}", params)["n"]
        rows = self._db.all(f"SELECT account, {_TRADE_COLUMNS} FROM trades{clause} ORDER BY closed_at, id"
                            " LIMIT ? OFFSET ?", [*params, limit, offset])
        return total, [(row["account"], _trip(row)) for row in rows]


def _trip(row: sqlite3.Row) -> RoundTrip:
    return RoundTrip(
        bot=row["bot"],
        symbol=row["symbol"],
        direction=Direction(row["direction"]),
        quantity=text_to_decimal(row["quantity"]),
        entry_price=text_to_decimal(row["entry_price"]),
        exit_price=text_to_decimal(row["exit_price"]),
        opened_at=text_to_datetime(row["opened_at"]),
        closed_at=text_to_datetime(row["closed_at"]),
        gross_pnl=text_to_decimal(row["gross_pnl"]),
        commission=text_to_decimal(row["commission"]),
        closing_fill_id=row["closing_fill_id"],
    )
