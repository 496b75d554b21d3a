"""Running the platform: run-time settings, bots' desired run state, daily dashboard
snapshots and per-minute venue API health (application/trading/ports.py)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    mapping_from_json,
    optional_datetime_to_text,
    text_to_datetime,
    text_to_optional_datetime,
)
from application.reports.ports import DailySnapshot
from application.trading.ports import BotRun, DesiredState
from application.venues.ports import VenueHealthBucket


class SqliteSettings:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.one("SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else mapping_from_json(row["value"])

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, json.dumps(value, sort_keys=True), datetime_to_text(at)),
        )


class SqliteBotRuns:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, *, account: str, bot: str) -> BotRun | None:
        row = self._db.one("SELECT * FROM bot_runs WHERE account = ? AND bot = ?", (account, bot))
        return None if row is None else _bot_run(row)

    def set(self, run: BotRun) -> None:
        self._db.execute(
            "INSERT INTO bot_runs (account, bot, desired, actor, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account, bot) DO UPDATE SET desired = excluded.desired, actor = excluded.actor,"
            " reason = excluded.reason, updated_at = excluded.updated_at",
            (run.account, run.bot, run.desired.value, run.actor, run.reason, datetime_to_text(run.updated_at)),
        )

    def list(self, *, account: str | None = None) -> list[BotRun]:
        clause, params = where([("account = ?", account)])
        return [_bot_run(r) for r in self._db.all(f"SELECT * FROM bot_runs{clause} ORDER BY account, bot", params)]


def _bot_run(row: Any) -> BotRun:
    return BotRun(account=row["account"], bot=row["bot"], desired=DesiredState(row["desired"]), actor=row["actor"],
                  reason=row["reason"], updated_at=text_to_datetime(row["updated_at"]))


class SqliteSnapshots:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def put(self, snapshot: DailySnapshot) -> None:
        self._db.execute(
            "INSERT INTO daily_snapshots (day, scope, taken_at, figures) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (scope, day) DO UPDATE SET taken_at = excluded.taken_at, figures = excluded.figures",
            (snapshot.day.isoformat(), snapshot.scope, datetime_to_text(snapshot.taken_at),
             json.dumps(dict(snapshot.figures), sort_keys=True)),
        )

    def list(self, *, scope: str, since: date) -> list[DailySnapshot]:
        rows = self._db.all("SELECT * FROM daily_snapshots WHERE scope = ? AND day >= ? ORDER BY day",
                            (scope, since.isoformat()))
        return [DailySnapshot(day=date.fromisoformat(r["day"]), scope=r["scope"],
                              taken_at=text_to_datetime(r["taken_at"]), figures=mapping_from_json(r["figures"]))
                for r in rows]


class SqliteVenueHealth:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def add(self, bucket: VenueHealthBucket) -> None:
        # Read, merge, write: a writing unit of work holds SQLite's write lock (BEGIN
        # IMMEDIATE), so no other process merges into the same row meanwhile.
        key = (bucket.venue, bucket.operation, datetime_to_text(bucket.minute))
        row = self._db.one("SELECT * FROM venue_health WHERE venue = ? AND operation = ? AND minute = ?", key)
        merged = bucket if row is None else _bucket(row).merged(bucket)
        self._db.execute(
            "INSERT INTO venue_health (venue, operation, minute, calls, errors, latency_sum_ms, latency_max_ms,"
            " histogram, last_success_at, last_error_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (venue, operation, minute) DO UPDATE SET calls = excluded.calls,"
            " errors = excluded.errors, latency_sum_ms = excluded.latency_sum_ms,"
            " latency_max_ms = excluded.latency_max_ms, histogram = excluded.histogram,"
            " last_success_at = excluded.last_success_at, last_error_at = excluded.last_error_at,"
            " last_error = excluded.last_error",
            (*key, merged.calls, merged.errors, merged.latency_sum_ms, merged.latency_max_ms,
             json.dumps(list(merged.histogram)), optional_datetime_to_text(merged.last_success_at),
             optional_datetime_to_text(merged.last_error_at), merged.last_error),
        )

    def list(self, *, since: datetime, venue: str | None = None) -> list[VenueHealthBucket]:
        clause, params = where([("minute >= ?", datetime_to_text(since)), ("venue = ?", venue)])
        rows = self._db.all(f"SELECT * FROM venue_health{clause} ORDER BY venue, operation, minute", params)
        return [_bucket(r) for r in rows]

    def prune(self, *, before: datetime) -> int:
        return self._db.execute("DELETE FROM venue_health WHERE minute < ?", (datetime_to_text(before),))


def _bucket(row: Any) -> VenueHealthBucket:
    return VenueHealthBucket(
        venue=row["venue"], operation=row["operation"], minute=text_to_datetime(row["minute"]),
        calls=row["calls"], errors=row["errors"], latency_sum_ms=row["latency_sum_ms"],
        latency_max_ms=row["latency_max_ms"], histogram=tuple(json.loads(row["histogram"])),
        last_success_at=text_to_optional_datetime(row["last_success_at"]),
        last_error_at=text_to_optional_datetime(row["last_error_at"]), last_error=row["last_error"],
    )
