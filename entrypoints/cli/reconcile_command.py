"""`quantshift reconcile`: compare the store with the venue and print the report."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from application.trading.reconcile import reconcile
from domain.errors import ConfigurationError
from entrypoints.cli.common import EXIT_ERROR, ConfigOption, JsonOption, cli_errors, container_for, reading_container
from entrypoints.cli.output import print_json, print_table
from entrypoints.cli.paper_realtime import PAPER_ACCOUNT, session_account
from entrypoints.container import SIMULATED_VENUE, journaled_broker
from entrypoints.venues import REAL_VENUES, build_venue


def reconcile_command(
    account: Annotated[str | None, typer.Option("--account", help="The store account to compare (default: the broker's paper account).")] = None,
    broker: Annotated[str, typer.Option("--broker", help="simulated, alpaca or coinbase (keys from the environment).")] = SIMULATED_VENUE,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Coinbase: the sandbox.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare the store with the venue (open orders, fills, positions); adopt what the venue
    says happened, and list every mismatch that cannot be explained (exit code 4 if any).

    A running bot reconciles at start and every 30 s by itself (see `quantshift audit --kind session`);
    this command needs the venue to itself, so stop the bot first.
    """
    with cli_errors():
        if broker not in (SIMULATED_VENUE, *REAL_VENUES):
            raise ConfigurationError(f"--broker {broker!r}: use simulated, {' or '.join(REAL_VENUES)}")
        # The simulated venue's history is in the store: without one there is nothing to compare
        # (and a mistyped path must not become a new store and venue journal).
        container = reading_container(config) if broker == SIMULATED_VENUE else container_for(config)
        if broker == SIMULATED_VENUE:
            container.store().schema_version()  # opens the file: StoreNotFound before any journal is made
            account = account or PAPER_ACCOUNT
            venue = journaled_broker(container, account=account)
            close = venue.close
        else:
            account = account or session_account(container, broker, sandbox=sandbox)
            real = build_venue(broker, container.settings(), environ=os.environ, clock=container.clock(),  # type: ignore[arg-type]
                               sandbox=sandbox)
            venue, close = real.broker, real.close
        try:
            report = reconcile(account=account, broker=venue, uow_factory=container.store(),
                               now=container.clock().now())
        finally:
            close()
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
