"""Each open position's current stop, upserted as it moves."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from adapters.postgres.connection import Statements, where
from adapters.postgres.converter import datetime_to_text, text_to_datetime
from domain.risk.stops import SarState, StopLevel

_COLUMNS = "account, bot, symbol, price, kind, reason, sar, updated_at"


def _sar_to_json(sar: SarState | None) -> str | None:
    if sar is None:
        return None
    return json.dumps({"sar": str(sar.sar), "extreme": str(sar.extreme), "af": str(sar.af),
                       "bar_ts": datetime_to_text(sar.bar_ts)})


def _sar_from_json(text: str | None) -> SarState | None:
    if text is None:
        return None
    raw = json.loads(text)
    return SarState(sar=Decimal(raw["sar"]), extreme=Decimal(raw["extreme"]), af=Decimal(raw["af"]),
                    bar_ts=text_to_datetime(raw["bar_ts"]))


class PostgresStops:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def upsert(self, *, account: str, bot: str, symbol: str, level: StopLevel, updated_at: datetime) -> None:
        self._db.execute(
            f"INSERT INTO stops ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (account, bot, symbol) DO UPDATE SET price = excluded.price, kind = excluded.kind,"
            " reason = excluded.reason, sar = excluded.sar, updated_at = excluded.updated_at",
            (account, bot, symbol, level.price, level.kind, level.reason, _sar_to_json(level.sar), updated_at),
        )

    def delete(self, *, account: str, bot: str, symbol: str) -> None:
        self._db.execute("DELETE FROM stops WHERE account = %s AND bot = %s AND symbol = %s", (account, bot, symbol))

    def list(self, *, account: str, bot: str | None = None) -> dict[tuple[str, str], StopLevel]:
        clause, params = where([("account = %s", account), ("bot = %s", bot)])
        rows = self._db.all(f"SELECT {_COLUMNS} FROM stops{clause} ORDER BY bot, symbol", params)
        return {
            (r["bot"], r["symbol"]): StopLevel(price=Decimal(r["price"]), kind=r["kind"], reason=r["reason"],
                                               sar=_sar_from_json(json.dumps(r["sar"]) if r["sar"] is not None else None))
            for r in rows
        }
