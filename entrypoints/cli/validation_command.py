"""`quantshift validation status|reset`: the paper validation clock of each bot
(application/golive/validation_clock.py) and its restart (application/golive/validation_reset.py).

A reset trades on the venue of the bot's current epoch: the simulated venue's journal for
`paper`, Alpaca's paper account for `alpaca-paper`, Coinbase's sandbox for `coinbase-sandbox`,
each built from the settings and the paper keys in the environment, as `quantshift paper` builds
it. It never builds a live venue: an epoch on any other account is refused, and so is a paper
epoch whose venue the configuration now points at live money ([alpaca] paper = false).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

import typer

from application.golive.validation_clock import ValidationStatus, current_epoch, validation_status
from application.golive.validation_reset import ResetCommand, ResetOutcome, reset_validation
from application.trading.bot import BotSpec
from application.trading.liveness import refuse_if_running_elsewhere
from application.venues.ports import Broker
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
from entrypoints.venues import VenueName, account_name, build_venue

SIMULATED_PAPER_ACCOUNT = "paper"  # the continuous session's account (entrypoints/cli/paper_realtime.py)
# The real venues' paper accounts (entrypoints/venues.account_name): the venue, and whether it is a sandbox.
REAL_PAPER_ACCOUNTS: dict[str, tuple[VenueName, bool]] = {"alpaca-paper": ("alpaca", False),
                                                          "coinbase-sandbox": ("coinbase", True)}
# Where a reset's exits fill, and the session that then records the fills, by venue (None: simulated).
_EXITS_FILL: dict[VenueName | None, str] = {
    None: "they fill at the next bar of the next `quantshift paper` session, which records the fills",
    "alpaca": "they fill at alpaca (one sent while the market is closed waits there for the next open); the next "
              "`quantshift paper --broker alpaca` session records the fills",
    "coinbase": "they fill at coinbase; the next `quantshift paper --broker coinbase --sandbox` session records the "
                "fills",
}

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
    every position on the paper venue of its current epoch (simulated, Alpaca paper or Coinbase sandbox;
    never a live account). Refused while a session runs the bot: stop it first."""
    with cli_errors():
        container = reading_container(config)
        settings = container.settings()
        [chosen] = _bots(settings, bot)
        [spec] = [s for s in container.bots() if s.name == bot]
        store, now, process = container.store(), container.clock().now(), process_info()
        with store() as uow:
            epoch = current_epoch(uow, bot=bot)
            account = epoch.account if epoch is not None else SIMULATED_PAPER_ACCOUNT
            venue = _paper_venue(settings, bot=bot, account=account)  # a live account stops here, before anything
            # Before the venue is opened: the message names the running bot, not the venue's lock.
            refuse_if_running_elsewhere(uow, account=account, bots=[bot], pid=process.pid, host=process.host, now=now)
        command = ResetCommand(fingerprint=bot_fingerprint(settings, chosen, version=installed_version()),
                               account=account, reason=reason, actor=actor(), pid=process.pid, host=process.host)
        outcome = _reset(container, command=command, spec=spec, venue=venue, now=now)
    if json_output:
        print_json({"epoch": outcome.epoch.to_json(), "orders_cancelled": outcome.orders_cancelled,
                    "exits": [{"symbol": s, "result": r, "filled": s not in outcome.unfilled}
                              for s, r in outcome.exits], "venue": outcome.venue})
        return
    e = outcome.epoch
    print(f"validation reset: bot {e.bot} starts epoch {e.number} on {e.account} now ({e.reason}, by {e.actor})")
    if not outcome.exits:
        print(f"{outcome.orders_cancelled} open order(s) cancelled; no position to close")
        return
    filled = [s for s, _ in outcome.exits if s not in outcome.unfilled]
    print(f"{outcome.orders_cancelled} open order(s) cancelled; exits sent for {', '.join(s for s, _ in outcome.exits)}"
          + (f" (filled already: {', '.join(filled)})" if filled else ""))
    if outcome.unfilled:
        # Reconciliation at that session's start records each venue fill once (by its venue fill id).
        print(f"{', '.join(outcome.unfilled)}: {_EXITS_FILL[venue[0] if venue else None]}")


def _paper_venue(settings: Settings, *, bot: str, account: str) -> tuple[VenueName, bool] | None:
    """The real venue (and whether it is the sandbox) of a paper account; None for the simulated
    one. Any other account is refused: validation is paper only, and a reset never trades live money."""
    if account == SIMULATED_PAPER_ACCOUNT:
        return None
    if account not in REAL_PAPER_ACCOUNTS:
        raise ConfigurationError(
            f"validation reset of bot {bot}: its epoch is on {account}, which is not a paper account (validation is "
            f"paper only: {', '.join([SIMULATED_PAPER_ACCOUNT, *REAL_PAPER_ACCOUNTS])}); a reset never trades a live "
            "account, nothing was done")
    venue, sandbox = REAL_PAPER_ACCOUNTS[account]
    if account_name(venue, settings, sandbox=sandbox) != account:
        # [alpaca] paper = false: the configured endpoint is the live one, whatever the epoch says.
        raise ConfigurationError(
            f"validation reset of bot {bot}: its epoch is on {account}, but the configuration points {venue} at its "
            f"live endpoint ([{venue}] paper = false); a reset only trades the paper account, nothing was done")
    return venue, sandbox


@contextlib.contextmanager
def _paper_broker(container: Container, *, account: str, venue: tuple[VenueName, bool] | None) -> Iterator[Broker]:
    """The broker of the account's paper venue (`_paper_venue`), closed afterwards (its streams end with it)."""
    broker: Broker
    close: Callable[[], None]
    if venue is None:
        journal = journaled_broker(container, account=account)
        broker, close = journal, journal.close
    else:
        name, sandbox = venue
        # The paper keys (never the live ones) from the environment; missing ones are named.
        real = build_venue(name, container.settings(), environ=os.environ, clock=container.clock(), sandbox=sandbox,
                           live=False)
        broker, close = real.broker, real.close
    try:
        yield broker
    finally:
        close()


def _reset(container: Container, *, command: ResetCommand, spec: BotSpec, venue: tuple[VenueName, bool] | None,
           now: datetime) -> ResetOutcome:
    with _paper_broker(container, account=command.account, venue=venue) as broker:
        return reset_validation(command, uow_factory=container.store(), spec=spec, broker=broker,
                                notifier=container.notifier(), now=now)
