"""`quantshift doctor`: can the bots trade at their venues? Keys, connectivity, account status,
clock, key permissions and the configured symbols, each with what to do when it fails."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from adapters.clock import SystemClock
from application.venues.doctor import Check, Verdict, diagnose, healthy
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors
from entrypoints.cli.output import print_json, print_table
from entrypoints.settings import load_settings
from entrypoints.venues import REAL_VENUES, VenueName, build_venue, keys_present, venue_symbols

EXIT_UNHEALTHY = 1


def doctor_command(
    venue: Annotated[list[str] | None, typer.Option("--venue", help="alpaca or coinbase (repeat for both; default both).")] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Coinbase: check the sandbox host.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check each venue's keys, connectivity, account, clock, permissions and symbols.

    Exit code 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on a bad
    option or configuration."""
    with cli_errors():
        settings = load_settings(config_file=config)
        chosen = list(dict.fromkeys(venue or REAL_VENUES))
        for name in chosen:
            if name not in REAL_VENUES:
                raise typer.BadParameter(f"{name!r}: use one of {', '.join(REAL_VENUES)}", param_hint="--venue")
        clock = SystemClock()
        results: dict[str, list[Check]] = {}
        for name in chosen:
            v: VenueName = name  # type: ignore[assignment]
            opened = []

            def connect(v=v, opened=opened):
                built = build_venue(v, settings, environ=os.environ, clock=clock, sandbox=sandbox)
                opened.append(built)
                return built.account

            try:
                results[name] = diagnose(venue=name, keys=keys_present(v, os.environ), connect=connect,
                                         symbols=venue_symbols(v, settings), clock=clock)
            finally:
                for built in opened:
                    built.close()
    if json_output:
        print_json({name: [{"check": c.name, "verdict": c.verdict.value, "detail": c.detail} for c in checks]
                    for name, checks in results.items()} | {"healthy": all(healthy(c) for c in results.values())})
    else:
        for name, checks in results.items():
            print_table(f"{name}: {'OK' if healthy(checks) else 'PROBLEMS'}", ["check", "verdict", "detail"],
                        [[c.name, _mark(c.verdict), c.detail] for c in checks])
    if not all(healthy(c) for c in results.values()):
        raise typer.Exit(EXIT_UNHEALTHY)


def _mark(verdict: Verdict) -> str:
    return {Verdict.OK: "ok", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIPPED: "-"}[verdict]
