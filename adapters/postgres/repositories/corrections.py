"""Fill corrections (busts, restatements) and venue charges: rows added once, never changed."""

from __future__ import annotations

from adapters.postgres.connection import Statements, where
from adapters.postgres.converter import checked_datetime, checked_decimal, optional_decimal, utc
from application.records import VenueCharge
from domain.orders.fill_corrections import FillCorrection


class PostgresFillCorrections:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, correction: FillCorrection, *, account: str, bot: str) -> bool:
        changed = self._db.execute(
            "INSERT INTO fill_corrections (correction_id, account, bot, fill_id, quantity, price, ts, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (correction_id) DO NOTHING",
            (correction.correction_id, account, bot, correction.fill_id, checked_decimal(correction.quantity),
             optional_decimal(correction.price), checked_datetime(correction.ts), correction.reason),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[FillCorrection]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all("SELECT correction_id, fill_id, quantity, price, ts, reason FROM fill_corrections"
                            f"{clause} ORDER BY seq", params)
        return [FillCorrection(correction_id=row["correction_id"], fill_id=row["fill_id"], quantity=row["quantity"],
                               price=row["price"], ts=utc(row["ts"]), reason=row["reason"]) for row in rows]


class PostgresVenueCharges:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, charge: VenueCharge) -> bool:
        changed = self._db.execute(
            "INSERT INTO venue_charges (charge_id, account, bot, client_order_id, fill_id, symbol, amount, ts,"
            " description) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (charge_id) DO NOTHING",
            (charge.charge_id, charge.account, charge.bot, charge.client_order_id, charge.fill_id, charge.symbol,
             checked_decimal(charge.amount), checked_datetime(charge.ts), charge.description),
        )
        return changed == 1

    def list(self, *, account: str, bot: str | None = None) -> list[VenueCharge]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all("SELECT charge_id, account, bot, client_order_id, fill_id, symbol, amount, ts, description"
                            f" FROM venue_charges{clause} ORDER BY seq", params)
        return [VenueCharge(charge_id=row["charge_id"], account=row["account"], bot=row["bot"],
                            client_order_id=row["client_order_id"], fill_id=row["fill_id"], symbol=row["symbol"],
                            amount=row["amount"], ts=utc(row["ts"]), description=row["description"]) for row in rows]
