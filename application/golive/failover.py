"""The failover drill, on Postgres: the LIVE instance holding the bots' leases is SIGKILLed
(through the ProcessKiller port, same host only: a pid means nothing on another machine) and
the time until a STANDBY holds every lease, beats as LIVE and has finished its start is
measured and recorded (kind DRILL, data["drill"] == "failover"; the checklist reads it with
application/golive/drills.failover_item).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import attrs

from application.golive.drills import FAILOVER, DrillRefused
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, InstanceRole
from application.safety.lease import is_bot_lease


class ProcessKiller(Protocol):
    """Ends a process of this host at once (SIGKILL), as a crash would."""

    @property
    def host(self) -> str: ...

    def kill(self, pid: int) -> None:
        """Raises ProcessLookupError when there is no such process."""
        ...


@attrs.frozen(kw_only=True)
class FailoverDrill:
    actor: str
    account: str = "paper"  # whose bots' leases (the continuous session's account by default)
    timeout_seconds: float = 60.0  # longer than any lease: after this the takeover failed
    poll_seconds: float = 0.02


def failover_drill(command: FailoverDrill, *, uow_factory: UnitOfWorkFactory, clock: Clock, killer: ProcessKiller,
                   sleep: Callable[[float], None]) -> AuditEntry:
    """Kill the LIVE instance, time the STANDBY's takeover, record it; DrillRefused when it cannot start."""
    now = clock.now()
    with uow_factory() as uow:
        leases = [lease for lease in uow.leases.list(account=command.account) if is_bot_lease(lease)]
        instances = uow.instances.list(account=command.account)
    held = {lease.holder for lease in leases if lease.expires_at > now}
    if not held:
        raise DrillRefused(f"failover drill: no instance holds the leases of account {command.account}: start "
                           "`quantshift paper` twice (a LIVE and a STANDBY instance) on Postgres first")
    holder = max(held, key=lambda h: sum(1 for lease in leases if lease.holder == h))
    bots = sorted(lease.bot for lease in leases if lease.holder == holder)
    live = next((i for i in instances if i.instance == holder), None)
    if live is None:
        raise DrillRefused(f"failover drill: the lease holder {holder} has no instance heartbeat; is it running?")
    standby = [i for i in instances if i.role is InstanceRole.STANDBY and i.instance != holder
               and (now - i.beat_at).total_seconds() <= max(2 * i.interval_seconds, 1.0)]
    if not standby:
        raise DrillRefused(f"failover drill: no STANDBY instance is heartbeating for account {command.account}: "
                           "start a second `quantshift paper` against the same Postgres store first")
    if live.host != killer.host:
        raise DrillRefused(f"failover drill: the LIVE instance {holder} runs on {live.host}, not on this host "
                           f"({killer.host}); run the drill on {live.host}")
    killed_at = clock.now()
    try:
        killer.kill(live.pid)
    except ProcessLookupError:
        raise DrillRefused(f"failover drill: the LIVE instance {holder} (pid {live.pid}) is not running") from None
    taker, elapsed = "", 0.0
    while elapsed < command.timeout_seconds:
        sleep(command.poll_seconds)
        elapsed = (clock.now() - killed_at).total_seconds()
        with uow_factory() as uow:
            taker = _trading_successor(uow, account=command.account, bots=bots, killed=holder, since=killed_at)
        if taker:
            break
    passed = bool(taker)
    detail = (f"{taker} took over bots {', '.join(bots)} and trades as LIVE {elapsed:.2f} s after {holder} was killed; "
              f"restart an instance to have a standby again" if passed else
              f"no standby took over bots {', '.join(bots)} within {command.timeout_seconds:g} s of killing {holder}")
    entry = AuditEntry(
        ts=clock.now(), kind=AuditKind.DRILL, account=command.account, severity="info" if passed else "warning",
        message=f"failover drill of {command.account}: {'PASSED' if passed else 'FAILED'}: {detail} (by {command.actor})",
        data={"drill": FAILOVER, "from_instance": holder, "to_instance": taker,
              "takeover_seconds": round(elapsed, 4), "passed": passed, "detail": detail},
    )
    with uow_factory() as uow:
        uow.audit.append(entry)
        uow.commit()
    return entry


def _trading_successor(uow: UnitOfWork, *, account: str, bots: list[str], killed: str, since: datetime) -> str:
    """The instance that holds every one of `bots`' leases now, beats LIVE and has finished its
    start (reconciled: its bots' heartbeats say more than "starting"); "" while there is none."""
    holders = {lease.holder for lease in uow.leases.list(account=account) if lease.bot in bots}
    if len(holders) != 1 or killed in holders:
        return ""
    (holder,) = holders
    if len([lease for lease in uow.leases.list(account=account) if lease.holder == holder and lease.bot in bots]) < len(bots):
        return ""
    beat = next((i for i in uow.instances.list(account=account) if i.instance == holder), None)
    if beat is None or beat.role is not InstanceRole.LIVE or beat.beat_at < since:
        return ""
    started = [h for h in uow.heartbeats.list(account=account)
               if h.bot in bots and f"{h.pid}@{h.host}" == holder and h.detail != "starting"]
    return holder if len(started) == len(bots) else ""
