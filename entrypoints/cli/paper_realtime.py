"""The continuous session of `quantshift paper` and `quantshift live`, with hot standby on Postgres.

Paper and live are one session (run_realtime); live differs only in its account, its keys
and endpoint, the bots it may run and the certificate watch it adds (LiveAccount,
entrypoints/cli/live.py).

On SQLite one instance runs a bot and a second is refused. On Postgres every instance
waits as STANDBY until it holds the bots' leases (the leader renews them with its heartbeat),
then reconciles with the venue and trades as LIVE; when the leader dies its leases expire
and a standby takes over within seconds. Losing the leases stops trading at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from adapters.marketdata.realtime import RealtimeSyntheticFeed
from application.records import InstanceBeat, InstanceRole, SessionRecord
from application.safety.lease import LeaseGuard
from application.safety.standby import wait_for_leadership
from application.trading.bot import BotSpec
from application.trading.market_hours import MarketHours, VenueMarketHours
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.trading.session_end import OnStop
from application.venues.ports import BarListener, Broker, LiveMarketData
from application.venues.venue_health import MeasuredBroker, MeasuredMarketData
from application.monitoring.stream_state import StreamStateMonitor
from application.venues.venue_monitors import AccountMonitor, FundingMonitor, VenueMonitor
from domain.accounting.instrument import AssetClass
from domain.errors import ConfigurationError
from entrypoints.cli.common import process_info
from entrypoints.logging_setup import say
from entrypoints.container import SIMULATED_VENUE, Container, is_postgres, journaled_broker
from entrypoints.faults import faults_from_environment
from entrypoints.venues import ASSET_CLASS_OF, VenueName, account_name, build_venue
from entrypoints.validation_epochs import ensure_epochs

if TYPE_CHECKING:
    from entrypoints.golive_staging import LiveStaging

PAPER_ACCOUNT = "paper"  # the continuous session's account: stable, so a restart carries on


@attrs.frozen(kw_only=True)
class LiveAccount:
    """What `quantshift live` changes in the continuous session: real money."""

    account: str  # "alpaca-live" or "coinbase" (entrypoints/venues.account_name)
    bots: Sequence[str]  # the certified bots it runs, of the venue's
    # The certificate watch (application/golive/live_gate.CertificateWatch), ticked with each supervision.
    watch: Callable[[], VenueMonitor]
    # Staged deployment (entrypoints/golive_staging.stage_live): probation caps on the specs, its
    # monitor and the shadow paper bot; called with the bots, this process and now, once leading.
    stage: Callable[[Sequence[BotSpec], ProcessInfo, datetime], LiveStaging] | None = None


@attrs.frozen(kw_only=True)
class TradingVenue:
    """What one session trades through: the broker, the bars, and what closes them."""

    name: str
    broker: Broker
    feed: LiveMarketData
    listener: BarListener | None  # the simulated venue matches on the bars; a real one does not
    monitors: Sequence[VenueMonitor]
    close: Callable[[], None]
    market_hours: MarketHours | None = None  # a real venue's clock; the simulated feed only has session bars


def venue_bots(container: Container, venue: str) -> list[BotSpec]:
    """The bots a venue trades: all of them on the simulated venue; on Alpaca the equity bots,
    on Coinbase the crypto bots."""
    bots = list(container.bots())
    if venue == SIMULATED_VENUE:
        return bots
    asset_class = AssetClass(ASSET_CLASS_OF[venue])  # type: ignore[index]
    chosen = [b for b in bots if all(i.asset_class is asset_class for i in b.instruments.values())]
    if not chosen:
        raise ConfigurationError(f"{venue} trades {asset_class.value} bots and the configuration has none "
                                 f"(bots: {', '.join(b.name for b in bots)})")
    return chosen


def session_account(container: Container, venue: str, *, sandbox: bool) -> str:
    if venue == SIMULATED_VENUE:
        return PAPER_ACCOUNT
    settings = container.settings()
    # `paper` never trades real money: live needs the go-live gate, which is not this command.
    if venue == "alpaca" and not settings.alpaca.paper:
        raise ConfigurationError("alpaca: [alpaca] paper = false is live trading; `quantshift paper` only uses "
                                 "Alpaca's paper account")
    if venue == "coinbase" and not (sandbox or settings.coinbase.sandbox):
        raise ConfigurationError("coinbase: Coinbase has no paper account; use --sandbox (live trading needs the "
                                 "go-live gate)")
    return account_name(venue, settings, sandbox=sandbox)  # type: ignore[arg-type]


def open_venue(container: Container, venue: str, *, account: str, bots: Sequence[BotSpec], interval: timedelta,
               seed: int | None, sandbox: bool, live: bool = False) -> TradingVenue:
    settings = container.settings()
    clock = container.clock()
    health = container.health()
    if venue == SIMULATED_VENUE:
        # The venue keeps a journal: it outlives the bot process, like a real one.
        broker = journaled_broker(container, account=account)
        feed = RealtimeSyntheticFeed(instruments=list(container.instruments().values()), interval=interval,
                                     seed=settings.engine.seed if seed is None else seed, clock=clock)
        return TradingVenue(name=SIMULATED_VENUE, broker=MeasuredBroker(inner=broker, venue=SIMULATED_VENUE,
                                                                        recorder=health),
                            feed=MeasuredMarketData(inner=feed, venue=SIMULATED_VENUE, recorder=health),
                            listener=broker, monitors=(), close=broker.close)
    name: VenueName = venue  # type: ignore[assignment]
    real = build_venue(name, settings, environ=os.environ, clock=clock, sandbox=sandbox, live=live)
    try:
        symbols = sorted({s for b in bots for s in b.instruments})
        stream = real.market_data(symbols, interval)
        monitors: list[VenueMonitor] = [AccountMonitor(account=real.account, notifier=container.notifier())]
        if name == "coinbase":
            monitors.append(FundingMonitor(funding=real.funding, symbols=symbols, notifier=container.notifier(),
                                           venue=name))
            # The websocket's state, for the watchdog's "stream down" (Alpaca's SDK stream keeps none).
            monitors.append(StreamStateMonitor(venue=name, connected=stream.connected.is_set, recorder=health))
        else:
            _say(f"{name}: no perpetual futures there; funding rates are not monitored")
        return TradingVenue(name=name, broker=MeasuredBroker(inner=real.broker, venue=name, recorder=health),
                            feed=MeasuredMarketData(inner=stream, venue=name, recorder=health), listener=None,
                            monitors=monitors, close=real.close, market_hours=VenueMarketHours(account=real.account))
    except BaseException:
        real.close()
        raise


def run_realtime(container: Container, *, bar_seconds: float | None, duration: float | None, seed: int | None,
                 venue: str = SIMULATED_VENUE, sandbox: bool = False, live: LiveAccount | None = None) -> None:
    """`live`: real money on the venue's live endpoint (checked and confirmed by the caller)."""
    settings = container.settings()
    store = container.store()
    clock = container.clock()
    bots = venue_bots(container, venue)
    if live is not None:
        bots = [b for b in bots if b.name in live.bots]
    names = [b.name for b in bots]
    account = live.account if live is not None else session_account(container, venue, sandbox=sandbox)
    mode = "paper" if live is None else "live"
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
        if uow.sessions.get(account) is None:
            uow.sessions.start(SessionRecord(account=account, mode=mode, seed=seed, trading_days=None,
                                             started_at=clock.now()))
            uow.commit()
    while not should_stop():
        if lease is not None and not wait_for_leadership(
            guard=lease, uow_factory=store, account=account, bots=names, should_stop=should_stop,
            sleep=time.sleep, poll_seconds=min(0.2, settings.engine.lease_seconds / 4),
            on_standby=lambda: _say(f"STANDBY: {', '.join(names)} led by another instance; waiting"),
            announce=lambda uow: uow.instances.beat(InstanceBeat(
                instance=process.instance, account=account, role=InstanceRole.STANDBY, pid=process.pid,
                host=process.host, bots=",".join(names), beat_at=clock.now(),
                interval_seconds=settings.engine.heartbeat_seconds)),
        ):
            return
        trading = open_venue(container, venue, account=account, bots=bots, interval=interval, seed=seed,
                             sandbox=sandbox, live=live is not None)
        staging = None
        detail = "aborted"
        try:
            if live is not None and live.stage is not None:
                staging = live.stage(bots, process, clock.now())
            monitors = [*trading.monitors, *([live.watch()] if live is not None else []),
                        *([staging.monitor] if staging is not None else [])]
            session = PaperSession(
                settings=SessionSettings(account=account, mode=mode,
                                         heartbeat_seconds=settings.engine.heartbeat_seconds,
                                         evaluations_per_bar=settings.engine.evaluations_per_bar,
                                         on_stop=OnStop(settings.engine.on_stop),
                                         reject_streak=settings.alerts.reject_streak),
                bots=staging.bots if staging is not None else bots, uow_factory=store, venue=trading.listener,
                notifier=container.notifier(),
                broker=trading.broker, wall_clock=clock, process=process, faults=faults_from_environment(os.environ),
                lease=lease, allocation=container.allocation(), health=container.health(), monitors=monitors,
                market_hours=trading.market_hours, errors=container.error_reporter(),
            )
            if staging is not None:
                staging.attach(session)
            started = clock.now()
            session.start(now=started)
            if staging is not None:
                staging.start(now=started)
            # Leading now: the bots' validation epochs (real-time paper accounts only) start at this start.
            ensure_epochs(container, account=account, bots=names, now=started)
            what = "paper trading" if live is None else "REAL MONEY: live trading"
            _say(f"LIVE: {what} {', '.join(names)} on {trading.name} ({account}) in real time "
                 f"({interval.total_seconds():g}s bars); database {store.path}; Ctrl-C stops")
            session.run_realtime(staging.feed(trading.feed) if staging is not None else trading.feed,
                                 should_stop=should_stop)
            detail = ("lease lost" if session.lost_lease else
                      ("stopped by signal" if stop.is_set() else "duration reached"))
            session.stop(now=clock.now(), detail=detail)
        finally:
            if staging is not None:  # also when the session raised: it closes the shadow's venue journal
                staging.stop(now=clock.now(), detail=detail)
            trading.close()
        if lease is None or not session.lost_lease:
            return


def _say(message: str) -> None:
    say(message, logger="quantshift.session")  # a line on stderr, or a JSON record in a JSON process
