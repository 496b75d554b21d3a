"""One read of the store, everything a watchdog tick decides on: the bots' heartbeats, the
instances, the bots' leases, the venues' health and each account's latest reconciliation.

Accelerated sessions (`paper --days`, mode "simulation") are left out: they replay history in
seconds, nobody is waiting on them, and their times are simulated ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from application.monitoring.policy import WatchdogPolicy
from application.ports import UnitOfWork
from application.records import AuditEntry, Heartbeat, InstanceBeat, Lease
from application.reports.venue_health_report import HealthThresholds, VenueHealthReport, venue_health_report
from application.safety.lease import is_bot_lease
from application.venues.ports import VenueHealthBucket
from application.venues.venue_health import minute_of

SIMULATION_MODE = "simulation"
_RECONCILIATIONS = 500  # the newest reconciliation entries read: each session writes one every 30 s
_STREAM_HISTORY = timedelta(minutes=2)  # read beyond stream_down_seconds, to see when the stream was last up


@attrs.frozen(kw_only=True)
class Observation:
    at: datetime
    heartbeats: tuple[Heartbeat, ...]
    instances: tuple[InstanceBeat, ...]
    leases: tuple[Lease, ...]  # the bots' leases (the watchdogs' own one left out)
    venues: VenueHealthReport  # over the policy's venue window
    buckets: tuple[VenueHealthBucket, ...]  # over the venue window, or longer for the streams
    reconciliations: Mapping[str, AuditEntry]  # account -> its latest reconciliation entry


def observe(uow: UnitOfWork, *, now: datetime, policy: WatchdogPolicy) -> Observation:
    beats = uow.heartbeats.list()
    simulated = {b.account for b in beats if b.mode == SIMULATION_MODE}
    real = {b.account for b in beats if b.mode != SIMULATION_MODE}
    history = max(policy.venue_window, timedelta(seconds=policy.stream_down_seconds) + _STREAM_HISTORY)
    return Observation(
        at=now,
        heartbeats=tuple(b for b in beats if b.mode != SIMULATION_MODE),
        instances=tuple(uow.instances.list()),
        leases=tuple(lease for lease in uow.leases.list() if is_bot_lease(lease)),
        venues=venue_health_report(uow, now=now, window=policy.venue_window, thresholds=HealthThresholds(
            max_error_rate=policy.venue_error_rate, max_p99_ms=policy.venue_latency_ms)),
        buckets=tuple(uow.venue_health.list(since=minute_of(now - history))),
        reconciliations=_latest_reconciliations(uow, now=now, policy=policy, skip=simulated - real),
    )


def _latest_reconciliations(uow: UnitOfWork, *, now: datetime, policy: WatchdogPolicy,
                            skip: set[str]) -> dict[str, AuditEntry]:
    latest: dict[str, AuditEntry] = {}
    # Oldest first: a later entry of an account replaces an earlier one. A reconciliation's
    # entry (application/trading/reconcile.py) is the only one whose data has "mismatches".
    for entry in uow.audit.list(data_key="mismatches", since=now - policy.reconciliation_lookback,
                                limit=_RECONCILIATIONS):
        if entry.account not in skip:
            latest[entry.account] = entry
    return latest
