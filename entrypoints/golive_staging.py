"""Staged deployment, wired for `quantshift live`: the probation caps on the bots' specs, the
monitor that promotes or demotes them, and the shadow paper bot beside them on the same bars.

The live command calls, around its PaperSession (application/golive/probation.py and
application/golive/shadow.py say why):

    staging = stage_live(container, account=account, bots=bots, fingerprints=fps,
                         certificates=certificate_ids, process=process, now=clock.now())
    session = PaperSession(..., bots=staging.bots, monitors=[*trading.monitors, staging.monitor])
    staging.attach(session)
    session.start(now=clock.now()); staging.start(now=clock.now())
    session.run_realtime(staging.feed(trading.feed), should_stop=should_stop)
    session.stop(now=clock.now(), detail=...); staging.stop(now=clock.now())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

import attrs

from adapters.marketdata.calendar import nyse_recent_session_keys, nyse_session_key
from application.golive.probation import ProbationMonitor, begin_live
from application.golive.shadow import ShadowBot, ShadowFeed, shadow_account
from application.trading.bot import BotSpec
from application.trading.bot_state import BotState
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from application.trading.session_end import OnStop
from application.venues.ports import LiveMarketData
from domain.accounting.instrument import AssetClass
from domain.analytics.probation import PaperRecord, ProbationBand, ProbationPolicy
from domain.errors import ConfigurationError
from entrypoints.container import Container, bot_specs, journaled_broker
from entrypoints.settings import Settings

SHADOW_MODE = "shadow"  # the shadow session's heartbeat mode: never counted as paper validation


def probation_policy(settings: Settings) -> ProbationPolicy:
    g = settings.golive
    try:
        return ProbationPolicy(fraction=g.probation_fraction, days=g.probation_days, band=ProbationBand(
            win_rate_tolerance=g.probation_win_rate_tolerance, drawdown_factor=g.probation_drawdown_factor,
            max_slippage_bps=g.probation_max_slippage_bps, min_round_trips=g.probation_min_round_trips))
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [golive]: {exc}") from exc


def criteria_record(settings: Settings) -> PaperRecord:
    """The band's paper side when no paper epoch is stored: the thresholds the certificate required."""
    g = settings.golive
    return PaperRecord(win_rate=g.min_win_rate, max_drawdown=g.max_drawdown, round_trips=g.min_trades,
                       source="go-live criteria (no paper epoch found)")


def trading_days(asset_class: str, since: datetime, now: datetime) -> int:
    """Trading sessions begun after the one `since` falls in, up to `now`: NYSE sessions for
    equity bots, UTC days for crypto bots (the validation clock's units)."""
    if now <= since:
        return 0
    if asset_class == AssetClass.CRYPTO.value:
        return (now.astimezone(timezone.utc).date() - since.astimezone(timezone.utc).date()).days
    first = nyse_session_key(since)
    span = max((now - since).days + 5, 5)  # more keys than sessions can have begun in between
    return sum(1 for key in nyse_recent_session_keys(now, count=span) if key > first)


def asset_class_of(state: BotState) -> str:
    classes = {i.asset_class.value for i in state.spec.instruments.values()}
    return classes.pop() if len(classes) == 1 else AssetClass.EQUITY.value


@attrs.define(kw_only=True)
class LiveStaging:
    bots: list[BotSpec]  # the specs to trade: each on probation carries its cap
    monitor: ProbationMonitor  # one more of the session's monitors
    shadow: ShadowBot | None

    def attach(self, session: PaperSession) -> None:
        shadow = self.shadow
        self.monitor.attach(lambda: session.states,
                            (lambda: shadow.session.states) if shadow is not None else None)

    def feed(self, inner: LiveMarketData) -> LiveMarketData:
        return inner if self.shadow is None else ShadowFeed(inner=inner, shadow=self.shadow)

    def start(self, *, now: datetime) -> None:
        if self.shadow is not None:
            self.shadow.start(now=now)

    def stop(self, *, now: datetime, detail: str = "") -> None:
        if self.shadow is not None:
            self.shadow.stop(now=now, detail=detail)


def stage_live(container: Container, *, account: str, bots: Sequence[BotSpec], fingerprints: Mapping[str, str],
               certificates: Mapping[str, str], process: ProcessInfo, now: datetime,
               shadow: bool = True) -> LiveStaging:
    """`fingerprints` and `certificates`: each bot's fingerprint digest and the id of the
    certificate it goes live under. Writes probation_started for the bots that begin one."""
    settings = container.settings()
    policy = probation_policy(settings)
    store = container.store()
    staged = []
    with store() as uow:
        for spec in bots:
            cap = begin_live(uow, bot=spec.name, account=account, fingerprint=fingerprints[spec.name],
                             certificate_id=certificates[spec.name], now=now, policy=policy)
            staged.append(attrs.evolve(spec, probation=cap))
        uow.commit()
    monitor = ProbationMonitor(uow_factory=store, notifier=container.notifier(), clock=container.clock(),
                               policy=policy, trading_days=trading_days, fallback=criteria_record(settings),
                               asset_class=asset_class_of, every_seconds=settings.golive.probation_check_seconds)
    return LiveStaging(bots=staged, monitor=monitor,
                       shadow=shadow_bot(container, live_account=account, bots=staged, process=process)
                       if shadow else None)


def shadow_bot(container: Container, *, live_account: str, bots: Sequence[BotSpec],
               process: ProcessInfo) -> ShadowBot:
    """The live bots' paper copy: its own account and journaled simulated venue, the same specs
    (caps included: the same quantities), in this process under an instance name of its own."""
    settings = container.settings()
    account = shadow_account(live_account)
    # Specs of its own, built afresh: a strategy (and a breaker) keeps state bar to bar, so one
    # instance called by both sessions would see every bar twice and shift the live bot's decisions.
    fresh = {spec.name: spec for spec in bot_specs(settings)}
    bots = [attrs.evolve(fresh[spec.name], probation=spec.probation) for spec in bots]
    broker = journaled_broker(container, account=account)
    session = PaperSession(
        settings=SessionSettings(account=account, mode=SHADOW_MODE, heartbeat_seconds=settings.engine.heartbeat_seconds,
                                 evaluations_per_bar=settings.engine.evaluations_per_bar,
                                 on_stop=OnStop(settings.engine.on_stop)),
        bots=list(bots), uow_factory=container.store(), broker=broker, venue=broker, notifier=container.notifier(),
        wall_clock=container.clock(), process=ProcessInfo(pid=process.pid, host=f"{process.host}#shadow"),
    )
    return ShadowBot(session=session, notifier=container.notifier(), clock=container.clock(), close=broker.close)
