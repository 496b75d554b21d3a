"""`quantshift drill killswitch` and `quantshift drill failover`: the go-live drills, recorded
in the audit trail (application/golive/drills.py). Exit 0: passed; 1: the drill ran and failed
(recorded); otherwise nothing was drilled and the message says why."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from application.records import AuditEntry
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for, fail
from entrypoints.cli.output import print_json
from entrypoints.container import SIMULATED_VENUE
from entrypoints.drills import run_failover_drill, run_killswitch_drill

drill_app = typer.Typer(help="Go-live drills on this deployment: the kill switch, and failover to the standby.",
                        no_args_is_help=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM too runs the drill's finally (its halt is lifted)


@drill_app.command("killswitch")
def killswitch_command(
    bot: Annotated[str | None, typer.Option("--bot", help="The bot to drill (default: the venue's first bot).")] = None,
    config: ConfigOption = None,
    broker: Annotated[str, typer.Option("--broker", help="The paper venue of the running session: simulated, "
                                        "alpaca (paper account) or coinbase (sandbox).")] = SIMULATED_VENUE,
    json_output: JsonOption = False,
) -> None:
    """Rest an order through the bot's running `quantshift paper` session, halt the bot, time the cancels and the last submission, resume; recorded.

    Refused (nothing halted or recorded) while the bot is halted or reducing, or when no session runs it. The drill lifts only its own halt, also when it fails midway or is interrupted."""
    signal.signal(signal.SIGTERM, _interrupt)
    with cli_errors():
        container = container_for(config)
        try:
            entry = run_killswitch_drill(container, bot=bot, venue=broker, actor=actor(),
                                         config_hint=f" --config {config}" if config else "")
        except KeyboardInterrupt:
            fail("interrupted: the drill's halt (if it was set) was lifted; nothing recorded", code=130)
    _report(entry, json_output=json_output)


@drill_app.command("failover")
def failover_command(
    account: Annotated[str, typer.Option("--account", help="Whose bots' leases: the session's account.")] = "paper",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """On Postgres: SIGKILL the LIVE instance holding the bots' leases (this host), time a STANDBY's takeover; recorded.

    Refused unless a STANDBY heartbeats. Restart an instance afterwards to have a standby again."""
    with cli_errors():
        container = container_for(config)
        entry = run_failover_drill(container, actor=actor(), account=account)
    _report(entry, json_output=json_output)


def _report(entry: AuditEntry, *, json_output: bool) -> None:
    if json_output:
        print_json({"ts": entry.ts.isoformat(), "account": entry.account, "bot": entry.bot, **entry.data})
    else:
        print(entry.message)
    if not entry.data.get("passed"):
        raise typer.Exit(1)
