"""`quantshift snapshots`: the dashboard's daily snapshots. `take` is what `quantshift serve`
runs every few minutes, for a cron job instead (or as well: a second run the same UTC day
replaces the first); `list` shows what is stored."""

from __future__ import annotations

from typing import Annotated

import typer

from application.reports.dashboard_stats import SCOPE_ALL, recent_snapshots, take_snapshot
from application.reports.ports import DailySnapshot
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, container_for
from entrypoints.cli.output import print_json, print_table

snapshots_app = typer.Typer(help="The dashboard's daily snapshots (one per UTC day and scope).", no_args_is_help=True)


def _json(snapshot: DailySnapshot) -> dict[str, object]:
    return {"day": snapshot.day.isoformat(), "scope": snapshot.scope, "taken_at": snapshot.taken_at.isoformat(),
            "figures": dict(snapshot.figures)}


@snapshots_app.command("take")
def take(config: ConfigOption = None, json_output: JsonOption = False) -> None:
    """Store today's figures for all bots together and for each bot (replacing today's, if any)."""
    with cli_errors():
        container = container_for(config)
        store = container.store()
        taken = take_snapshot(store, container.clock(), bots=container.bots(),
                              reader=lambda: store.unit_of_work(read_only=True))
    if json_output:
        print_json([_json(s) for s in taken])
        return
    print(f"snapshot of {taken[0].day.isoformat()} taken for {SCOPE_ALL} and {len(taken) - 1} bots")


@snapshots_app.command("list")
def list_command(
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="UTC days, today included.")] = 7,
    scope: Annotated[str, typer.Option("--scope", help='"all", or "bot:<account>/<bot>".')] = SCOPE_ALL,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """The stored snapshots of one scope, oldest first."""
    with cli_errors():
        container = container_for(config)
        with container.store().unit_of_work(read_only=True) as uow:
            found = recent_snapshots(uow, scope=scope, now=container.clock().now(), days=days)
    if json_output:
        print_json([_json(s) for s in found])
        return
    if not found:
        print(f"no snapshot of {scope} in the last {days} days")
        return
    print_table(f"Daily snapshots ({scope})", ["day", "taken at", "equity", "P&L today", "drawdown", "trades",
                                               "open positions", "bots up/stale/halted"], [
        (s.day.isoformat(), f"{s.taken_at:%H:%M:%S}", s.figures.get("equity"), s.figures.get("pnl_today"),
         s.figures.get("drawdown"), s.figures.get("trades_total"), s.figures.get("open_positions"),
         f"{s.figures.get('bots_up')}/{s.figures.get('bots_stale')}/{s.figures.get('bots_halted')}")
        for s in found
    ])
