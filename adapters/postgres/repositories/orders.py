"""Orders, fills and round trips: the rows that must exist exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.postgres.connection import Row, Statements, sql_limit, where
from adapters.postgres.converter import (
    checked_datetime,
    checked_decimal,
    optional_datetime,
    optional_decimal,
    optional_utc,
    utc,
)
from domain.accounting.position import Direction, RoundTrip
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType

_TERMINAL_VALUES = [status.value for status in OrderStatus if status.is_terminal]

_ORDER_COLUMNS = (
    "client_order_id, account, bot, strategy, symbol, side, order_type, quantity, created_at, signal_ts,"
    " limit_price, stop_price, status, filled_quantity, average_fill_price, venue_order_id, reason,"
    " updated_at, submitted_at"
)


class PostgresOrders:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, order: Order) -> bool:
        # ON CONFLICT DO NOTHING: a repeated intent is a no-op, never a duplicate-key crash.
        changed = self._db.execute(
            f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join(['%s'] * 19)})"
            " ON CONFLICT (client_order_id) DO NOTHING",
            (
                order.client_order_id, order.account, order.bot, order.strategy, order.symbol,
                order.side.value, order.order_type.value, checked_decimal(order.quantity),
                checked_datetime(order.created_at), checked_datetime(order.signal_ts),
                *self._mutable_fields(order),
            ),
        )
        return changed == 1

    def get(self, client_order_id: str) -> Order | None:
        row = self._db.one(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = %s", (client_order_id,))
        return None if row is None else _order_from(row)

    def save(self, order: Order) -> None:
        changed = self._db.execute(
            "UPDATE orders SET limit_price = %s, stop_price = %s, status = %s, filled_quantity = %s,"
            " average_fill_price = %s, venue_order_id = %s, reason = %s, updated_at = %s, submitted_at = %s"
            " WHERE client_order_id = %s",
            (*self._mutable_fields(order), order.client_order_id),
        )
        if changed != 1:
            # Saving an order that was never added would silently lose it.
            raise LookupError(f"no stored order {order.client_order_id} to save")

    def open_orders(self, *, account: str, bot: str | None = None, symbol: str | None = None) -> list[Order]:
        clause, params = where([("account = %s", account), ("bot = %s", bot), ("symbol = %s", symbol)])
        rows = self._db.all(
            f"SELECT {_ORDER_COLUMNS} FROM orders{clause} AND status <> ALL(%s) ORDER BY created_at, seq",
            (*params, _TERMINAL_VALUES),
        )
        return [_order_from(row) for row in rows]

    def submission_times(
        self, *, account: str, bot: str, symbol: str | None, since: datetime
    ) -> list[datetime]:
        clause, params = where([("account = %s", account), ("bot = %s", bot), ("symbol = %s", symbol)])
        rows = self._db.all(
            f"SELECT submitted_at FROM orders{clause} AND submitted_at >= %s ORDER BY submitted_at",
            (*params, checked_datetime(since)),
        )
        return [utc(row["submitted_at"]) for row in rows]

    def list(self, *, account: str | None = None, bot: str | None = None, limit: int = 1000) -> list[Order]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(
            f"SELECT {_ORDER_COLUMNS} FROM orders{clause} ORDER BY created_at DESC, seq DESC LIMIT %s",
            (*params, sql_limit(limit)),
        )
        return [_order_from(row) for row in rows]

    def count(self, *, account: str, bot: str | None = None) -> int:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        row = self._db.one(f"SELECT COUNT(*) AS n FROM orders{clause}", params)
        return int(row["n"]) if row else 0

    def count_by_status(self, *, account: str) -> dict[tuple[str, OrderStatus], int]:
        rows = self._db.all("SELECT bot, status, COUNT(*) AS n FROM orders WHERE account = %s GROUP BY bot, status",
                            (account,))
        return {(row["bot"], OrderStatus(row["status"])): int(row["n"]) for row in rows}

    @staticmethod
    def _mutable_fields(order: Order) -> tuple[object, ...]:
        return (
            optional_decimal(order.limit_price),
            optional_decimal(order.stop_price),
            order.status.value,
            checked_decimal(order.filled_quantity),
            optional_decimal(order.average_fill_price),
            order.venue_order_id,
            order.reason,
            optional_datetime(order.updated_at),
            optional_datetime(order.submitted_at),
        )


def _order_from(row: Row) -> Order:
    return Order(
        client_order_id=row["client_order_id"],
        account=row["account"],
        bot=row["bot"],
        strategy=row["strategy"],
        symbol=row["symbol"],
        side=OrderSide(row["side"]),
        order_type=OrderType(row["order_type"]),
        quantity=row["quantity"],
        created_at=utc(row["created_at"]),
        signal_ts=utc(row["signal_ts"]),
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        status=OrderStatus(row["status"]),
        filled_quantity=row["filled_quantity"],
        average_fill_price=row["average_fill_price"],
        venue_order_id=row["venue_order_id"],
        reason=row["reason"],
        updated_at=optional_utc(row["updated_at"]),
        submitted_at=optional_utc(row["submitted_at"]),
    )


_FILL_COLUMNS = "fill_id, client_order_id, symbol, side, quantity, price, commission, ts, liquidity"


class PostgresFills:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def exists(self, fill_id: str) -> bool:
        return self._db.one("SELECT 1 AS found FROM fills WHERE fill_id = %s", (fill_id,)) is not None

    def add(self, fill: Fill, *, account: str, bot: str) -> bool:
        changed = self._db.execute(
            f"INSERT INTO fills (account, bot, {_FILL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (fill_id) DO NOTHING",
            (
                account, bot, fill.fill_id, fill.client_order_id, fill.symbol, fill.side.value,
                checked_decimal(fill.quantity), checked_decimal(fill.price), checked_decimal(fill.commission),
                checked_datetime(fill.ts), fill.liquidity,
            ),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[Fill]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(f"SELECT {_FILL_COLUMNS} FROM fills{clause} ORDER BY ts, seq", params)
        return [
            Fill(
                fill_id=row["fill_id"],
                client_order_id=row["client_order_id"],
                symbol=row["symbol"],
                side=OrderSide(row["side"]),
                quantity=row["quantity"],
                price=row["price"],
                commission=row["commission"],
                ts=utc(row["ts"]),
                liquidity=row["liquidity"],
            )
            for row in rows
        ]

    def count(self, *, account: str, bot: str | None = None) -> int:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        row = self._db.one(f"SELECT COUNT(*) AS n FROM fills{clause}", params)
        return int(row["n"]) if row else 0


_TRADE_COLUMNS = (
    "bot, symbol, direction, quantity, entry_price, exit_price, opened_at, closed_at, gross_pnl,"
    " commission, closing_fill_id"
)


class PostgresTrades:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, trip: RoundTrip, *, account: str) -> bool:
        changed = self._db.execute(
            f"INSERT INTO trades (account, {_TRADE_COLUMNS}) VALUES ({', '.join(['%s'] * 12)})"
            " ON CONFLICT (account, bot, closing_fill_id) DO NOTHING",
            (
                account, trip.bot, trip.symbol, trip.direction.value, checked_decimal(trip.quantity),
                checked_decimal(trip.entry_price), checked_decimal(trip.exit_price),
                checked_datetime(trip.opened_at), checked_datetime(trip.closed_at),
                checked_decimal(trip.gross_pnl), checked_decimal(trip.commission), trip.closing_fill_id,
            ),
        )
        return changed == 1

    def replace(self, *, account: str, bot: str, symbol: str, trips: Sequence[RoundTrip]) -> None:
        self._db.execute("DELETE FROM trades WHERE account = %s AND bot = %s AND symbol = %s", (account, bot, symbol))
        for trip in trips:
            self.add(trip, account=account)

    def list(
        self, *, account: str | None = None, bot: str | None = None, symbol: str | None = None
    ) -> list[tuple[str, RoundTrip]]:
        clause, params = where([("account = %s", account), ("bot = %s", bot), ("symbol = %s", symbol)])
        rows = self._db.all(f"SELECT account, {_TRADE_COLUMNS} FROM trades{clause} ORDER BY closed_at, id", params)
        return [(row["account"], _trip(row)) for row in rows]

    def page(
        self, *, account: str | None = None, bots: Sequence[str] | None = None, symbol: str | None = None,
        since: datetime | None = None, until: datetime | None = None, limit: int, offset: int = 0,
    ) -> tuple[int, list[tuple[str, RoundTrip]]]:
        if bots is not None and not bots:
            return 0, []
        clause, params = where([
            ("account = %s", account), ("symbol = %s", symbol), ("bot = ANY(%s)", None if bots is None else list(bots)),
            ("closed_at >= %s", None if since is None else checked_datetime(since)),
            ("closed_at < %s", None if until is None else checked_datetime(until)),
        ])
        total = self._db.one(f"SELECT count(*) AS n FROM trades{clause}", params)["n"]
        rows = self._db.all(f"SELECT account, {_TRADE_COLUMNS} FROM trades{clause} ORDER BY closed_at, id"
                            " LIMIT %s OFFSET %s", [*params, limit, offset])
        return total, [(row["account"], _trip(row)) for row in rows]


def _trip(row: Row) -> RoundTrip:
    return RoundTrip(
        bot=row["bot"],
        symbol=row["symbol"],
        direction=Direction(row["direction"]),
        quantity=row["quantity"],
        entry_price=row["entry_price"],
        exit_price=row["exit_price"],
        opened_at=utc(row["opened_at"]),
        closed_at=utc(row["closed_at"]),
        gross_pnl=row["gross_pnl"],
        commission=row["commission"],
        closing_fill_id=row["closing_fill_id"],
    )
