"""The emergency halt and resume. They write the durable switch in the store only,
so they work with no API and while a bot runs in another process."""

from __future__ import annotations

from typing import Annotated

import typer

from application.records import GLOBAL_SCOPE, bot_scope
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume, still_held
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
    bot: Annotated[str | None, typer.Option("--bot", help="Re-arm this bot's own halt or REDUCING state (its breakers).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="With --bot: the bot's account (default paper). Alone: re-arm every bot of this account.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Also re-arm every bot of every account (old simulated sessions included).")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why trading may go on.")] = "resumed by operator",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Lift the global halt; re-arm a bot's own halt or breaker only when named (--bot, --account or --all).

    Says what it re-armed and what still holds. Works with no API: it writes the store only."""
    with cli_errors():
        container = container_for(config)
        if bot:
            command = ResumeCommand(actor=actor(), scope=bot_scope(account or "paper", bot), reason=reason)
        else:
            command = ResumeCommand(actor=actor(), reason=reason, account=account, every_account=every)
        states = resume(command, uow_factory=container.store(), clock=container.clock(), notifier=container.notifier())
        held = still_held(uow_factory=container.store())
    if json_output:
        print_json([make_output_converter().unstructure(s) for s in states])
        return
    if not states:
        print(nothing_to_resume(command, held=bool(held)))
    for state in states:
        print(f"RESUMED {'the global halt (every bot)' if state.scope == GLOBAL_SCOPE else 'bot ' + state.scope}")
    for state in held:
        if state.scope == GLOBAL_SCOPE:
            continue
        where, _, name = state.scope.partition("/")
        print(f"still {state.state.value.upper()}: bot {state.scope} ({state.reason}); re-arm it with"
              f" `quantshift resume --bot {name} --account {where}`, or every bot of the account with"
              f" --account {where}, or of every account with --all")


def nothing_to_resume(command: ResumeCommand, *, held: bool) -> str:
    """What a resume that lifted nothing says (exit 0: the wanted state holds already)."""
    if command.scope != GLOBAL_SCOPE:
        return f"nothing was halted: bot {command.scope} is neither halted nor reducing, so nothing was resumed"
    if held:
        return "nothing was halted that this resume names: the global halt is not set, so nothing was resumed"
    return "nothing was halted: no bot is halted or reducing, so nothing was resumed"
