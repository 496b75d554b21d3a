"""`quantshift reconcile`: compare the store with the venue and print the report."""

from __future__ import annotations

from typing import Annotated

import typer

from application.reconcile import reconcile
from entrypoints.cli.common import EXIT_ERROR, ConfigOption, JsonOption, cli_errors, container_for
from entrypoints.cli.output import print_json, print_table
from entrypoints.cli.paper_realtime import PAPER_ACCOUNT
from entrypoints.container import journaled_broker


def reconcile_command(
    account: Annotated[str, typer.Option("--account", help="The account whose simulated venue to compare with.")] = PAPER_ACCOUNT,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare the store with the venue (open orders, fills, positions); adopt what the venue
    says happened, and list every mismatch that cannot be explained (exit code 4 if any).

    A running bot reconciles at start and every 30 s by itself (see `quantshift audit --kind session`);
    this command needs the venue to itself, so stop the bot first.
    """
    with cli_errors():
        container = container_for(config)
        broker = journaled_broker(container, account=account)
        report = reconcile(account=account, broker=broker, uow_factory=container.store(), now=container.clock().now())
    if json_output:
        print_json(report.to_json())
    else:
        print(f"reconciliation of {account}: {'OK' if report.ok else 'MISMATCH'}")
        print_table("Positions", ["symbol", "store", "venue"], [
            (symbol, store, venue) for symbol, (store, venue) in sorted(report.positions.items())
        ])
        for line in report.adopted:
            print(f"adopted: {line}")
        if report.backfilled_fills:
            print(f"backfilled {report.backfilled_fills} fill(s) the store had missed")
        for line in report.mismatches:
            print(f"MISMATCH: {line}")
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)
