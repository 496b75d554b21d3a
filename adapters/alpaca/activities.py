"""FILL account activities: every execution of the account, paged oldest first."""

from __future__ import annotations

from datetime import datetime, timedelta

from alpaca.trading.client import TradingClient

from adapters.alpaca.http import ReadPolicy
from adapters.alpaca.mapping import Execution, execution_from_activity
from adapters.alpaca.schemas import payload_list

PAGE = 100  # Alpaca's maximum page size for account activities


def read_executions(client: TradingClient, reads: ReadPolicy, *, since: datetime | None,
                    call: str) -> list[Execution]:
    """Every page (page_token = the last activity's id), each page one governed, retried read;
    executions at or after `since` (all when None), oldest first."""
    params: dict[str, object] = {"direction": "asc", "page_size": PAGE}
    if since is not None:
        # `after` is exclusive: ask from a millisecond earlier, keep ts >= since.
        params["after"] = (since - timedelta(milliseconds=1)).isoformat()
    executions: list[Execution] = []
    while True:
        page = reads.read(call, lambda: client.get("/account/activities/FILL", dict(params)))
        items = payload_list(page, call=call, what="fill activity")
        executions += [execution_from_activity(item.raw, call=call) for item in items]
        if len(items) < PAGE:
            break
        params["page_token"] = items[-1].str("id")
    if since is not None:
        executions = [e for e in executions if e.ts >= since]
    # Executions in the same millisecond come in activity-id order, whose tail is random: within
    # an order, the cumulative quantity says which came first.
    return sorted(executions, key=lambda e: (e.ts, e.cumulative_quantity))
