"""The gate's "Risk management" items for a configured bot, and the crash replay behind two of them.

The replay is the same for every configuration, so a figure means the same thing on every
certificate: the bot's instruments on the synthetic feed at a fixed seed and start, first a
trend up (long enough for its strategy to warm up and enter), then the crash regime opening
CRASH_GAP below the last close. A crash that gaps is the one that matters: resting stops
fill at the gap's open, far below the stop, and only the breakers are left to act. The bars,
the bot (BotSpec from the container, as the session builds it), the costs and the simulated
venue are the configuration's own; allocation is not applied (the bot trades its capital).
"""

from __future__ import annotations

import math
import tempfile
from datetime import date, timedelta
from itertools import islice

import attrs

from adapters.clock import SystemClock
from adapters.log_notifier import LoggingNotifier
from adapters.marketdata.synthetic import Regime, RegimeSpell, SyntheticBarFeed
from adapters.simulated import MarketFill, build_simulated_broker
from application.golive.checklist import ItemResult
from application.golive.crash_replay import CrashReplay, replay_crash
from application.golive.risk_checks import risk_items
from application.trading.bot import BotSpec
from domain.errors import ConfigurationError
from entrypoints.container import bot_specs, build_store, simulated_broker_config
from entrypoints.settings import BotSettings, RiskSettings, Settings

CRASH_SEED = 7
CRASH_START = date(2025, 1, 2)
# Between the worst index day on record (-20.5 %, 19 October 1987) and crypto's worst days (-40 to
# -50 %, 12 March 2020): a fall every live configuration must survive with its limits acting.
CRASH_GAP = 0.30
CRASH_BARS = 100
MIN_TREND_BARS = 200


def crash_scenario(spec: BotSpec) -> tuple[RegimeSpell, ...]:
    """The trend lasts three warm-ups of the bot (at least MIN_TREND_BARS), so it has entered."""
    return (RegimeSpell(regime=Regime.TRENDING_UP, bars=max(MIN_TREND_BARS, 3 * spec.history_bars)),
            RegimeSpell(regime=Regime.CRASH, bars=CRASH_BARS, gap_down=CRASH_GAP))


def crash_replay(settings: Settings, *, bot: str) -> CrashReplay:
    spec = _spec(settings, bot)
    script = crash_scenario(spec)
    trend, crash = (spell.bars for spell in script)
    interval = settings.engine.interval
    instruments = list(spec.instruments.values())
    try:
        feed = SyntheticBarFeed(instruments=instruments, start=CRASH_START, interval=interval, seed=CRASH_SEED,
                                script=script, trading_days=_sessions_for(trend + crash, interval=interval,
                                                                           crypto=all(i.trades_around_the_clock
                                                                                      for i in instruments)))
    except ValueError as exc:
        raise ConfigurationError(f"bot {bot}: the crash replay of {trend + crash} {settings.engine.timeframe} bars "
                                 f"does not fit the market calendar: {exc}") from exc
    # Every symbol of one bot has the same bar times, so the merged feed is (bar time, symbol) rows.
    bars = list(islice(feed.bars(), (trend + crash) * len(instruments)))
    crash_starts = bars[trend * len(instruments)].ts
    symbols = ", ".join(spec.instruments)
    scenario = (f"{symbols} {settings.engine.timeframe} bars from {CRASH_START}, seed {CRASH_SEED}: {trend} bars "
                f"trending up, then {crash} of crash opening {CRASH_GAP:.0%} down")
    config = simulated_broker_config(settings)
    broker = build_simulated_broker(config=config, instruments=dict(spec.instruments))
    with tempfile.TemporaryDirectory(prefix="quantshift-crash-replay-") as directory:
        store = build_store(f"sqlite:///{directory}/replay.db")
        try:
            return replay_crash(spec=spec, bars=bars, crash_starts=crash_starts, scenario=scenario, broker=broker,
                                venue=broker, uow_factory=store, clock=SystemClock(), notifier=LoggingNotifier(),
                                size_at_open=config.market_fill is MarketFill.NEXT_OPEN)
        finally:
            store.close()


def configured_risk(settings: Settings, *, bot: str) -> tuple[dict[str, object], frozenset[str]]:
    """Every [risk] setting and the bot's own, by the names the items use ("risk.max_heat",
    "bot.sizing"), and those of them the config file set."""
    chosen = next(b for b in settings.bots if b.name == bot)
    values: dict[str, object] = {f"risk.{f.name}": getattr(settings.risk, f.name) for f in attrs.fields(RiskSettings)}
    values |= {f"bot.{f.name}": getattr(chosen, f.name) for f in attrs.fields(BotSettings)}
    explicit = {key for key in settings.explicit if key.startswith("risk.")}
    explicit |= {f"bot.{key}" for key in settings.bot_explicit(bot)}
    return values, frozenset(explicit)


def bot_risk_items(settings: Settings, *, bot: str) -> list[ItemResult]:
    """The "Risk management" items of bot `bot` (the gate's feature steps and `golive check` call this)."""
    values, explicit = configured_risk(settings, bot=bot)
    return risk_items(spec=_spec(settings, bot), configured=values, explicit=explicit,
                      replay=lambda: crash_replay(settings, bot=bot))


def _spec(settings: Settings, bot: str) -> BotSpec:
    for spec in bot_specs(settings):
        if spec.name == bot:
            return spec
    raise ConfigurationError(f"no bot named {bot!r}; the bots are {[b.name for b in settings.bots]}")


def _sessions_for(bars: int, *, interval: timedelta, crypto: bool) -> int:
    """NYSE sessions enough for `bars` bars: crypto has a bar every `interval` of every day
    (a session's day and the weekend after it); an equity session has at least a half day's."""
    if crypto:
        return math.ceil(bars * interval / timedelta(days=1)) + 1
    per_session = max(1, math.ceil(timedelta(hours=3, minutes=30) / interval))
    return math.ceil(bars / per_session) + 1
