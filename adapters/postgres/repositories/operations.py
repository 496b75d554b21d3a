"""Running the platform: run-time settings, bots' desired run state, daily dashboard
snapshots and per-minute venue API health (application/trading/ports.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from adapters.postgres.connection import Statements, where
from adapters.postgres.converter import checked_datetime, mapping_from_jsonb, optional_datetime, optional_utc, utc
from application.reports.ports import DailySnapshot
from application.trading.ports import BotRun, DesiredState
from application.venues.ports import VenueHealthBucket


class PostgresSettings:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.one("SELECT value FROM settings WHERE key = %s", (key,))
        return None if row is None else mapping_from_jsonb(row["value"])

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, Jsonb(value), checked_datetime(at)),
        )


class PostgresBotRuns:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str) -> BotRun | None:
        row = self._db.one("SELECT * FROM bot_runs WHERE account = %s AND bot = %s", (account, bot))
        return None if row is None else _bot_run(row)

    def set(self, run: BotRun) -> None:
        self._db.execute(
            "INSERT INTO bot_runs (account, bot, desired, actor, reason, updated_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (account, bot) DO UPDATE SET desired = excluded.desired, actor = excluded.actor,"
            " reason = excluded.reason, updated_at = excluded.updated_at",
            (run.account, run.bot, run.desired.value, run.actor, run.reason, checked_datetime(run.updated_at)),
        )

    def list(self, *, account: str | None = None) -> list[BotRun]:
        clause, params = where([("account = %s", account)])
        return [_bot_run(r) for r in self._db.all(f"SELECT * FROM bot_runs{clause} ORDER BY account, bot", params)]


def _bot_run(row: Any) -> BotRun:
    return BotRun(account=row["account"], bot=row["bot"], desired=DesiredState(row["desired"]), actor=row["actor"],
                  reason=row["reason"], updated_at=utc(row["updated_at"]))


class PostgresSnapshots:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def put(self, snapshot: DailySnapshot) -> None:
        self._db.execute(
            "INSERT INTO daily_snapshots (day, scope, taken_at, figures) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (scope, day) DO UPDATE SET taken_at = excluded.taken_at, figures = excluded.figures",
            (snapshot.day, snapshot.scope, checked_datetime(snapshot.taken_at), Jsonb(dict(snapshot.figures))),
        )

    def list(self, *, scope: str, since: date) -> list[DailySnapshot]:
        rows = self._db.all("SELECT * FROM daily_snapshots WHERE scope = %s AND day >= %s ORDER BY day",
                            (scope, since))
        return [DailySnapshot(day=r["day"], scope=r["scope"], taken_at=utc(r["taken_at"]),
                              figures=mapping_from_jsonb(r["figures"])) for r in rows]


class PostgresVenueHealth:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, bucket: VenueHealthBucket) -> None:
        b = bucket
        # One statement, so concurrent writers to the same minute add up under the row lock
        # the upsert takes; the histogram adds element-wise.
        self._db.execute(
            "INSERT INTO venue_health AS h (venue, operation, minute, calls, errors, latency_sum_ms, latency_max_ms,"
            " histogram, last_success_at, last_error_at, last_error)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (venue, operation, minute) DO UPDATE SET calls = h.calls + excluded.calls,"
            " errors = h.errors + excluded.errors, latency_sum_ms = h.latency_sum_ms + excluded.latency_sum_ms,"
            " latency_max_ms = greatest(h.latency_max_ms, excluded.latency_max_ms),"
            " histogram = ARRAY(SELECT a + b FROM unnest(h.histogram, excluded.histogram) AS t(a, b)),"
            " last_success_at = greatest(h.last_success_at, excluded.last_success_at),"
            " last_error = CASE WHEN excluded.last_error_at IS NOT NULL AND (h.last_error_at IS NULL"
            "   OR excluded.last_error_at >= h.last_error_at) THEN excluded.last_error ELSE h.last_error END,"
            " last_error_at = greatest(h.last_error_at, excluded.last_error_at)",
            (b.venue, b.operation, checked_datetime(b.minute), b.calls, b.errors, b.latency_sum_ms,
             b.latency_max_ms, list(b.histogram), optional_datetime(b.last_success_at),
             optional_datetime(b.last_error_at), b.last_error),
        )

    def list(self, *, since: datetime, venue: str | None = None) -> list[VenueHealthBucket]:
        clause, params = where([("minute >= %s", checked_datetime(since)), ("venue = %s", venue)])
        rows = self._db.all(f"SELECT * FROM venue_health{clause} ORDER BY venue, operation, minute", params)
        return [
            VenueHealthBucket(
                venue=r["venue"], operation=r["operation"], minute=utc(r["minute"]), calls=r["calls"],
                errors=r["errors"], latency_sum_ms=r["latency_sum_ms"], latency_max_ms=r["latency_max_ms"],
                histogram=tuple(r["histogram"]), last_success_at=optional_utc(r["last_success_at"]),
                last_error_at=optional_utc(r["last_error_at"]), last_error=r["last_error"],
            )
            for r in rows
        ]

    def prune(self, *, before: datetime) -> int:
        return self._db.execute("DELETE FROM venue_health WHERE minute < %s", (checked_datetime(before),))
