"""The emergency halt and resume. They write the durable switch in the store only,
so they work with no API and while a bot runs in another process."""

from __future__ import annotations

from typing import Annotated

import typer

from application.halt import HaltCommand, ResumeCommand, halt, resume
from application.records import GLOBAL_SCOPE, bot_scope
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import make_output_converter, print_json

ScopeOption = Annotated[str | None, typer.Option("--bot", help="Only this bot (default: every bot).")]
AccountOption = Annotated[str, typer.Option("--account", help="The bot's account, with --bot (paper, sim-0001, ...).")]


def halt_command(
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded in the audit trail and the alert.")],
    bot: ScopeOption = None,
    account: AccountOption = "paper",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """EMERGENCY HALT: no new order is submitted; running bots cancel their open orders.

    Stored durably; survives restarts; only `quantshift resume` lifts it.
    """
    with cli_errors():
        container = container_for(config)
        state = halt(HaltCommand(reason=reason, actor=actor(), scope=bot_scope(account, bot) if bot else GLOBAL_SCOPE),
                     uow_factory=container.store(), clock=container.clock(), notifier=container.notifier())
    if json_output:
        print_json(make_output_converter().unstructure(state))
    else:
        print(f"HALTED {'every bot' if state.scope == GLOBAL_SCOPE else 'bot ' + state.scope}: {state.reason}")


def resume_command(
    bot: ScopeOption = None,
    account: AccountOption = "paper",
    reason: Annotated[str, typer.Option("--reason", help="Why trading may go on.")] = "resumed by operator",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Lift a halt (every bot's, or one bot's with --bot) and re-arm trading."""
    with cli_errors():
        container = container_for(config)
        states = resume(ResumeCommand(actor=actor(), scope=bot_scope(account, bot) if bot else GLOBAL_SCOPE, reason=reason),
                        uow_factory=container.store(), clock=container.clock(), notifier=container.notifier())
    if json_output:
        print_json([make_output_converter().unstructure(s) for s in states])
    elif not states:
        print(nothing_to_resume(bot_scope(account, bot) if bot else GLOBAL_SCOPE))
    else:
        for state in states:
            print(f"RESUMED {'every bot' if state.scope == GLOBAL_SCOPE else 'bot ' + state.scope}")


def nothing_to_resume(scope: str) -> str:
    """What a resume that lifted nothing says (exit 0: the wanted state holds already)."""
    if scope == GLOBAL_SCOPE:
        return "nothing was halted: no bot is halted or reducing, so nothing was resumed"
    return f"nothing was halted: bot {scope} is neither halted nor reducing, so nothing was resumed"
