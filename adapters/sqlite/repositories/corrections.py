"""Fill corrections (busts, restatements) and venue charges: rows added once, never changed."""

from __future__ import annotations

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    decimal_to_text,
    optional_decimal_to_text,
    text_to_datetime,
    text_to_decimal,
    text_to_optional_decimal,
)
from application.records import VenueCharge
from domain.orders.fill_corrections import FillCorrection


class SqliteFillCorrections:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, correction: FillCorrection, *, account: str, bot: str) -> bool:
        changed = self._db.execute(
            "INSERT INTO fill_corrections (correction_id, account, bot, fill_id, quantity, price, ts, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (correction_id) DO NOTHING",
            (correction.correction_id, account, bot, correction.fill_id, decimal_to_text(correction.quantity),
             optional_decimal_to_text(correction.price), datetime_to_text(correction.ts), correction.reason),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[FillCorrection]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all("SELECT correction_id, fill_id, quantity, price, ts, reason FROM fill_corrections"
                            f"{clause} ORDER BY rowid", params)
        return [FillCorrection(correction_id=row["correction_id"], fill_id=row["fill_id"],
                               quantity=text_to_decimal(row["quantity"]), price=text_to_optional_decimal(row["price"]),
                               ts=text_to_datetime(row["ts"]), reason=row["reason"]) for row in rows]


class SqliteVenueCharges:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, charge: VenueCharge) -> bool:
        changed = self._db.execute(
            "INSERT INTO venue_charges (charge_id, account, bot, client_order_id, fill_id, symbol, amount, ts,"
            " description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (charge_id) DO NOTHING",
            (charge.charge_id, charge.account, charge.bot, charge.client_order_id, charge.fill_id, charge.symbol,
             decimal_to_text(charge.amount), datetime_to_text(charge.ts), charge.description),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[VenueCharge]:
        clause, params = where([("account = ?", account), ("bot = ?", bot)])
        rows = self._db.all("SELECT charge_id, account, bot, client_order_id, fill_id, symbol, amount, ts, description"
                            f" FROM venue_charges{clause} ORDER BY rowid", params)
        return [VenueCharge(charge_id=row["charge_id"], account=row["account"], bot=row["bot"],
                            client_order_id=row["client_order_id"], fill_id=row["fill_id"], symbol=row["symbol"],
                            amount=text_to_decimal(row["amount"]), ts=text_to_datetime(row["ts"]),
                            description=row["description"]) for row in rows]
