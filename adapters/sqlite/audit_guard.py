"""The AuditTrailGuard port (application/golive/infrastructure.py) on a SQLite store.

The proof is made on a connection of its own, in one transaction that is always rolled back:
the audit trail's triggers are read from sqlite_master, then an UPDATE and a DELETE of its
newest row are tried (SQLite's triggers are per row, so a probe row is added first when the
trail is empty). A refusal is the trigger's RAISE(ABORT); anything else that succeeds would be
undone by the rollback, so the proof never changes the store.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from adapters.sqlite.connection import open_connection
from adapters.sqlite.errors import translate_errors
from adapters.sqlite.store import SqliteStore
from application.golive.infrastructure import AppendOnlyProof


class SqliteAuditGuard:
    def __init__(self, *, store: SqliteStore) -> None:
        self._store = store

    def prove_append_only(self) -> AppendOnlyProof:
        path = self._store.path
        connection = open_connection(path, create=False)
        try:
            with translate_errors(path):
                connection.execute("BEGIN IMMEDIATE")
                try:
                    return self._prove(connection)
                finally:
                    connection.execute("ROLLBACK")
        finally:
            connection.close()

    @staticmethod
    def _prove(connection: sqlite3.Connection) -> AppendOnlyProof:
        guards = tuple(row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log' ORDER BY name"))
        row = connection.execute("SELECT max(id) FROM audit_log").fetchone()
        newest = row[0] if row else None
        if newest is None:
            now = datetime.now(timezone.utc).isoformat()
            newest = connection.execute(
                "INSERT INTO audit_log (ts, recorded_at, kind, severity, message) VALUES (?, ?, 'session', 'info', "
                "'append-only probe (rolled back)')", (now, now)).lastrowid
        refusals = []
        refused = {}
        for operation, statement in (("UPDATE", "UPDATE audit_log SET message = message || '' WHERE id = ?"),
                                     ("DELETE", "DELETE FROM audit_log WHERE id = ?")):
            connection.execute("SAVEPOINT probe")
            try:
                connection.execute(statement, (newest,))
                refused[operation] = False
            except sqlite3.DatabaseError as exc:
                refused[operation] = True
                refusals.append(str(exc))
            connection.execute("ROLLBACK TO probe")
            connection.execute("RELEASE probe")
        return AppendOnlyProof(engine="sqlite", guards=guards, update_refused=refused["UPDATE"],
                               delete_refused=refused["DELETE"], refusal=refusals[0] if refusals else "")
