"""`quantshift doctor`: can the bots trade at their venues? Keys, connectivity, account status,
clock, key permissions and the configured symbols, each with what to do when it fails."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from adapters.clock import SystemClock
from application.golive.live_credentials import equal_keys
from application.venues.doctor import Check, Verdict, diagnose, healthy
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors
from entrypoints.cli.output import print_json, print_table
from entrypoints.settings import load_settings
from entrypoints.venues import REAL_VENUES, VenueName, build_venue, key_variables, keys_present, venue_symbols

EXIT_UNHEALTHY = 1


def doctor_command(
    venue: Annotated[list[str] | None, typer.Option("--venue", help="alpaca or coinbase (repeat for both; default both).")] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Coinbase: check the sandbox host.")] = False,
    live: Annotated[bool, typer.Option("--live", help="Check the LIVE keys (ALPACA_LIVE_API_KEY / ALPACA_LIVE_SECRET_KEY, COINBASE_LIVE_API_KEY / COINBASE_LIVE_API_SECRET) read-only against the live endpoints (Alpaca live, Coinbase production).")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check each venue's keys, connectivity, account, clock, permissions and symbols.

    Exit code 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on a bad
    option or configuration."""
    with cli_errors():
        settings = load_settings(config_file=config)
        if live and sandbox:
            raise typer.BadParameter("--live checks the live endpoints; --sandbox is Coinbase's paper host",
                                     param_hint="--sandbox")
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
                built = build_venue(v, settings, environ=os.environ, clock=clock, sandbox=sandbox, live=live)
                opened.append(built)
                return built.account

            try:
                same = _same_as_paper(v) if live else []
                if same:  # a paper key at the live endpoint is refused there; say the cause instead
                    results[name] = [Check(name="keys", verdict=Verdict.FAIL, detail=(
                        f"{', '.join(same)} equal the paper keys: a paper key never trades live"))]
                    continue
                results[name] = diagnose(venue=name, keys=keys_present(v, os.environ, live=live), connect=connect,
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


def _same_as_paper(venue: VenueName) -> list[str]:
    return equal_keys(live={n: os.environ.get(n, "") for n in key_variables(venue, live=True)},
                      paper={n: os.environ.get(n, "") for n in key_variables(venue)})


def _mark(verdict: Verdict) -> str:
    return {Verdict.OK: "ok", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIPPED: "-"}[verdict]
