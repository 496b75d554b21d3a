"""Account activities, paged oldest first: FILL (every execution of the account) and FEE
(the regulatory fees Alpaca posts at the end of the day)."""

from __future__ import annotations

from datetime import datetime, timedelta

from alpaca.trading.client import TradingClient

from adapters.alpaca.http import ReadPolicy
from adapters.alpaca.mapping import Execution, execution_from_activity
from adapters.alpaca.schemas import Payload, payload_list

PAGE = 100  # Alpaca's maximum page size for account activities


def read_activities(client: TradingClient, reads: ReadPolicy, *, kind: str, since: datetime | None,
                    call: str) -> list[Payload]:
    """Every page of one activity type (page_token = the last activity's id), each page one
    governed, retried read, oldest first."""
    params: dict[str, object] = {"direction": "asc", "page_size": PAGE}
    if since is not None:
        # `after` is exclusive: ask from a millisecond earlier (callers keep ts >= since).
        params["after"] = (since - timedelta(milliseconds=1)).isoformat()
    items: list[Payload] = []
    while True:
        page = payload_list(reads.read(call, lambda: client.get(f"/account/activities/{kind}", dict(params))),
                            call=call, what=f"{kind} activity")
        items += page
        if len(page) < PAGE:
            return items
        params["page_token"] = page[-1].str("id")


def read_executions(client: TradingClient, reads: ReadPolicy, *, since: datetime | None,
                    call: str) -> list[Execution]:
    """Every FILL activity as an execution at or after `since` (all when None), oldest first."""
    executions = [execution_from_activity(item.raw, call=call)
                  for item in read_activities(client, reads, kind="FILL", since=since, call=call)]
    if since is not None:
        executions = [e for e in executions if e.ts >= since]
    # Executions in the same millisecond come in activity-id order, whose tail is random: within
    # an order, the cumulative quantity says which came first.
    return sorted(executions, key=lambda e: (e.ts, e.cumulative_quantity))
