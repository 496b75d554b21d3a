"""`quantshift bots stop|start`: what an operator wants a bot to do. Like halt and resume they
write the store only, so they work with no API and while the bot runs in another process,
which obeys at its next supervision (a fraction of a second)."""

from __future__ import annotations

from typing import Annotated

import typer

from application.trading.bot_runs import DEFAULT_START_REASON, StartBotCommand, StopBotCommand, start_bot, stop_bot
from application.trading.ports import BotRun, DesiredState
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, container_for
from entrypoints.cli.output import make_output_converter, print_json

bots_app = typer.Typer(help="Start and stop bots (stop is not halt: positions and their stops stay).",
                       no_args_is_help=True)

BotOption = Annotated[str, typer.Option("--bot", help="The bot's name (as configured).")]
AccountOption = Annotated[str, typer.Option("--account", help="The bot's account (paper, sim-0001, ...).")]


@bots_app.command("stop")
def stop_command(
    bot: BotOption,
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded in the audit trail and shown by status.")],
    account: AccountOption = "paper",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop a bot: no strategy evaluation, no new entries, open entry orders cancelled.

    Its positions and their protective stops stay (risk exits still work). Stored durably;
    survives restarts; `quantshift bots start` lets it trade again. Not a halt.
    """
    with cli_errors():
        container = container_for(config)
        run = stop_bot(StopBotCommand(account=account, bot=bot, actor=actor(), reason=reason),
                       uow_factory=container.store(), clock=container.clock(), notifier=container.notifier(),
                       configured=[b.name for b in container.bots()])
    _show(run, json_output=json_output)


@bots_app.command("start")
def start_command(
    bot: BotOption,
    account: AccountOption = "paper",
    reason: Annotated[str, typer.Option("--reason", help="Why it may trade again.")] = DEFAULT_START_REASON,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start a stopped bot again (a halt, if any, still holds it until `quantshift resume`)."""
    with cli_errors():
        container = container_for(config)
        run = start_bot(StartBotCommand(account=account, bot=bot, actor=actor(), reason=reason),
                        uow_factory=container.store(), clock=container.clock(), notifier=container.notifier(),
                        configured=[b.name for b in container.bots()], only_if_stopped=True)
    if run is None:
        # Nobody stopped it: nothing was written, and saying STARTED would claim a start.
        if json_output:
            print_json({"account": account, "bot": bot, "desired": DesiredState.RUNNING.value, "changed": False})
        else:
            print(f"bot {account}/{bot} is already running (nobody stopped it): nothing to start")
        return
    _show(run, json_output=json_output)


def _show(run: BotRun, *, json_output: bool) -> None:
    if json_output:
        print_json(make_output_converter().unstructure(run))
    elif run.desired is DesiredState.STOPPED:
        print(f"STOPPED bot {run.account}/{run.bot}: {run.reason} (positions and their stops stay)")
    else:
        print(f"STARTED bot {run.account}/{run.bot}")
