"""Every condition of one tick, decided on an observation of the store at a given time (no
clock is read here), and the store's own: unreachable, or answering too slowly."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from application.alerting.alert import Alert
from application.monitoring.bot_conditions import Takeover, bot_alerts, takeover_alerts
from application.monitoring.observation import Observation
from application.monitoring.policy import (
    RECONCILIATION_MISMATCH,
    SOURCE,
    STANDBY_TAKEOVER,
    STORE_DEGRADED,
    STORE_UNREACHABLE,
    WatchdogPolicy,
    kind_of,
)
from application.monitoring.ports import ProcessProbe
from application.monitoring.venue_conditions import venue_alerts
from application.ports import AlertLevel
from application.records import AuditEntry


def observed_alerts(observation: Observation, *, policy: WatchdogPolicy, processes: ProcessProbe,
                    takeovers: Sequence[Takeover], open_keys: Collection[str]) -> list[Alert]:
    """The conditions that hold now. `open_keys`: the watchdog's alerts open before this tick
    (a takeover alert stays open until a standby is back)."""
    now = observation.at
    open_takeovers = [key.split(":", 1)[1] for key in open_keys if kind_of(key) == STANDBY_TAKEOVER]
    return [
        *bot_alerts(observation.heartbeats, now=now, policy=policy, processes=processes),
        *takeover_alerts(takeovers, instances=observation.instances, now=now, open_accounts=open_takeovers,
                         policy=policy),
        *venue_alerts(observation.venues, observation.buckets, now=now, policy=policy),
        *reconciliation_alerts(observation.reconciliations),
    ]


def reconciliation_alerts(latest: Mapping[str, AuditEntry]) -> list[Alert]:
    """An account whose latest reconciliation found mismatches; it clears with the next clean one."""
    found = []
    for account, entry in sorted(latest.items()):
        mismatches = entry.data.get("mismatches")
        if not mismatches or not isinstance(mismatches, list):
            continue
        found.append(Alert(
            key=f"{RECONCILIATION_MISMATCH}:{account}", level=AlertLevel.CRITICAL, account=account, source=SOURCE,
            title=f"reconciliation mismatch: {account}",
            body=f"The store and the venue disagree on account {account} ({len(mismatches)} mismatch(es), "
                 f"reconciled at {entry.ts.isoformat()}): " + "; ".join(str(m) for m in mismatches[:5])
                 + ("; ..." if len(mismatches) > 5 else "") + ". The session halts the bots it cannot explain.",
            figures={"mismatches": str(len(mismatches)), "reconciled_at": entry.ts.isoformat()}))
    return found


def store_unreachable(error: str) -> Alert:
    return Alert(key=STORE_UNREACHABLE, level=AlertLevel.CRITICAL, title="store unreachable", source=SOURCE,
                 body=f"The watchdog cannot reach the store: {error}. The bots cannot commit an order intent "
                      "(they pause trading), and nothing else the watchdog watches can be checked meanwhile.",
                 figures={"error": error})


def store_degraded(*, latency_ms: float, ticks: int, policy: WatchdogPolicy) -> Alert:
    return Alert(key=STORE_DEGRADED, level=AlertLevel.WARNING, title="store slow", source=SOURCE,
                 body=f"The store took {latency_ms:.0f} ms to answer the watchdog's tick, over "
                      f"{policy.store_latency_ms:g} ms for {ticks} ticks in a row: the bots' order transactions "
                      "wait as long.",
                 figures={"latency_ms": f"{latency_ms:.0f}", "threshold_ms": f"{policy.store_latency_ms:g}",
                          "slow_ticks": str(ticks)})
