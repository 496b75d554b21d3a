"""Start and stop a bot (Freqtrade's /start and /stop): what an operator wants a bot to do.

STOP is not HALT. A stopped bot evaluates no strategy and sends no new entry, but keeps its
positions and their protective stops (risk exits still work); its open entry orders are
cancelled. START lets it evaluate again. A halt still overrides both: a started bot under a
halt stays halted.

The request is stored (uow.bot_runs), so it survives restarts of the API and of the bot
process, and the latest request wins. Like halt, these use cases write the store only: they
work from a CLI process with no broker, and the running session obeys at its next
supervision (application/trading/stopped_bots.py).
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from application.ports import AlertLevel, Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind
from application.trading.ports import BotRun, DesiredState
from domain.errors import ConfigurationError

DEFAULT_START_REASON = "started by operator"


class UnknownBot(ConfigurationError):
    """No bot of that name in that account: a typo must not stop nothing quietly."""


@attrs.frozen(kw_only=True)
class StopBotCommand:
    account: str
    bot: str
    actor: str
    reason: str


@attrs.frozen(kw_only=True)
class StartBotCommand:
    account: str
    bot: str
    actor: str
    reason: str = DEFAULT_START_REASON


def stop_bot(
    command: StopBotCommand, *, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier,
    configured: Collection[str] = (),
) -> BotRun:
    """Ask the bot to stop. `configured`: the bot names of the configuration, which count as
    known before they ever ran (so a bot can be stopped before its first start)."""
    if not command.reason.strip():
        raise ConfigurationError("stopping a bot needs a reason (--reason TEXT)")
    return _request(DesiredState.STOPPED, account=command.account, bot=command.bot, actor=command.actor,
                    reason=command.reason, uow_factory=uow_factory, clock=clock, notifier=notifier,
                    configured=configured)


def start_bot(
    command: StartBotCommand, *, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier,
    configured: Collection[str] = (), only_if_stopped: bool = False,
) -> BotRun | None:
    """Let the bot evaluate and enter again (a halt, if any, still holds it). With
    only_if_stopped, a bot nobody stopped is left as it is and None comes back: starting a
    running bot records no start that never happened (no audit entry, no alert)."""
    return _request(DesiredState.RUNNING, account=command.account, bot=command.bot, actor=command.actor,
                    reason=command.reason.strip() or DEFAULT_START_REASON, uow_factory=uow_factory, clock=clock,
                    notifier=notifier, configured=configured, unless_already=only_if_stopped)


def desired_state(uow: UnitOfWork, *, account: str, bot: str) -> DesiredState:
    run = uow.bot_runs.get(account=account, bot=bot)
    return run.desired if run is not None else DesiredState.RUNNING


def stop_requests(uow: UnitOfWork, *, account: str) -> dict[str, BotRun]:
    """The account's stopped bots by name, in one read (a session reads every bot's at once)."""
    return {run.bot: run for run in uow.bot_runs.list(account=account) if run.desired is DesiredState.STOPPED}


def stopped_detail(run: BotRun) -> str:
    """How the heartbeat and status say it."""
    return f"stopped by {run.actor}: {run.reason}"


def is_known(uow: UnitOfWork, *, account: str, bot: str, configured: Collection[str] = ()) -> bool:
    """Configured, or has a ledger or a heartbeat in the account (the API's rule for halt too)."""
    return (bot in configured or uow.accounts.get(account=account, bot=bot) is not None
            or any(beat.bot == bot for beat in uow.heartbeats.list(account=account)))


def _request(
    desired: DesiredState, *, account: str, bot: str, actor: str, reason: str, uow_factory: UnitOfWorkFactory,
    clock: Clock, notifier: Notifier, configured: Collection[str], unless_already: bool = False,
) -> BotRun | None:
    run = BotRun(account=account, bot=bot, desired=desired, actor=actor, reason=reason, updated_at=clock.now())
    verb = "stopped" if desired is DesiredState.STOPPED else "started"
    with uow_factory() as uow:
        # Checked in the transaction that writes, so the answer and the row agree.
        if not is_known(uow, account=account, bot=bot, configured=configured):
            raise UnknownBot(f"no bot {bot} in account {account}")
        if unless_already and desired_state(uow, account=account, bot=bot) is desired:
            return None
        uow.bot_runs.set(run)
        uow.audit.append(AuditEntry(
            # Its own kind: HALT/RESUME stay the kill switch's, and an operator's stop is no session event.
            ts=run.updated_at, kind=AuditKind.BOT_RUN, account=account, bot=bot, severity="info",
            message=f"bot {account}/{bot} {verb}: {reason} (by {actor})",
            data={"desired": desired.value, "actor": actor, "reason": reason},
        ))
        uow.commit()
    notifier.notify(level=AlertLevel.INFO, title=f"bot {account}/{bot} {verb}", body=f"{reason} (by {actor})")
    return run
