"""The AuditTrailGuard port (application/golive/infrastructure.py) on a Postgres store.

In one transaction that is always rolled back: the audit trail's enabled triggers and its
rules are read from the catalogue, then an UPDATE and a DELETE of it are tried, each inside a
savepoint (the statement-level triggers fire even when no row matches, so no row is touched).
"""

from __future__ import annotations

from typing import Any

import psycopg

from adapters.postgres.store import PostgresStore
from application.golive.infrastructure import AppendOnlyProof

# Triggers that fire: 'D' is disabled; 'O' (origin), 'A' (always) and 'R' (replica) fire in
# the matching session_replication_role.
_GUARDS = """
SELECT t.tgname AS name FROM pg_trigger t
 WHERE t.tgrelid = 'audit_log'::regclass AND NOT t.tgisinternal AND t.tgenabled <> 'D'
UNION ALL
SELECT r.rulename AS name FROM pg_rules r
 WHERE r.tablename = 'audit_log' AND r.schemaname = current_schema()
ORDER BY name
"""


class PostgresAuditGuard:
    def __init__(self, *, store: PostgresStore) -> None:
        self._store = store

    def prove_append_only(self) -> AppendOnlyProof:
        store = self._store
        store._ensure_schema()
        # A pooled connection the way a unit of work takes one; handed back rolled back.
        pool, connection = store._checkout(read_only=False)
        try:
            with store._translate_errors():
                try:
                    return self._prove(connection)
                finally:
                    connection.rollback()
        finally:
            store._checkin(pool, connection)

    @staticmethod
    def _prove(connection: psycopg.Connection[Any]) -> AppendOnlyProof:
        guards = tuple(str(row["name"]) for row in connection.execute(_GUARDS).fetchall())
        refusals = []
        refused = {}
        for operation, statement in (("UPDATE", "UPDATE audit_log SET message = message WHERE id = -1"),
                                     ("DELETE", "DELETE FROM audit_log WHERE id = -1")):
            try:
                with connection.transaction():  # a savepoint inside the outer transaction
                    connection.execute(statement)
                refused[operation] = False
            except psycopg.errors.InsufficientPrivilege as exc:
                refused[operation] = True
                refusals.append(exc.diag.message_primary or str(exc))
            except psycopg.errors.RaiseException as exc:
                refused[operation] = True
                refusals.append(exc.diag.message_primary or str(exc))
        return AppendOnlyProof(engine="postgres", guards=guards, update_refused=refused["UPDATE"],
                               delete_refused=refused["DELETE"], refusal=refusals[0] if refusals else "")
