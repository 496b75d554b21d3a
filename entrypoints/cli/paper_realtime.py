"""The continuous `quantshift paper` session, with hot standby on Postgres.

On SQLite one instance runs a bot and a second is refused. On Postgres every instance
waits as STANDBY until it holds the bots' leases (the leader renews them with its heartbeat),
then reconciles with the venue and trades as LIVE; when the leader dies its leases expire
and a standby takes over within seconds. Losing the leases stops trading at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from datetime import timedelta

from adapters.marketdata.realtime import RealtimeSyntheticFeed
from application.lease import LeaseGuard
from application.paper_session import PaperSession, SessionSettings
from application.records import InstanceBeat, InstanceRole, SessionRecord
from application.standby import wait_for_leadership
from application.venue_health import MeasuredBroker, MeasuredMarketData
from entrypoints.cli.common import process_info
from entrypoints.container import SIMULATED_VENUE, Container, is_postgres, journaled_broker
from entrypoints.faults import faults_from_environment

PAPER_ACCOUNT = "paper"  # the continuous session's account: stable, so a restart carries on


def run_realtime(container: Container, *, bar_seconds: float | None, duration: float | None, seed: int | None) -> None:
    settings = container.settings()
    store = container.store()
    clock = container.clock()
    bots = container.bots()
    names = [b.name for b in bots]
    interval = timedelta(seconds=bar_seconds) if bar_seconds else settings.engine.interval
    process = process_info()
    lease = None
    if is_postgres(settings.database_url):
        lease = LeaseGuard(holder=f"{process.pid}@{process.host}", ttl_seconds=settings.engine.lease_seconds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    deadline = None if duration is None else clock.now() + timedelta(seconds=duration)

    def should_stop() -> bool:
        return stop.is_set() or (deadline is not None and clock.now() >= deadline)

    with store() as uow:
        if uow.sessions.get(PAPER_ACCOUNT) is None:
            uow.sessions.start(SessionRecord(account=PAPER_ACCOUNT, mode="paper", seed=seed, trading_days=None,
                                             started_at=clock.now()))
            uow.commit()
    while not should_stop():
        if lease is not None and not wait_for_leadership(
            guard=lease, uow_factory=store, account=PAPER_ACCOUNT, bots=names, should_stop=should_stop,
            sleep=time.sleep, poll_seconds=min(0.2, settings.engine.lease_seconds / 4),
            on_standby=lambda: _say(f"STANDBY: {', '.join(names)} led by another instance; waiting"),
            announce=lambda uow: uow.instances.beat(InstanceBeat(
                instance=process.instance, account=PAPER_ACCOUNT, role=InstanceRole.STANDBY, pid=process.pid,
                host=process.host, bots=",".join(names), beat_at=clock.now(),
                interval_seconds=settings.engine.heartbeat_seconds)),
        ):
            return
        # The venue keeps a journal: it outlives the bot process, like a real one.
        broker = journaled_broker(container, account=PAPER_ACCOUNT)
        try:
            health = container.health()
            feed = MeasuredMarketData(inner=RealtimeSyntheticFeed(
                instruments=list(container.instruments().values()), interval=interval,
                seed=settings.engine.seed if seed is None else seed, clock=clock), venue=SIMULATED_VENUE, recorder=health)
            session = PaperSession(
                settings=SessionSettings(account=PAPER_ACCOUNT, mode="paper",
                                         heartbeat_seconds=settings.engine.heartbeat_seconds,
                                         evaluations_per_bar=settings.engine.evaluations_per_bar),
                bots=bots, uow_factory=store, venue=broker, notifier=container.notifier(),
                broker=MeasuredBroker(inner=broker, venue=SIMULATED_VENUE, recorder=health),
                wall_clock=clock, process=process, faults=faults_from_environment(os.environ), lease=lease,
                allocation=container.allocation(), health=health,
            )
            session.start(now=clock.now())
            _say(f"LIVE: paper trading {', '.join(names)} in real time ({interval.total_seconds():g}s bars); "
                 f"database {store.path}; Ctrl-C stops")
            session.run_realtime(feed, should_stop=should_stop)
            session.stop(now=clock.now(), detail="lease lost" if session.lost_lease else
                         ("stopped by signal" if stop.is_set() else "duration reached"))
        finally:
            broker.close()
        if lease is None or not session.lost_lease:
            return


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
