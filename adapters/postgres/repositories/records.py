"""Heartbeats, the durable trading switch, the audit trail and session records."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

import psycopg

from adapters.postgres.connection import (
    LOCK_CONTROL,
    LOCK_SIMULATION_ACCOUNT,
    SCHEMA_KEY,
    Row,
    Statements,
    sql_limit,
    where,
)
from adapters.postgres.converter import (
    checked_datetime,
    mapping_from_jsonb,
    optional_datetime,
    optional_utc,
    to_jsonb,
    utc,
)
from application.records import (
    AuditEntry,
    AuditKind,
    BotRunState,
    ControlState,
    Heartbeat,
    SessionRecord,
)
from domain.errors import StoreUnavailable
from domain.risk.trading_state import TradingState

log = logging.getLogger(__name__)

# How long a change of the switch waits for the releases in progress (each takes a few ms).
# Past that it lands anyway: a kill switch is never held up by a stuck transaction, and a
# release not yet at its guard reads the change when it gets there (see guard()).
CHANGE_WAIT_MS = 1000

_HEARTBEAT_COLUMNS = "account, bot, pid, host, mode, started_at, beat_at, interval_seconds, run_state, detail"


class PostgresHeartbeats:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def beat(self, heartbeat: Heartbeat) -> None:
        h = heartbeat
        self._db.execute(
            f"INSERT INTO heartbeats ({_HEARTBEAT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (account, bot) DO UPDATE SET pid = excluded.pid, host = excluded.host,"
            " mode = excluded.mode, started_at = excluded.started_at, beat_at = excluded.beat_at,"
            " interval_seconds = excluded.interval_seconds, run_state = excluded.run_state,"
            " detail = excluded.detail",
            (
                h.account, h.bot, h.pid, h.host, h.mode, checked_datetime(h.started_at),
                checked_datetime(h.beat_at), float(h.interval_seconds), h.run_state.value, h.detail,
            ),
        )

    def list(self, *, account: str | None = None) -> list[Heartbeat]:
        clause, params = where([("account = %s", account)])
        rows = self._db.all(f"SELECT {_HEARTBEAT_COLUMNS} FROM heartbeats{clause} ORDER BY account, bot", params)
        return [
            Heartbeat(
                account=row["account"],
                bot=row["bot"],
                pid=row["pid"],
                host=row["host"],
                mode=row["mode"],
                started_at=utc(row["started_at"]),
                beat_at=utc(row["beat_at"]),
                interval_seconds=row["interval_seconds"],
                run_state=BotRunState(row["run_state"]),
                detail=row["detail"],
            )
            for row in rows
        ]


class PostgresControl:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def get(self, scope: str) -> ControlState | None:
        row = self._db.one("SELECT scope, state, reason, actor, changed_at FROM control WHERE scope = %s", (scope,))
        return None if row is None else _control_from(row)

    def guard(self) -> None:
        # A shared lock every release takes before reading the switch, held to its commit;
        # set() takes it exclusively. Under READ COMMITTED each statement reads what was
        # committed when it started, so the reads after the guard see every change that
        # committed before it, and a change waits for the releases in progress.
        self._db.one(f"SELECT pg_advisory_xact_lock_shared({LOCK_CONTROL}, {SCHEMA_KEY})")

    def set(self, state: ControlState) -> None:
        self._exclude_releases()
        self._db.execute(
            "INSERT INTO control (scope, state, reason, actor, changed_at) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (scope) DO UPDATE SET state = excluded.state, reason = excluded.reason,"
            " actor = excluded.actor, changed_at = excluded.changed_at",
            (state.scope, state.state.value, state.reason, state.actor, checked_datetime(state.changed_at)),
        )

    def list(self) -> list[ControlState]:
        rows = self._db.all("SELECT scope, state, reason, actor, changed_at FROM control ORDER BY scope")
        return [_control_from(row) for row in rows]

    def _exclude_releases(self) -> None:
        """The guard's lock, exclusively, waiting at most CHANGE_WAIT_MS for it."""
        before = self._db.one("SELECT current_setting('lock_timeout') AS value")
        self._db.execute("SAVEPOINT control_change")
        self._db.one("SELECT set_config('lock_timeout', %s, true)", (f"{CHANGE_WAIT_MS}ms",))
        try:
            self._db.one(f"SELECT pg_advisory_xact_lock({LOCK_CONTROL}, {SCHEMA_KEY})")
        except StoreUnavailable as exc:
            if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                raise
            self._db.execute("ROLLBACK TO SAVEPOINT control_change")  # also restores lock_timeout
            log.warning("the trading switch changes without waiting for a release stuck over %d ms; "
                        "that release reads the change when it resumes", CHANGE_WAIT_MS)
            return
        self._db.execute("RELEASE SAVEPOINT control_change")
        self._db.one("SELECT set_config('lock_timeout', %s, true)", (before["value"] if before else "0",))


def _control_from(row: Row) -> ControlState:
    return ControlState(
        scope=row["scope"],
        state=TradingState(row["state"]),
        reason=row["reason"],
        actor=row["actor"],
        changed_at=utc(row["changed_at"]),
    )


_AUDIT_COLUMNS = "ts, recorded_at, kind, severity, account, bot, symbol, client_order_id, message, data"


class PostgresAuditLog:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def append(self, entry: AuditEntry) -> None:
        # recorded_at is always the server's clock (the column default, clock_timestamp()):
        # when it was written down, not when the caller says it was (ts is the domain time).
        e = entry
        self._db.execute(
            "INSERT INTO audit_log (ts, kind, severity, account, bot, symbol, client_order_id, message, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                checked_datetime(e.ts), e.kind.value, e.severity, e.account, e.bot, e.symbol, e.client_order_id,
                e.message, to_jsonb(self._db.converter, e.data),
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
            ("account = %s", account),
            ("symbol = %s", symbol),
            ("kind = %s", _kind_value(kind)),
            ("ts >= %s", optional_datetime(since)),
        ])
        if kinds or data_key:
            either = ["kind = ANY(%s)"] if kinds else []
            either += ["(data -> %s) IS NOT NULL"] if data_key else []
            clause += (" AND " if clause else " WHERE ") + "(" + " OR ".join(either) + ")"
            params = [*params, *([list(kinds)] if kinds else []), *([data_key] if data_key else [])]
        # The newest `limit` entries (after the newest `offset`), handed back oldest first.
        rows = self._db.all(
            f"SELECT * FROM (SELECT id, {_AUDIT_COLUMNS} FROM audit_log{clause} ORDER BY ts DESC, id DESC"
            " LIMIT %s OFFSET %s) AS newest ORDER BY ts, id",
            (*params, sql_limit(limit), max(offset, 0)),
        )
        return [
            AuditEntry(
                ts=utc(row["ts"]),
                kind=AuditKind(row["kind"]),
                message=row["message"],
                account=row["account"],
                bot=row["bot"],
                symbol=row["symbol"],
                client_order_id=row["client_order_id"],
                data=mapping_from_jsonb(row["data"]),
                severity=row["severity"],
                recorded_at=utc(row["recorded_at"]),
            )
            for row in rows
        ]

    def count(self, *, account: str | None = None, severity: str | None = None) -> int:
        clause, params = where([("account = %s", account), ("severity = %s", severity)])
        row = self._db.one(f"SELECT COUNT(*) AS n FROM audit_log{clause}", params)
        return int(row["n"]) if row else 0


def _kind_value(kind: str | AuditKind | None) -> str | None:
    # The port types kind as str; an AuditKind passed by mistake still filters right.
    return kind.value if isinstance(kind, AuditKind) else kind


_SIMULATION_ACCOUNT = re.compile(r"^sim-(\d+)$")
_SESSION_COLUMNS = "account, mode, seed, trading_days, started_at, finished_at, config, report"


class PostgresSessions:
    def __init__(self, statements: Statements) -> None:
        self._db = statements

    def new_simulation_account(self) -> str:
        # Unique under concurrency: the advisory lock is held until this transaction ends,
        # so a second caller waits for the first's start() to commit, then (a new statement,
        # a new snapshot under READ COMMITTED) sees that account and picks the next number.
        self._db.execute(f"SELECT pg_advisory_xact_lock({LOCK_SIMULATION_ACCOUNT}, {SCHEMA_KEY})")
        rows = self._db.all("SELECT account FROM sessions WHERE account LIKE %s", ("sim-%",))
        numbers = [int(m[1]) for row in rows if (m := _SIMULATION_ACCOUNT.match(row["account"]))]
        return f"sim-{max(numbers, default=0) + 1:04d}"

    def start(self, record: SessionRecord) -> None:
        # Upsert: a paper account restarted under the same id begins a fresh record.
        r = record
        converter = self._db.converter
        self._db.execute(
            f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (account) DO UPDATE SET mode = excluded.mode, seed = excluded.seed,"
            " trading_days = excluded.trading_days, started_at = excluded.started_at,"
            " finished_at = excluded.finished_at, config = excluded.config, report = excluded.report",
            (
                r.account, r.mode, r.seed, r.trading_days, checked_datetime(r.started_at),
                optional_datetime(r.finished_at), to_jsonb(converter, r.config),
                None if r.report is None else to_jsonb(converter, r.report),
            ),
        )

    def finish(self, *, account: str, finished_at: datetime, report: dict[str, object]) -> None:
        changed = self._db.execute(
            "UPDATE sessions SET finished_at = %s, report = %s WHERE account = %s",
            (checked_datetime(finished_at), to_jsonb(self._db.converter, report), account),
        )
        if changed != 1:
            raise LookupError(f"no session {account} to finish")

    def get(self, account: str) -> SessionRecord | None:
        row = self._db.one(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE account = %s", (account,))
        return None if row is None else _session_from(row)

    def list(self) -> list[SessionRecord]:
        rows = self._db.all(f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY started_at, account")
        return [_session_from(row) for row in rows]


def _session_from(row: Row) -> SessionRecord:
    report = row["report"]
    return SessionRecord(
        account=row["account"],
        mode=row["mode"],
        seed=row["seed"],
        trading_days=row["trading_days"],
        started_at=utc(row["started_at"]),
        config=mapping_from_jsonb(row["config"]),
        finished_at=optional_utc(row["finished_at"]),
        report=None if report is None else mapping_from_jsonb(report),
    )
