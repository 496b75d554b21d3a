"""The composition root: the one dependency-injector container.

Adapters are chosen by the settings (today: SQLite and the simulated venue; the
venue adapters and Postgres plug in here). Nothing is built until a provider is
called, so importing this module opens no file and no socket.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import platformdirs
from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.log_notifier import LoggingNotifier
from adapters.simulated import (
    MakerTaker,
    MarketFill,
    PerShare,
    SimulatedBroker,
    SimulatedBrokerConfig,
    build_simulated_broker,
)
from adapters.marketdata.calendar import nyse_recent_session_keys, nyse_session_key
from adapters.simulated.journal import VenueJournal
from adapters.sqlite import SqliteStore
from application.trading.allocation import AllocationSchedule
from application.trading.bot import BotSpec, Sizing
from application.venues.venue_health import HealthRecorder
from domain.accounting.instrument import AssetClass, Instrument, crypto, equity
from domain.analytics.allocation import AllocationMethod, AllocationPolicy
from domain.errors import ConfigurationError
from domain.risk.circuit_breakers import DailyLossLimit, DrawdownBreaker, crypto_session_key
from domain.risk.day_trades import DayTradeRule
from domain.risk.exposure_limits import CorrelationLimit, SectorLimits
from domain.risk.portfolio_heat import PortfolioHeat
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.risk import RiskLimits
from domain.risk.sizing import FixedFraction
from domain.risk.stops import ChandelierExit, FixedPercentStop, ParabolicSar, StopPolicy, TrailingAtrStop
from entrypoints.error_reporting import process_error_reporter
from entrypoints.alert_setup import build_channel_sender, build_channel_source, build_dispatcher
from entrypoints.mail_setup import EmailFeatures, build_alert_settings, build_mailer
from entrypoints.settings import BotSettings, Settings, parse_timeframe
from entrypoints.strategies import build_strategy

if TYPE_CHECKING:
    from adapters.postgres import PostgresStore


def default_database_url() -> str:
    return f"sqlite:///{platformdirs.user_data_path('quantshift') / 'quantshift.db'}"


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/or/absolute/path.db` -> a Path; anything else is a configuration error."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:////abs/path and sqlite:///rel/path, as SQLAlchemy spells them.
        raw = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not raw:
            raise ConfigurationError(f"QUANTSHIFT_DATABASE_URL {url!r}: expected sqlite:///path/to/file.db")
        return Path(raw).expanduser()
    raise ConfigurationError(
        f"QUANTSHIFT_DATABASE_URL {url!r}: unknown scheme {parsed.scheme!r} "
        "(use sqlite:///path/to/file.db or postgresql://user@host/db)"
    )


def is_postgres(url: str) -> bool:
    return urlparse(url).scheme in ("postgresql", "postgres")


def build_store(url: str, *, create: bool = True) -> SqliteStore | PostgresStore:
    """The store named by the URL: sqlite:///path (the embedded default) or postgresql://...
    `create=False` (read commands): an SQLite file that does not exist, or a Postgres schema
    without our tables, is refused, not made."""
    url = url or default_database_url()
    if is_postgres(url):
        from adapters.postgres import PostgresStore  # psycopg loads only when Postgres is used

        return PostgresStore(url=url, create=create)
    return SqliteStore(path=sqlite_path(url), create=create)


def instrument_for(symbol: str, *, bot: BotSettings) -> Instrument:
    return crypto(symbol) if bot.asset_class == "crypto" else equity(symbol, fractional=bot.fractional)


def all_instruments(settings: Settings) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for index, bot in enumerate(settings.bots):
        for symbol in bot.symbols:
            instrument = instrument_for(symbol, bot=bot)
            if found.get(symbol, instrument) != instrument:
                raise ConfigurationError(f"bots[{index}].symbols: {symbol} is configured with two asset classes")
            found[symbol] = instrument
    return found


def risk_limits(settings: Settings) -> RiskLimits:
    r = settings.risk
    try:
        return RiskLimits(
            max_order_quantity=r.max_order_quantity, max_order_notional=r.max_order_notional,
            price_collar_equity=r.price_collar_equity, price_collar_crypto=r.price_collar_crypto,
            max_gross_exposure=r.max_gross_exposure,
            max_orders_per_symbol_per_minute=r.max_orders_per_symbol_per_minute,
            max_orders_per_bot_per_minute=r.max_orders_per_bot_per_minute,
            max_data_age=timedelta(minutes=r.max_data_age_minutes),
        )
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration: {exc}") from exc


def loss_limits(settings: Settings) -> tuple[DrawdownBreaker | None, DailyLossLimit | None]:
    r = settings.risk
    try:
        drawdown = DrawdownBreaker(warning=r.drawdown_warning, limit=r.drawdown_limit,
                                   reducing_ends=r.drawdown_reducing_ends) if r.drawdown_breaker else None
        daily = None
        if r.daily_loss_percent is not None or r.daily_loss_amount is not None:
            daily = DailyLossLimit(max_loss_amount=r.daily_loss_amount, max_loss_percent=r.daily_loss_percent)
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [risk]: {exc}") from exc
    return drawdown, daily


def bot_specs(settings: Settings) -> list[BotSpec]:
    limits = risk_limits(settings)
    drawdown, daily_loss = loss_limits(settings)
    heat, correlation, sectors = exposure_limits(settings)
    day_trade_rule = day_trade_limit(settings)
    specs = []
    for index, bot in enumerate(settings.bots):
        where = f"bots[{index}]"
        sizing = _sizing(bot, where=where)
        stop = _stop(bot, where=where)
        specs.append(BotSpec(
            name=bot.name,
            instruments={s: instrument_for(s, bot=bot) for s in bot.symbols},
            strategy=build_strategy(bot.strategy, params=bot.params, where=where),
            sizing=sizing,
            capital=bot.capital,
            limits=limits,
            drawdown=drawdown,
            flatten_on_halt=settings.risk.flatten_on_halt,
            daily_loss=daily_loss,
            session_key=crypto_session_key if bot.asset_class == "crypto" else nyse_session_key,
            atr_period=bot.atr_period,
            stop=stop,
            stop_orders=bot.stop_orders == "venue",
            heat=heat if stop is not None else None,
            correlation=correlation,
            sectors=sectors,
            # A PDT-style count is an equities matter: crypto has no day-trade rule.
            day_trades=day_trade_rule if bot.asset_class == "equity" else None,
            recent_sessions=_recent_nyse_sessions,
        ))
    return specs


def _recent_nyse_sessions(at: datetime, count: int) -> list[str]:
    return nyse_recent_session_keys(at, count=count)


def day_trade_limit(settings: Settings) -> DayTradeRule | None:
    r = settings.risk
    if r.day_trade_limit is None:
        return None
    try:
        return DayTradeRule(max_day_trades=r.day_trade_limit, window_sessions=r.day_trade_window,
                            min_equity=r.day_trade_min_equity)
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [risk] day_trade_*: {exc}") from exc


def exposure_limits(settings: Settings) -> tuple[PortfolioHeat, CorrelationLimit, SectorLimits | None]:
    r = settings.risk
    try:
        heat = PortfolioHeat(max_fraction=r.max_heat)
        correlation = CorrelationLimit(threshold=r.correlation_threshold,
                                       max_correlated_fraction=r.max_correlated_fraction, window=r.correlation_window)
        classes = {}
        for name, fraction in r.asset_class_limits.items():
            try:
                classes[AssetClass(name)] = fraction
            except ValueError:
                raise ValueError(f"asset_class_limits: unknown asset class {name!r} (equity or crypto)") from None
        sectors = None
        if r.sectors or r.sector_limits or classes:
            sectors = SectorLimits(sector_of=r.sectors, max_sector_fraction=r.sector_limits,
                                   max_asset_class_fraction=classes)
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [risk]: {exc}") from exc
    return heat, correlation, sectors


def _sizing(bot: BotSettings, *, where: str) -> Sizing:
    try:
        fixed = FixedFraction(fraction=bot.position_fraction)
    except ValueError as exc:
        raise ConfigurationError(f"{where}.position_fraction: {exc}") from exc
    try:
        if bot.sizing == "volatility":
            return VolatilitySizing(risk_fraction=bot.risk_fraction, atr_multiple=bot.atr_multiple,
                                    max_fraction=bot.position_fraction)
        if bot.sizing == "kelly":
            return FractionalKelly(kelly_fraction=bot.kelly_fraction, cap=bot.kelly_cap,
                                   min_trades=bot.kelly_min_trades, fallback=fixed)
        return fixed
    except ValueError as exc:
        raise ConfigurationError(f"{where} sizing ({bot.sizing}): {exc}") from exc


def _stop(bot: BotSettings, *, where: str) -> StopPolicy | None:
    percent = bot.stop_percent if bot.stop_percent is not None else bot.stop_defaults.percent
    multiple = bot.stop_atr_multiple if bot.stop_atr_multiple is not None else bot.stop_defaults.atr_multiple
    try:
        match bot.stop:
            case "fixed":
                return FixedPercentStop(percent=percent)
            case "atr":
                return TrailingAtrStop(period=bot.stop_period, multiple=multiple)
            case "chandelier":
                return ChandelierExit(period=bot.stop_period, multiple=multiple)
            case "sar":
                return ParabolicSar()
            case _:
                return None
    except ValueError as exc:
        raise ConfigurationError(f"{where} stop ({bot.stop}): {exc}") from exc


def allocation_schedule(settings: Settings) -> AllocationSchedule | None:
    """The [allocation] section as a schedule, or None when each bot keeps its own capital."""
    a = settings.allocation
    if a.method == "none":
        return None
    names = {b.name for b in settings.bots}
    unknown = sorted(set(a.weights) - names)
    if unknown:
        raise ConfigurationError(f"bad configuration in [allocation]: weights for unknown bots {unknown}; "
                                 f"the bots are {sorted(names)}")
    try:
        policy = AllocationPolicy(
            method=AllocationMethod(a.method), weights=a.weights, performance_tilt=a.performance_tilt,
            min_weight=a.min_weight, max_weight=a.max_weight, cooldown=parse_timeframe(a.cooldown),
            min_history=a.min_history_days, lookback=a.lookback_days, correlation_threshold=a.correlation_threshold,
        )
        return AllocationSchedule(policy=policy, every=parse_timeframe(a.rebalance_every))
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [allocation]: {exc}") from exc


def simulated_broker_config(settings: Settings) -> SimulatedBrokerConfig:
    engine = settings.engine
    try:
        return SimulatedBrokerConfig(
            market_fill=MarketFill.NEXT_OPEN if engine.market_fill == "next_open" else MarketFill.THIS_CLOSE,
            slippage_bps=engine.slippage_bps,
            max_volume_share=engine.max_volume_share,
            equity_commission=PerShare(rate=engine.equity_commission_per_share,
                                       minimum=engine.equity_commission_minimum, maximum_fraction=Decimal("0.01")),
            crypto_commission=MakerTaker(maker_bps=engine.crypto_maker_bps, taker_bps=engine.crypto_taker_bps),
        )
    except ValueError as exc:
        raise ConfigurationError(f"bad configuration in [engine]: {exc}") from exc


# The venue name health figures carry for the built-in simulated venue (and its synthetic feed);
# a real venue adapter is wrapped under its own name ("alpaca", "coinbase").
SIMULATED_VENUE = "simulated"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    store = providers.Singleton(build_store, url=settings.provided.database_url)
    # Alerts (entrypoints/alert_setup.py): every alert of the process goes through the dispatcher, to
    # the log, the saved alert channels and, with [mail], the recipients the notification settings name.
    log_notifier = providers.Singleton(LoggingNotifier)
    mailer = providers.Singleton(build_mailer, settings.provided.mail)
    alert_settings = providers.Singleton(build_alert_settings, store)
    alert_channels = providers.Singleton(build_channel_source, store)  # the saved channels, a cached read
    channel_sender = providers.Singleton(build_channel_sender)  # Apprise, secrets resolved at send time
    notifier = providers.Singleton(build_dispatcher, store=store, clock=clock, log_notifier=log_notifier, mailer=mailer,
                                   alert_settings=alert_settings, channels=alert_channels, sender=channel_sender,
                                   alerts=settings.provided.alerts, web=settings.provided.web)
    email = providers.Singleton(EmailFeatures, mailer=mailer, web=settings.provided.web, alert_settings=alert_settings)
    instruments = providers.Singleton(all_instruments, settings)
    bots = providers.Singleton(bot_specs, settings)
    allocation = providers.Singleton(allocation_schedule, settings)
    # One per process: every measured venue wrapper of the process adds to it (wall-clock minutes).
    health = providers.Singleton(HealthRecorder, clock=clock)
    # Unexpected exceptions (application/error_reporting.py): Sentry once the command started it
    # (entrypoints/error_reporting.py), else a no-op. A test overrides it with a recording fake.
    error_reporter = providers.Callable(process_error_reporter)
    broker = providers.Singleton(
        build_simulated_broker,
        config=providers.Callable(simulated_broker_config, settings),
        instruments=instruments,
    )


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)



def venue_journal_path(settings: Settings, *, account: str) -> Path:
    """Where the simulated venue of `account` keeps its journal. Its name carries the store's
    identity: a venue belongs to one store's account, never to a same-named one elsewhere."""
    url = settings.database_url or default_database_url()
    if settings.venue_directory:
        directory = Path(settings.venue_directory).expanduser()
    elif is_postgres(url):
        directory = platformdirs.user_data_path("quantshift")
    else:
        directory = sqlite_path(url).expanduser().resolve().parent
    parsed = urlparse(url)
    identity = url if not is_postgres(url) else f"{parsed.hostname}:{parsed.port}{parsed.path}?{parsed.query}"
    tag = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return directory / f"venue-{account}-{tag}.db"


def journaled_broker(container: Container, *, account: str) -> SimulatedBroker:
    """The simulated venue of `account`, durable: it outlives the bot process that uses it."""
    settings = container.settings()
    journal = VenueJournal(path=venue_journal_path(settings, account=account), account=account)
    return build_simulated_broker(config=simulated_broker_config(settings), instruments=container.instruments(),
                                  journal=journal)
