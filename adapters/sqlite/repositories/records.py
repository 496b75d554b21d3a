"""Heartbeats, the durable trading switch, the audit trail and session records."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from adapters.sqlite.connection import Statements, where
from adapters.sqlite.converter import (
    datetime_to_text,
    mapping_from_json,
    optional_datetime_to_text,
    text_to_datetime,
    text_to_optional_datetime,
    to_json,
)
from application.records import (
    AuditEntry,
    AuditKind,
    BotRunState,
    ControlState,
    Heartbeat,
    SessionRecord,
)
from domain.risk.trading_state import TradingState

_HEARTBEAT_COLUMNS = "account, bot, pid, host, mode, started_at, beat_at, interval_seconds, run_state, detail"


class SqliteHeartbeats:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def beat(self, heartbeat: Heartbeat) -> None:
        h = heartbeat
        self._db.execute(
            f"INSERT INTO heartbeats ({_HEARTBEAT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account, bot) DO UPDATE SET pid = excluded.pid, host = excluded.host,"
            " mode = excluded.mode, started_at = excluded.started_at, beat_at = excluded.beat_at,"
            " interval_seconds = excluded.interval_seconds, run_state = excluded.run_state,"
            " detail = excluded.detail",
            (
                h.account, h.bot, h.pid, h.host, h.mode, datetime_to_text(h.started_at),
                datetime_to_text(h.beat_at), float(h.interval_seconds), h.run_state.value, h.detail,
            ),
        )

    def list(self, *, account: str | None = None) -> list[Heartbeat]:
        clause, params = where([("account = ?", account)])
        rows = self._db.all(f"SELECT {_HEARTBEAT_COLUMNS} FROM heartbeats{clause} ORDER BY account, bot", params)
        return [
            Heartbeat(
                account=row["account"],
                bot=row["bot"],
                pid=row["pid"],
                host=row["host"],
                mode=row["mode"],
                started_at=text_to_datetime(row["started_at"]),
                beat_at=text_to_datetime(row["beat_at"]),
                interval_seconds=row["interval_seconds"],
                run_state=BotRunState(row["run_state"]),
                detail=row["detail"],
            )
            for row in rows
        ]


class SqliteControl:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, scope: str) -> ControlState | None:
        row = self._db.one("SELECT scope, state, reason, actor, changed_at FROM control WHERE scope = ?", (scope,))
        return None if row is None else _control_from(row)

    def guard(self) -> None:
        # Nothing to take: a writing unit of work holds the database's write lock from its
        # BEGIN IMMEDIATE, so no change of the switch can commit between its reads and its end.
        return None

    def set(self, state: ControlState) -> None:
        self._db.execute(
            "INSERT INTO control (scope, state, reason, actor, changed_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET state = excluded.state, reason = excluded.reason,"
            " actor = excluded.actor, changed_at = excluded.changed_at",
            (state.scope, state.state.value, state.reason, state.actor, datetime_to_text(state.changed_at)),
        )

    def list(self) -> list[ControlState]:
        rows = self._db.all("SELECT scope, state, reason, actor, changed_at FROM control ORDER BY scope")
        return [_control_from(row) for row in rows]


def _control_from(row: sqlite3.Row) -> ControlState:
    return ControlState(
        scope=row["scope"],
        state=TradingState(row["state"]),
        reason=row["reason"],
        actor=row["actor"],
        changed_at=text_to_datetime(row["changed_at"]),
    )


_AUDIT_COLUMNS = "ts, recorded_at, kind, severity, account, bot, symbol, client_order_id, message, data"


class SqliteAuditLog:
    def __init__(self, statements: Statements, *, wall_clock: Callable[[], datetime]) -> None:
        self._db = statements
        self._wall_clock = wall_clock

    def append(self, entry: AuditEntry) -> None:
        # recorded_at is always the store's wall clock: when it was written down, not
        # when the caller says it was (ts already carries the domain time).
        e = entry
        self._db.execute(
            f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                datetime_to_text(e.ts), datetime_to_text(self._wall_clock()), e.kind.value, e.severity,
                e.account, e.bot, e.symbol, e.client_order_id, e.message, to_json(self._db.converter, e.data),
            ),
        )

    def list(
        self,
        *,
        account: str | None = None,
        symbol: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
        kinds: Sequence[str] = (),
        data_key: str | None = None,
        offset: int = 0,
    ) -> list[AuditEntry]:
        clause, params = where([
            ("account = ?", account),
            ("symbol = ?", symbol),
            ("kind = ?", _kind_value(kind)),
            ("ts >= ?", optional_datetime_to_text(since)),
        ])
        if kinds or data_key:
            either = [f"kind IN ({', '.join('?' * len(kinds))})"] if kinds else []
            either += ["json_type(data, ?) IS NOT NULL"] if data_key else []
            clause += (" AND " if clause else " WHERE ") + "(" + " OR ".join(either) + ")"
            params = [*params, *kinds, *([f'$."{data_key}"'] if data_key else [])]
        # The newest `limit` entries (after the newest `offset`), handed back oldest first.
        rows = self._db.all(
            f"SELECT * FROM (SELECT id, {_AUDIT_COLUMNS} FROM audit_log{clause} ORDER BY ts DESC, id DESC"
            " LIMIT ? OFFSET ?) ORDER BY ts, id",
            (*params, limit, offset),
        )
        return [
            AuditEntry(
                ts=text_to_datetime(row["ts"]),
                kind=AuditKind(row["kind"]),
                message=row["message"],
                account=row["account"],
                bot=row["bot"],
                symbol=row["symbol"],
                client_order_id=row["client_order_id"],
                data=mapping_from_json(row["data"]),
                severity=row["severity"],
                recorded_at=text_to_datetime(row["recorded_at"]),
            )
            for row in rows
        ]

    def count(self, *, account: str | None = None, severity: str | None = None) -> int:
        clause, params = where([("account = ?", account), ("severity = ?", severity)])
        row = self._db.one(f"SELECT COUNT(*) FROM audit_log{clause}", params)
        return int(row[0]) if row else 0


def _kind_value(kind: str | AuditKind | None) -> str | None:
    # The port types kind as str; an AuditKind passed by mistake still filters right.
    return kind.value if isinstance(kind, AuditKind) else kind


_SIMULATION_ACCOUNT = re.compile(r"^sim-(\d+)$")
_SESSION_COLUMNS = "account, mode, seed, trading_days, started_at, finished_at, config, report"


class SqliteSessions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def new_simulation_account(self) -> str:
        # Unique under concurrency because the unit of work holds BEGIN IMMEDIATE (the
        # write lock) until the caller's start() in the same transaction commits.
        rows = self._db.all("SELECT account FROM sessions WHERE account LIKE 'sim-%'")
        numbers = [int(m[1]) for row in rows if (m := _SIMULATION_ACCOUNT.match(row[0]))]
        return f"sim-{max(numbers, default=0) + 1:04d}"

    def start(self, record: SessionRecord) -> None:
        # Upsert: a paper account restarted under the same id begins a fresh record.
        r = record
        self._db.execute(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (account) DO UPDATE SET mode = excluded.mode, seed = excluded.seed,"
            " trading_days = excluded.trading_days, started_at = excluded.started_at,"
            " finished_at = excluded.finished_at, config = excluded.config, report = excluded.report",
            (
                r.account, r.mode, r.seed, r.trading_days, datetime_to_text(r.started_at),
                optional_datetime_to_text(r.finished_at), to_json(self._db.converter, r.config),
                None if r.report is None else to_json(self._db.converter, r.report),
            ),
        )

    def finish(self, *, account: str, finished_at: datetime, report: dict[str, object]) -> None:
        changed = self._db.execute(
            "UPDATE sessions SET finished_at = ?, report = ? WHERE account = ?",
            (datetime_to_text(finished_at), to_json(self._db.converter, report), account),
        )
        if changed != 1:
            raise LookupError(f"no session {account} to finish")

    def get(self, account: str) -> SessionRecord | None:
        row = self._db.one(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE account = ?", (account,))
        return None if row is None else _session_from(row)

    def list(self) -> list[SessionRecord]:
        rows = self._db.all(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY started_at, account")
        return [_session_from(row) for row in rows]


def _session_from(row: sqlite3.Row) -> SessionRecord:
    report = row["report"]
    return SessionRecord(
        account=row["account"],
        mode=row["mode"],
        seed=row["seed"],
        trading_days=row["trading_days"],
        started_at=text_to_datetime(row["started_at"]),
        config=mapping_from_json(row["config"]),
        finished_at=text_to_optional_datetime(row["finished_at"]),
        report=None if report is None else mapping_from_json(report),
    )
