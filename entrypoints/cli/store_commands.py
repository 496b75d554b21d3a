"""`quantshift db upgrade|status` and `quantshift audit`: the store, read and kept current."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Annotated

import typer

from application.records import AuditEntry
from application.reports.audit_query import KIND_FILTERS, AuditQuery, audit_page, kind_filter

from entrypoints.cli.backup_command import register as register_backup_commands
from entrypoints.cli.common import ConfigOption, JsonOption, checked_symbol, cli_errors, container_for, fail, reading_container
from entrypoints.cli.output import make_output_converter, print_json, print_table

db_app = typer.Typer(help="The store: schema migrations and their status.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Apply pending schema migrations (also done automatically on start)."""
    with cli_errors():
        store = container_for(config).store()
        applied = store.migrate()
        version = store.schema_version()
    if json_output:
        print_json({"database": str(store.path), "applied": applied, "version": version})
    else:
        print(f"{store.path}: " + (f"applied {', '.join(map(str, applied))}; " if applied else "up to date; ")
              + f"schema version {version}")


@db_app.command("status")
def db_status(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Which database is used and its schema version (without changing anything)."""
    with cli_errors():
        store = reading_container(config).store()
        version = store.schema_version()
        latest = store.latest_version()
    if json_output:
        print_json({"database": str(store.path), "version": version, "latest": latest, "up_to_date": version == latest})
    else:
        state = "up to date" if version == latest else f"behind: run `quantshift db upgrade` ({latest} available)"
        print(f"{store.path}: schema version {version}, {state}")


register_backup_commands(db_app)  # db backup, db verify-backup


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date or time like 2025-01-02 or 2025-01-02T15:30:00Z", code=2)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def audit(
    symbol: Annotated[str | None, typer.Option("--symbol", help="Only entries about this symbol.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only entries at or after this time (ISO 8601, UTC if no offset).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account (paper, sim-0001, ...).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: " + "; ".join(
        f"{name} ({f.means})" if f.means != name else name for name, f in KIND_FILTERS.items()) + ".")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1_000_000, help="Entries per page (the newest first).")] = 200,
    page: Annotated[int, typer.Option("--page", min=1, help="1: the newest --limit entries; 2: the ones before them; ...")] = 1,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The append-only audit trail: every decision with its why (signals, risk checks with
    their figures, sizing arithmetic, order events, halts and resumes with who and why).
    Shows the newest --limit entries (200), oldest first; --page 2 the ones before them."""
    since_at = _parse_since(since)
    with cli_errors():
        symbol = checked_symbol(symbol)
        query = AuditQuery(account=account, symbol=symbol, kind=kind, since=since_at, limit=limit, page=page)
        if kind is not None:
            kind_filter(kind)  # an unknown kind is refused before the store is opened
        store = reading_container(config).store()
        with store.unit_of_work(read_only=True) as uow:
            found = audit_page(uow, query)
    entries = found.entries
    more = (f"page {found.page} ({len(entries)} entries, newest pages first): older ones on --page {found.page + 1}"
            if found.older else "")
    if json_output:
        converter = make_output_converter()
        print_json([converter.unstructure(e) for e in entries])
        if more:
            print(more, file=sys.stderr)  # stdout stays the JSON
        return
    print_table(f"Audit trail ({len(entries)}{', page ' + str(found.page) if found.page > 1 else ''})",
                ["time (UTC)", "kind", "sev", "account", "bot", "symbol", "what", "why"], [
        (f"{e.ts:%Y-%m-%d %H:%M:%S}", e.kind.value, e.severity, e.account, e.bot, e.symbol, e.message, why(e))
        for e in entries
    ])
    if more:
        print(more)


def why(entry: AuditEntry) -> str:
    """The reason an entry's data holds (an operator's, or the strategy's signal), for the table:
    --json has it, a person should not need --json to read it."""
    data = entry.data
    reason = data.get("reason")
    if isinstance(reason, str) and reason and reason not in entry.message:
        return reason
    signal = data.get("signal")
    if isinstance(signal, dict) and isinstance(signal.get("reason"), str):
        return signal["reason"]
    return ""
