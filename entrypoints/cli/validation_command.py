"""`quantshift validation status|reset`: the paper validation clock of each bot
(application/golive/validation_clock.py) and its restart (application/golive/validation_reset.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from application.golive.validation_clock import ValidationStatus, current_epoch, validation_status
from application.golive.validation_reset import ResetCommand, ResetOutcome, reset_validation
from application.trading.liveness import refuse_if_running_elsewhere
from domain.analytics.golive import GoLiveCriteria
from domain.display import percent
from domain.errors import ConfigurationError
from entrypoints.cli.common import ConfigOption, JsonOption, actor, cli_errors, process_info, reading_container
from entrypoints.cli.output import print_json, print_table
from entrypoints.container import Container, journaled_broker
from entrypoints.golive_calendar import NyseCalendar
from entrypoints.golive_fingerprint import bot_fingerprint
from entrypoints.settings import BotSettings, Settings
from entrypoints.validation_epochs import installed_version

SIMULATED_PAPER_ACCOUNT = "paper"  # the continuous session's account (entrypoints/cli/paper_realtime.py)

validation_app = typer.Typer(help="The paper validation clock: days, trades, win rate and drawdown of the current "
                                  "epoch, and its reset.", no_args_is_help=True)


def criteria_of(settings: Settings) -> GoLiveCriteria:
    g = settings.golive
    return GoLiveCriteria(min_trading_days=g.min_trading_days, min_trades=g.min_trades,
                          min_win_rate=g.min_win_rate, max_drawdown=g.max_drawdown)


def _bots(settings: Settings, name: str | None) -> list[BotSettings]:
    chosen = [b for b in settings.bots if name is None or b.name == name]
    if not chosen:
        raise ConfigurationError(f"--bot {name}: no such bot in the configuration "
                                 f"(bots: {', '.join(b.name for b in settings.bots)})")
    return chosen


@validation_app.command("status")
def status_command(
    bot: Annotated[str | None, typer.Option("--bot", help="Only this bot (default: every configured bot).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Each bot's current validation epoch and its figures against the [golive] criteria."""
    with cli_errors():
        container = reading_container(config)
        settings = container.settings()
        chosen = _bots(settings, bot)
        now = container.clock().now()
        version = installed_version()
        calendar = NyseCalendar()
        with container.store().unit_of_work(read_only=True) as uow:
            rows = [(validation_status(uow, bot=b.name, asset_class=b.asset_class, now=now,
                                       criteria=criteria_of(settings), calendar=calendar),
                     bot_fingerprint(settings, b, version=version).digest) for b in chosen]
    if json_output:
        print_json([status.to_json() | {"configured_fingerprint": digest,
                                         "configuration_matches": bool(status.epoch)
                                         and status.epoch.fingerprint == digest}  # type: ignore[union-attr]
                    for status, digest in rows])
        return
    print_table("Validation clock", ["bot", "epoch", "since (UTC)", "fingerprint", "days", "trades", "win rate",
                                     "max drawdown", "critical events", "verdict"],
                [_row(status) for status, _ in rows])
    for status, digest in rows:
        if status.epoch is None:
            print(f"{status.bot}: no epoch yet; one starts when `quantshift paper` (real time) trades it on a paper "
                  "account (accelerated sessions never count)")
        elif status.epoch.fingerprint != digest:
            print(f"{status.bot}: the configuration changed since epoch {status.epoch.number} began "
                  f"(now {digest[:12]}): the next paper start begins a new epoch")


def _row(status: ValidationStatus) -> tuple[object, ...]:
    epoch = status.epoch
    need = status.required
    return (status.bot, f"{epoch.number} ({epoch.account})" if epoch else "-",
            f"{epoch.started_at:%Y-%m-%d %H:%M}" if epoch else "-", epoch.short if epoch else "-",
            f"{status.trading_days}/{need.min_trading_days} {status.day_unit}",
            f"{status.round_trips}/{need.min_trades}",
            percent(status.win_rate) if status.round_trips else "n/a", percent(status.max_drawdown),
            len(status.critical_events), "PASS" if status.passed else ("no epoch" if epoch is None else "FAIL"))


@validation_app.command("reset")
def reset_command(
    bot: Annotated[str, typer.Option("--bot", help="The bot whose clock starts again.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: recorded with the new epoch (\"reset: <reason>\").")],
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start a new validation epoch for the bot, after cancelling its open orders and sending an exit for
    every position on its paper venue. Refused while a session runs the bot: stop it first."""
    with cli_errors():
        container = reading_container(config)
        settings = container.settings()
        [chosen] = _bots(settings, bot)
        [spec] = [s for s in container.bots() if s.name == bot]
        store, now, process = container.store(), container.clock().now(), process_info()
        with store() as uow:
            epoch = current_epoch(uow, bot=bot)
            account = epoch.account if epoch is not None else SIMULATED_PAPER_ACCOUNT
            # Before the venue is opened: the message names the running bot, not the venue's lock.
            refuse_if_running_elsewhere(uow, account=account, bots=[bot], pid=process.pid, host=process.host, now=now)
        command = ResetCommand(fingerprint=bot_fingerprint(settings, chosen, version=installed_version()),
                               account=account, reason=reason, actor=actor(), pid=process.pid, host=process.host)
        outcome = _reset(container, command=command, spec=spec, now=now)
    if json_output:
        print_json({"epoch": outcome.epoch.to_json(), "orders_cancelled": outcome.orders_cancelled,
                    "exits": [{"symbol": s, "result": r} for s, r in outcome.exits], "venue": outcome.venue})
        return
    e = outcome.epoch
    print(f"validation reset: bot {e.bot} starts epoch {e.number} on {e.account} now ({e.reason}, by {e.actor})")
    if not outcome.venue:
        print(f"positions and orders at {e.account} were left as they are (this command trades only the simulated "
              "paper venue): close them there if the new epoch should start flat")
        return
    print(f"{outcome.orders_cancelled} open order(s) cancelled"
          + (f"; exits sent for {', '.join(s for s, _ in outcome.exits)} (they fill at the paper session's next bar)"
             if outcome.exits else "; no position to close"))


def _reset(container: Container, *, command: ResetCommand, spec, now) -> ResetOutcome:  # type: ignore[no-untyped-def]
    broker = journaled_broker(container, account=command.account) if command.account == SIMULATED_PAPER_ACCOUNT \
        else None
    try:
        return reset_validation(command, uow_factory=container.store(), spec=spec, broker=broker,
                                notifier=container.notifier(), now=now)
    finally:
        if broker is not None:
            broker.close()
