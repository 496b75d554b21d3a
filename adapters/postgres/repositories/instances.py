"""Running instances (LIVE / STANDBY), upserted with each beat."""

from __future__ import annotations

from adapters.postgres.connection import Statements, where
from adapters.postgres.converter import checked_datetime, utc
from application.records import InstanceBeat, InstanceRole

_COLUMNS = "instance, account, role, pid, host, bots, beat_at, interval_seconds"


class PostgresInstances:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def beat(self, instance: InstanceBeat) -> None:
        i = instance
        self._db.execute(
            f"INSERT INTO instances ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (instance) DO UPDATE SET account = excluded.account, role = excluded.role,"
            " pid = excluded.pid, host = excluded.host, bots = excluded.bots, beat_at = excluded.beat_at,"
            " interval_seconds = excluded.interval_seconds",
            (i.instance, i.account, i.role.value, i.pid, i.host, i.bots, checked_datetime(i.beat_at),
             float(i.interval_seconds)),
        )

    def list(self, *, account: str | None = None) -> list[InstanceBeat]:
        clause, params = where([("account = %s", account)])
        rows = self._db.all(f"SELECT {_COLUMNS} FROM instances{clause} ORDER BY account, instance", params)
        return [
            InstanceBeat(instance=r["instance"], account=r["account"], role=InstanceRole(r["role"]), pid=r["pid"],
                         host=r["host"], bots=r["bots"], beat_at=utc(r["beat_at"]),
                         interval_seconds=r["interval_seconds"])
            for r in rows
        ]
