"""What a running session writes with each heartbeat, and the one-instance-per-bot check.

A beat carries the instance (LIVE or stopped), each bot's heartbeat, and the state a
restart or `status` / `risk` needs: the bots' current stops and the last marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.ports import UnitOfWork
from application.records import AuditEntry, AuditKind, BotRunState, Heartbeat, InstanceBeat, InstanceRole
from application.trading.bot_state import BotState
from domain.errors import ConfigurationError


class BotAlreadyRunning(ConfigurationError):
    """Another live process trades this bot: refuse to start a second one."""


def refuse_if_running_elsewhere(
    uow: UnitOfWork, *, account: str, bots: Sequence[str], pid: int, host: str, now: datetime
) -> None:
    """One instance per bot: another process with a fresh heartbeat holds it."""
    for beat in uow.heartbeats.list(account=account):
        mine = (beat.pid, beat.host) == (pid, host)
        age = (now - beat.beat_at).total_seconds()
        if beat.bot in bots and not mine and beat.run_state is BotRunState.RUNNING and age <= 2 * beat.interval_seconds:
            raise BotAlreadyRunning(
                f"bot {beat.bot} of account {account} is already running (pid {beat.pid} on {beat.host}, "
                f"heartbeat {age:.1f}s ago); stop it first, or wait until its heartbeat is stale"
            )


def record_unclean_ends(uow: UnitOfWork, *, account: str, bots: Sequence[str], pid: int, host: str) -> int:
    """A bot whose last heartbeat still says RUNNING, written by another process, did not stop cleanly:
    that process crashed or was killed. Audited as critical (the go-live gate counts it), at its last
    beat, before this start overwrites the beat. Returns how many."""
    found = 0
    for beat in uow.heartbeats.list(account=account):
        if beat.bot in bots and beat.run_state is BotRunState.RUNNING and (beat.pid, beat.host) != (pid, host):
            uow.audit.append(AuditEntry(
                ts=beat.beat_at, kind=AuditKind.ERROR, severity="critical", account=account, bot=beat.bot,
                message=f"bot {beat.bot} ended without a clean stop (crashed or killed): pid {beat.pid} on "
                        f"{beat.host}, last heartbeat {beat.beat_at.isoformat()}",
                data={"event": "unclean_end", "pid": beat.pid, "host": beat.host}))
            found += 1
    return found


def write_beats(
    uow: UnitOfWork,
    *,
    states: Sequence[BotState],
    instance: InstanceBeat,
    mode: str,
    started_at: datetime,
    run_state: BotRunState,
    detail_of: dict[str, str],
) -> None:
    uow.instances.beat(instance)
    for state in states:
        account, wall = state.account, instance.beat_at
        # Stops go to the store with the beat: a restart resumes them, `risk` measures heat.
        stored = uow.stops.list(account=account, bot=state.name)
        for symbol, level in state.stops.items():
            if stored.get((state.name, symbol)) != level:
                uow.stops.upsert(account=account, bot=state.name, symbol=symbol, level=level, updated_at=wall)
        for (_, symbol) in stored.keys() - {(state.name, s) for s in state.stops}:
            uow.stops.delete(account=account, bot=state.name, symbol=symbol)
        # Marks go to the store with the beat, so status values positions at recent prices.
        for symbol, position in state.portfolio.positions.items():
            if not position.is_flat and symbol in state.marks:
                uow.positions.upsert(position, account=account, last_price=state.marks[symbol][0])
        uow.heartbeats.beat(Heartbeat(
            account=account, bot=state.name, pid=instance.pid, host=instance.host, mode=mode,
            started_at=started_at, beat_at=wall, interval_seconds=instance.interval_seconds, run_state=run_state,
            detail=detail_of.get(state.name, ""),
        ))


def instance_role(run_state: BotRunState) -> InstanceRole:
    return InstanceRole.LIVE if run_state is BotRunState.RUNNING else InstanceRole.STOPPED
