"""The watchdog's tick: take or renew the leader lease, read the store, decide every condition,
and tell the AlertSink what changed: a condition that starts holding is fired (again when its
level rises), one that stops holding is resolved. The leader also has the lifecycle repeat the
unacknowledged critical alerts that are due.

Only the lease holder acts, so two watchdogs (blue and green, or `serve` and `watch`) never
both send; the others keep reading, so whichever leads next knows the lease history. A new
leader takes the open alerts from the store as what was raised before it (the previous
leader's alerts are resolved by it, never fired twice).

When the store does not answer, nobody can take the lease: the watchdog that led last (or one
that never reached the store at all) alerts that it is unreachable, and resolves that itself
once it answers again, whoever leads then. The other conditions are left as they were until
they can be read again. Nothing here sleeps: the caller ticks it (entrypoints/watchdog.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs

from application.alerting.alert import Alert
from application.alerting.lifecycle import OpenAlert
from application.alerting.ports import AlertSink
from application.monitoring.bot_conditions import LeaseWatch, Takeover
from application.monitoring.conditions import observed_alerts, store_degraded, store_unreachable
from application.monitoring.observation import Observation, observe
from application.monitoring.policy import STORE_KINDS, WatchdogPolicy, is_watchdog_key, kind_of
from application.monitoring.ports import AlertLifecycle, ProcessProbe
from application.monitoring.resolutions import resolution
from application.monitoring.tick_record import WatchdogTick, record_tick
from application.ports import AlertLevel, Clock, UnitOfWorkFactory
from application.safety.lease import WATCHDOG_LEASE_ACCOUNT, WATCHDOG_LEASE_BOT
from domain.errors import StoreUnavailable

_RANK = {AlertLevel.INFO: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}


@attrs.frozen(kw_only=True)
class TickReport:
    leader: bool  # this watchdog acted (held the lease, or alerted on the store as its last leader)
    store_ok: bool
    latency_ms: float  # the store's answer to this tick (lease, tick record and the read)
    fired: tuple[str, ...] = ()  # keys
    resolved: tuple[str, ...] = ()
    repeated: int = 0


@attrs.frozen(kw_only=True)
class _Read:
    observation: Observation
    leading: bool
    open_levels: Mapping[str, AlertLevel] | None  # read when this tick made the watchdog the leader
    due: Sequence[OpenAlert]


@attrs.define(kw_only=True)
class Watchdog:
    uow_factory: UnitOfWorkFactory  # writing: the lease and the tick record
    reader: UnitOfWorkFactory  # read-only: the observation, never holding the store's write lock
    sink: AlertSink
    lifecycle: AlertLifecycle
    clock: Clock
    monotonic: Callable[[], float]  # the store's latency (time.monotonic in production)
    processes: ProcessProbe
    policy: WatchdogPolicy
    holder: str  # "pid@host"
    leader: bool = False
    _reached: bool = False  # the store answered this watchdog at least once
    _active: dict[str, AlertLevel] = attrs.field(factory=dict)  # raised and not resolved, by key
    _leases: LeaseWatch = attrs.field(factory=LeaseWatch)
    _slow_ticks: int = 0

    def tick(self) -> TickReport:
        now = self.clock.now()
        started = self.monotonic()
        try:
            read = self._read(now)
        except StoreUnavailable as error:
            return self._store_down(str(error), latency_ms=(self.monotonic() - started) * 1000)
        latency_ms = (self.monotonic() - started) * 1000
        self._reached = True
        takeovers = self._leases.look(read.observation.leases, read.observation.instances, now=now)
        self._slow_ticks = self._slow_ticks + 1 if latency_ms > self.policy.store_latency_ms else 0
        if not read.leading:
            self.leader = False
            # The new leader seeds from the store; the store alerts only this watchdog knows of.
            resolved = self._resolve_cleared([], decided=lambda key: kind_of(key) in STORE_KINDS)
            self._active.clear()
            return TickReport(leader=False, store_ok=True, latency_ms=latency_ms, resolved=resolved)
        if read.open_levels is not None:
            self._active = {**{k: level for k, level in read.open_levels.items() if is_watchdog_key(k)}, **{
                k: level for k, level in self._active.items() if kind_of(k) in STORE_KINDS}}
        self.leader = True
        wanted = self._conditions(read.observation, takeovers, latency_ms=latency_ms)
        fired, resolved = self._fire(wanted), self._resolve_cleared(wanted, decided=lambda _key: True)
        repeated = self.lifecycle.repeat(read.due, now=now) if read.due else 0
        return TickReport(leader=True, store_ok=True, latency_ms=latency_ms, fired=fired, resolved=resolved,
                          repeated=repeated)

    def release(self) -> None:
        """Give the leader lease up at once (a clean stop): another watchdog leads at its next tick."""
        try:
            with self.uow_factory() as uow:
                uow.leases.release(account=WATCHDOG_LEASE_ACCOUNT, bot=WATCHDOG_LEASE_BOT, holder=self.holder)
                uow.commit()
        except StoreUnavailable:
            pass  # it expires by itself
        self.leader = False

    def _read(self, now: datetime) -> _Read:
        with self.uow_factory() as uow:
            lease = uow.leases.acquire(account=WATCHDOG_LEASE_ACCOUNT, bot=WATCHDOG_LEASE_BOT, holder=self.holder,
                                       ttl_seconds=self.policy.lease_seconds)
            if lease is not None:
                record_tick(uow, WatchdogTick(at=now, holder=self.holder,
                                              interval_seconds=self.policy.interval_seconds))
            uow.commit()
        leading = lease is not None
        with self.reader() as uow:
            observation = observe(uow, now=now, policy=self.policy)
            open_levels = self.lifecycle.open_levels(uow) if leading and not self.leader else None
            due = self.lifecycle.repeat_due(uow, now=now) if leading else ()
        return _Read(observation=observation, leading=leading, open_levels=open_levels, due=due)

    def _conditions(self, observation: Observation, takeovers: Sequence[Takeover], *, latency_ms: float) -> list[Alert]:
        wanted = observed_alerts(observation, policy=self.policy, processes=self.processes, takeovers=takeovers,
                                 open_keys=tuple(self._active))
        if self._slow_ticks >= self.policy.store_slow_ticks:
            wanted.append(store_degraded(latency_ms=latency_ms, ticks=self._slow_ticks, policy=self.policy))
        return wanted

    def _store_down(self, error: str, *, latency_ms: float) -> TickReport:
        self._slow_ticks = 0
        if not (self.leader or not self._reached):
            return TickReport(leader=False, store_ok=False, latency_ms=latency_ms)
        wanted = [store_unreachable(error)]
        fired = self._fire(wanted)
        resolved = self._resolve_cleared(wanted, decided=lambda key: kind_of(key) in STORE_KINDS)
        return TickReport(leader=True, store_ok=False, latency_ms=latency_ms, fired=fired, resolved=resolved)

    def _fire(self, wanted: Sequence[Alert]) -> tuple[str, ...]:
        fired = []
        for alert in wanted:
            known = self._active.get(alert.key)
            if known is None or _RANK[alert.level] > _RANK[known]:
                self.sink.fire(alert)  # new, or worse than when it was raised (a venue now down)
                self._active[alert.key] = alert.level
                fired.append(alert.key)
        return tuple(fired)

    def _resolve_cleared(self, wanted: Sequence[Alert], *, decided: Callable[[str], bool]) -> tuple[str, ...]:
        """Resolve what was raised, is decided by this tick, and no longer holds."""
        holding = {alert.key for alert in wanted}
        resolved = []
        for key in sorted(self._active):
            if key not in holding and decided(key):
                self.sink.resolve(**resolution(key, at=self.clock.now()))
                del self._active[key]
                resolved.append(key)
        return tuple(resolved)
