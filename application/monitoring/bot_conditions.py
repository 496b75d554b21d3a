"""The bots' conditions: stale or crashed (from their heartbeats), and a standby taking over
(from their leases).

A bot whose last heartbeat says RUNNING is
- crashed when it ran on this host and its process is gone: known at once, without waiting
  for the heartbeat to age (the process probe);
- stale when no beat came for stale_after_beats of its own heartbeat intervals: the process is
  stuck, or it ran on another host, where a pid tells nothing (so a crash there is known only
  this late).
A bot that stopped cleanly (its last beat says STOPPED) is neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from application.alerting.alert import Alert
from application.monitoring.policy import BOT_CRASHED, BOT_STALE, SOURCE, STANDBY_TAKEOVER, WatchdogPolicy
from application.monitoring.ports import ProcessProbe
from application.ports import AlertLevel
from application.records import BotRunState, Heartbeat, InstanceBeat, InstanceRole, Lease, bot_scope


def bot_alerts(heartbeats: Iterable[Heartbeat], *, now: datetime, policy: WatchdogPolicy,
               processes: ProcessProbe) -> list[Alert]:
    found = []
    for beat in heartbeats:
        if beat.run_state is not BotRunState.RUNNING:
            continue
        age = (now - beat.beat_at).total_seconds()
        scope = bot_scope(beat.account, beat.bot)
        figures = {"pid": str(beat.pid), "host": beat.host, "last_beat": beat.beat_at.isoformat(),
                   "last_beat_age_seconds": f"{age:.1f}", "heartbeat_seconds": f"{beat.interval_seconds:g}"}
        here = policy.check_pids and beat.host == processes.host
        if here and not processes.alive(beat.pid, started_by=beat.started_at):
            found.append(Alert(
                key=f"{BOT_CRASHED}:{scope}", level=AlertLevel.CRITICAL, account=beat.account, bot=beat.bot,
                title=f"bot crashed: {scope}", source=SOURCE, figures=figures,
                body=f"Bot {beat.bot} of account {beat.account} is not running: its process {beat.pid} on "
                     f"{beat.host} is gone, and its last heartbeat ({age:.1f} s ago) said RUNNING, so it did "
                     "not stop cleanly. Nothing trades it until it is restarted or a standby takes over."))
        elif age > policy.stale_after_beats * beat.interval_seconds:
            where = (f"its process {beat.pid} on {beat.host} still runs: stuck?" if here else
                     f"it ran as pid {beat.pid} on {beat.host}: crashed, stuck or cut off from the store")
            found.append(Alert(
                key=f"{BOT_STALE}:{scope}", level=AlertLevel.CRITICAL, account=beat.account, bot=beat.bot,
                title=f"bot stale: {scope}", source=SOURCE, figures=figures,
                body=f"Bot {beat.bot} of account {beat.account} has not sent a heartbeat for {age:.1f} s "
                     f"(it beats every {beat.interval_seconds:g} s); {where}"))
    return found


@attrs.frozen(kw_only=True)
class Takeover:
    account: str
    bot: str
    previous: str  # the holders, "pid@host"
    holder: str
    at: datetime


@attrs.define
class LeaseWatch:
    """The bots' lease holders as last seen. A takeover is a lease whose holder changed to an
    instance that was seen waiting as a STANDBY: a restart after a crash also takes the expired
    lease, but is no standby (the crash alert tells of it). A lease given up on a clean stop is
    deleted, and forgotten here. The first look reports none."""

    _holders: dict[tuple[str, str], str] | None = None
    _standbys: set[str] = attrs.field(factory=set)  # instances seen as STANDBY, still beating

    def look(self, leases: Sequence[Lease], instances: Sequence[InstanceBeat], *, now: datetime) -> list[Takeover]:
        listed = {i.instance for i in instances}
        self._standbys = (self._standbys & listed) | {i.instance for i in instances if i.role is InstanceRole.STANDBY}
        current = {(lease.account, lease.bot): lease.holder for lease in leases}
        before, self._holders = self._holders, current
        if before is None:
            return []
        return [Takeover(account=account, bot=bot, previous=before[(account, bot)], holder=holder, at=now)
                for (account, bot), holder in sorted(current.items())
                if before.get((account, bot), holder) != holder and holder in self._standbys]


def takeover_alerts(takeovers: Sequence[Takeover], *, instances: Sequence[InstanceBeat], now: datetime,
                    open_accounts: Iterable[str], policy: WatchdogPolicy) -> list[Alert]:
    """A takeover leaves the account without a standby: the alert stays open until a STANDBY
    instance is heartbeating for the account again (an instance restarted)."""
    fresh = {i.account for i in instances if i.role is InstanceRole.STANDBY
             and (now - i.beat_at).total_seconds() <= policy.stale_after_beats * i.interval_seconds}
    by_account: dict[str, list[Takeover]] = {}
    for takeover in takeovers:
        by_account.setdefault(takeover.account, []).append(takeover)
    found = []
    for account in sorted(set(by_account) | set(open_accounts)):
        moved = by_account.get(account)
        if not moved and account in fresh:
            continue  # redundancy is back: the open alert resolves
        found.append(_takeover_alert(account, moved or [], standby=account in fresh))
    return found


def _takeover_alert(account: str, moved: Sequence[Takeover], *, standby: bool) -> Alert:
    bots = ", ".join(t.bot for t in moved)
    holders: Mapping[str, str] = {t.bot: f"{t.previous} -> {t.holder}" for t in moved}
    what = (f"The leases of bot(s) {bots} moved: " + "; ".join(f"{b}: {h}" for b, h in holders.items()) + ". "
            if moved else "")
    after = ("A standby is heartbeating again." if standby else
             "No standby is left for this account: start another instance to have one again.")
    return Alert(key=f"{STANDBY_TAKEOVER}:{account}", level=AlertLevel.WARNING, account=account, source=SOURCE,
                 title=f"standby took over: {account}", body=f"{what}The previous leader stopped renewing them "
                 f"(crashed, stuck or cut off) and another instance trades the account now. {after}",
                 figures=dict(holders))
