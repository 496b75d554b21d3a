"""Settings: a frozen object built once at start from a TOML file and the environment.

Errors name the key (`bots[0].capital`) and the file. Secrets come only from the
environment and are never printed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal, get_args, get_origin
from urllib.parse import urlsplit

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from domain.accounting.instrument import AssetClass
from domain.errors import ConfigurationError
from domain.numbers import to_decimal
from domain.symbols import check_symbol

_TIMEFRAME = re.compile(r"^(\d+)(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_timeframe(text: str) -> timedelta:
    match = _TIMEFRAME.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"timeframe {text!r} is not like 1m, 15m, 1h")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _check_timeframe(_i: object, _a: attrs.Attribute, value: str) -> None:
    parse_timeframe(value)


def _positive(_i: object, a: attrs.Attribute, value: Decimal | float | int) -> None:
    if value <= 0:
        raise ValueError(f"{a.name} must be positive, got {value}")


def _non_negative(_i: object, a: attrs.Attribute, value: Decimal) -> None:
    if value < 0:
        raise ValueError(f"{a.name} must be >= 0, got {value}")


def _fraction(_i: object, a: attrs.Attribute, value: Decimal | None) -> None:
    # Checked at load, so the file and key are named (later, the engine's objects name neither).
    if value is not None and not 0 < value <= 1:
        raise ValueError(f"{a.name} must be in (0, 1], got {value}")


def _positive_or_none(_i: object, a: attrs.Attribute, value: Decimal | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{a.name} must be positive, got {value}")


@attrs.frozen(kw_only=True)
class EngineSettings:
    timeframe: str = attrs.field(default="15m", validator=_check_timeframe)
    market_fill: Literal["next_open", "this_close"] = "next_open"
    slippage_bps: Decimal = attrs.field(default=Decimal(1), validator=_non_negative)
    max_volume_share: Decimal = attrs.field(default=Decimal("0.1"), validator=_fraction)
    # Simulated fees: equities per share (IBKR-like, with a per-fill minimum), crypto maker/taker
    # in basis points (Coinbase-like). Zero them to compare with engines that ignore fees.
    equity_commission_per_share: Decimal = attrs.field(default=Decimal("0.005"), validator=_non_negative)
    equity_commission_minimum: Decimal = attrs.field(default=Decimal("1.00"), validator=_non_negative)
    crypto_maker_bps: Decimal = attrs.field(default=Decimal(40), validator=_non_negative)
    crypto_taker_bps: Decimal = attrs.field(default=Decimal(60), validator=_non_negative)
    heartbeat_seconds: float = attrs.field(default=5.0, validator=_positive)
    # Postgres hot standby: a leader that has not renewed its lease for this long is replaced.
    lease_seconds: float = attrs.field(default=2.0, validator=_positive)
    evaluations_per_bar: int = attrs.field(default=1, validator=_positive)
    # What a session's clean stop does to its working orders (application/trading/session_end.py):
    # cancel entries and leave every position its resting stop; cancel all, stops too; or leave all.
    on_stop: Literal["cancel_entries", "cancel_all", "leave"] = "cancel_entries"
    start: date = date(2025, 1, 2)
    seed: int = 7

    @property
    def interval(self) -> timedelta:
        return parse_timeframe(self.timeframe)


def _check_sector_symbols(sectors: dict[str, str]) -> None:
    for symbol in sectors:
        try:
            check_symbol(symbol)
        except ValueError as exc:
            raise ValueError(f"sectors: {exc}") from None


@attrs.frozen(kw_only=True)
class RiskSettings:
    max_order_quantity: Decimal = attrs.field(default=Decimal(1_000_000), validator=_positive)
    max_order_notional: Decimal = attrs.field(default=Decimal(250_000), validator=_positive)
    price_collar_equity: Decimal = attrs.field(default=Decimal("0.05"), validator=_positive)
    price_collar_crypto: Decimal = attrs.field(default=Decimal("0.10"), validator=_positive)
    max_gross_exposure: Decimal = attrs.field(default=Decimal("1.0"), validator=_positive)
    max_orders_per_symbol_per_minute: int = 10
    max_orders_per_bot_per_minute: int = 30
    max_data_age_minutes: int = 60
    # Drawdown from the equity PEAK: at the warning only risk-reducing orders (REDUCING), at
    # the limit HALTED with open orders cancelled. Re-arming needs `quantshift resume`.
    drawdown_breaker: bool = True
    drawdown_warning: Decimal = Decimal("0.10")
    drawdown_limit: Decimal = Decimal("0.20")
    # How REDUCING ends: "resume" (only an operator's `quantshift resume`) or "recovery" (also
    # by itself once the drawdown is back under drawdown_warning). A HALT always needs a resume.
    drawdown_reducing_ends: Literal["resume", "recovery"] = "resume"
    flatten_on_halt: bool = False  # at the limit, close every position before halting
    # A hard stop for the rest of the session (NYSE day for equities, UTC day for crypto):
    # a loss from the session's starting equity, as a fraction and/or an amount (tighter wins).
    daily_loss_percent: Decimal | None = attrs.field(default=Decimal("0.05"), validator=_fraction)
    daily_loss_amount: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    # Portfolio heat: the summed risk to the stops of open positions stays within this fraction
    # of equity (entries are resized down or denied). Applies to bots with stops.
    max_heat: Decimal = attrs.field(default=Decimal("0.10"), validator=_fraction)
    # Correlation: an entry whose returns correlate >= correlation_threshold with holdings may
    # not push that correlated exposure past max_correlated_fraction of equity.
    correlation_threshold: float = 0.7
    max_correlated_fraction: Decimal = attrs.field(default=Decimal("0.6"), validator=_positive)
    correlation_window: int = 60
    # Sector and asset-class limits: [risk.sectors] AAPL = "tech"; [risk.sector_limits]
    # tech = 0.4 ("*" for any other sector); [risk.asset_class_limits] crypto = 0.5.
    sectors: dict[str, str] = attrs.field(factory=dict, validator=lambda _i, _a, v: _check_sector_symbols(v))
    sector_limits: dict[str, Decimal] = attrs.field(factory=dict)
    asset_class_limits: dict[str, Decimal] = attrs.field(factory=dict)
    # The optional rolling day-trade counter for equity bots on brokers that still enforce a
    # PDT-style rule: no new entries once day_trade_limit day trades were made in the last
    # day_trade_window NYSE sessions while equity is below day_trade_min_equity. Off when unset.
    day_trade_limit: int | None = None
    day_trade_window: int = 5
    day_trade_min_equity: Decimal = attrs.field(default=Decimal(25000), validator=_non_negative)


def _check_symbols(instance: BotSettings, _a: attrs.Attribute, value: tuple[str, ...]) -> None:
    # attrs runs validators once every field is set, so the asset class is known here.
    for index, symbol in enumerate(value):
        try:
            check_symbol(symbol, asset_class=AssetClass(instance.asset_class))
        except ValueError as exc:
            raise ValueError(f"symbols[{index}]: {exc} (asset_class = {instance.asset_class!r})") from None


@attrs.frozen(kw_only=True)
class BotSettings:
    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[A-Za-z0-9_.-]{1,40}$"))
    asset_class: Literal["equity", "crypto"]
    symbols: tuple[str, ...] = attrs.field(validator=[attrs.validators.min_len(1), _check_symbols])
    capital: Decimal = attrs.field(default=Decimal(100_000), validator=_positive)
    strategy: str = "ma_crossover"  # a built-in name, or "path/to/file.py:ClassName"
    params: Mapping[str, int | float | str | bool] = attrs.field(factory=dict)
    position_fraction: Decimal = attrs.field(default=Decimal("0.25"), validator=_fraction)
    fractional: bool = False
    # Sizing: "fixed" (position_fraction of equity), "volatility" (risk_fraction of equity to a
    # stop atr_multiple ATRs away), or "kelly" (kelly_fraction of the Kelly bet from the recent
    # round trips, capped at kelly_cap, fixed fraction until kelly_min_trades trips).
    sizing: Literal["fixed", "volatility", "kelly"] = "fixed"
    risk_fraction: Decimal = attrs.field(default=Decimal("0.01"), validator=_fraction)
    atr_multiple: Decimal = attrs.field(default=Decimal(2), validator=_positive)
    atr_period: int = 14
    kelly_fraction: Decimal = attrs.field(default=Decimal("0.5"), validator=_fraction)
    kelly_cap: Decimal = attrs.field(default=Decimal("0.25"), validator=_fraction)
    kelly_min_trades: int = 20
    # Stops per position, moved only in its favour: "none", "fixed" (stop_percent from entry),
    # "atr" (trailing, stop_atr_multiple ATRs), "chandelier", "sar" (Parabolic SAR).
    stop: Literal["none", "fixed", "atr", "chandelier", "sar"] = "none"
    # Left out, these take the asset class's default (STOP_DEFAULTS): crypto's are wider.
    stop_percent: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    stop_atr_multiple: Decimal | None = attrs.field(default=None, validator=_positive_or_none)
    stop_period: int = 14
    # "venue": the stop rests at the venue as a stop order where the venue takes them
    # (filled inside the bar that reaches it); "monitored": checked on each closed bar.
    stop_orders: Literal["venue", "monitored"] = "venue"

    @property
    def stop_defaults(self) -> StopDefaults:
        return STOP_DEFAULTS[self.asset_class]


@attrs.frozen(kw_only=True)
class StopDefaults:
    percent: Decimal
    atr_multiple: Decimal


# Crypto moves several times as much as a large-cap equity in a day: a stop as tight as an
# equity's would be hit by noise. (The price collars differ the same way: [risk].)
STOP_DEFAULTS = {
    "equity": StopDefaults(percent=Decimal(5), atr_multiple=Decimal(3)),
    "crypto": StopDefaults(percent=Decimal(10), atr_multiple=Decimal(4)),
}


@attrs.frozen(kw_only=True)
class AllocationSettings:
    """Capital across the bots of one account ("sleeves"): `method = "none"` leaves each bot
    its own capital; "fixed" (weights, default equal) or "inverse_volatility" (equal risk),
    tilted towards the better Sharpe by performance_tilt, within min/max_weight, rebalanced
    every `rebalance_every` of session time, each sleeve's weight changed at most once per
    `cooldown`. Sleeves whose returns correlate >= correlation_threshold count as one bet."""

    method: Literal["none", "fixed", "inverse_volatility"] = "none"
    weights: dict[str, Decimal] = attrs.field(factory=dict)
    performance_tilt: float = 0.5
    min_weight: Decimal = Decimal("0.05")
    max_weight: Decimal = Decimal("0.6")
    rebalance_every: str = attrs.field(default="5d", validator=_check_timeframe)
    cooldown: str = attrs.field(default="10d", validator=_check_timeframe)
    lookback_days: int = 60
    min_history_days: int = 10
    correlation_threshold: float = 0.8


@attrs.frozen(kw_only=True)
class GoLiveSettings:
    min_trading_days: int = 30
    min_trades: int = 10
    min_win_rate: float = 0.45
    max_drawdown: float = 0.20
    # How long a go-live certificate stays valid: its drills, backup and standby age (1 to 30 days).
    certificate_days: int = attrs.field(default=7, validator=lambda _i, _a, v: _check_certificate_days(v))
    # Staged deployment (docs/golive.md, "Probation and the shadow bot"): a newly live bot trades
    # probation_fraction of its size for probation_days trading days, promoted or demoted by the band.
    probation_fraction: Decimal = attrs.field(default=Decimal("0.10"), validator=_fraction)
    probation_days: int = attrs.field(default=10, validator=_non_negative)
    probation_win_rate_tolerance: float = attrs.field(default=0.10, validator=_non_negative)
    probation_drawdown_factor: float = attrs.field(default=1.5, validator=_non_negative)
    probation_max_slippage_bps: float = attrs.field(default=25.0, validator=_non_negative)
    probation_min_round_trips: int = attrs.field(default=3, validator=_non_negative)
    probation_check_seconds: float = attrs.field(default=60.0, validator=_positive)


@attrs.frozen(kw_only=True)
class WatchdogSettings:
    """[watchdog]: the watchdog outside the bots (`quantshift watch`, and inside `serve` when
    enabled), its tick, and the thresholds of the conditions it alerts on (docs/monitoring.md)."""

    enabled: bool = True  # inside `serve`; `quantshift watch` runs it whatever this says
    interval_seconds: float = attrs.field(default=1.0, validator=_positive)
    # A bot is stale after this many of its own heartbeat intervals without a beat.
    stale_after_beats: float = attrs.field(default=2.0, validator=_positive)
    # Same host: a bot whose process is gone is crashed at once, without waiting for staleness.
    # Off where another PID namespace shares the host name (containers on the host network).
    check_pids: bool = True
    # The leader lease: a watchdog that stopped renewing it is replaced after this long.
    lease_seconds: float = attrs.field(default=5.0, validator=_positive)
    venue_window_seconds: float = attrs.field(default=120.0, validator=_positive)
    venue_min_calls: int = attrs.field(default=5, validator=_positive)  # fewer calls in the window: no rate
    venue_error_rate: float = attrs.field(default=0.2, validator=_fraction)
    venue_latency_ms: float = attrs.field(default=2000.0, validator=_positive)  # p99 of any operation
    stream_down_seconds: float = attrs.field(default=30.0, validator=_positive)
    venue_throttled_count: int = attrs.field(default=5, validator=_positive)  # 429s in the window: a storm
    store_latency_ms: float = attrs.field(default=1000.0, validator=_positive)
    store_slow_ticks: int = attrs.field(default=3, validator=_positive)  # slow ticks in a row: degraded

    def __attrs_post_init__(self) -> None:
        if self.lease_seconds <= self.interval_seconds:
            # Renewed once a tick: a lease shorter than a tick lapses between renewals.
            raise ValueError(f"lease_seconds ({self.lease_seconds:g}) must be longer than interval_seconds "
                             f"({self.interval_seconds:g})")


def _check_certificate_days(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
        raise ValueError(f"certificate_days: {value!r} must be a whole number of days from 1 to 30")


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# The port each security mode usually listens on, when [mail] names none.
_SMTP_PORTS = {"none": 25, "starttls": 587, "tls": 465}
SMTP_PASSWORD = "QUANTSHIFT_SMTP_PASSWORD"
# The [mail] keys the environment may set (it wins over the file, as QUANTSHIFT_DATABASE_URL does).
_MAIL_ENVIRONMENT = {"QUANTSHIFT_SMTP_HOST": "host", "QUANTSHIFT_SMTP_PORT": "port", "QUANTSHIFT_SMTP_FROM": "sender",
                     "QUANTSHIFT_SMTP_USERNAME": "username", "QUANTSHIFT_SMTP_SECURITY": "security",
                     "QUANTSHIFT_SMTP_TIMEOUT": "timeout_seconds"}


@attrs.frozen(kw_only=True)
class MailSettings:
    """[mail]: the SMTP server for invitations and alert e-mails. No host: no e-mail at all
    (the features that need it say so). The password comes from QUANTSHIFT_SMTP_PASSWORD only."""

    host: str = ""
    port: int = attrs.field(default=0, validator=[attrs.validators.ge(0), attrs.validators.le(65535)])  # 0: usual
    sender: str = ""  # the From: of every mail, e.g. "QuantShift <alerts@example.com>"
    username: str = ""
    security: Literal["none", "starttls", "tls"] = "starttls"
    timeout_seconds: float = attrs.field(default=10.0, validator=_positive)
    password: str = attrs.field(default="", repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.host:
            if self.password or self.username:
                raise ValueError(f"host (QUANTSHIFT_SMTP_HOST): not set, yet a username or {SMTP_PASSWORD} is")
            return
        if any(c.isspace() or c in "/@" for c in self.host):  # "smtp://...", "user@host": not a host
            raise ValueError(f"host (QUANTSHIFT_SMTP_HOST): {self.host!r} must be a host name or address only")
        if "@" not in self.sender:
            raise ValueError("sender (QUANTSHIFT_SMTP_FROM): an address like 'QuantShift <alerts@example.com>' "
                             "is required when host is set")
        if bool(self.username) != bool(self.password):
            raise ValueError(f"username (QUANTSHIFT_SMTP_USERNAME) and {SMTP_PASSWORD} go together")
        if self.password and self.security == "none" and self.host not in _LOOPBACK:
            # The login would cross the network in clear text.
            raise ValueError(f"security (QUANTSHIFT_SMTP_SECURITY): 'none' would send {SMTP_PASSWORD} "
                             f"unencrypted to {self.host}; use 'starttls' or 'tls'")

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        return self.port or _SMTP_PORTS[self.security]


def _check_public_url(_i: object, _a: attrs.Attribute, value: str) -> None:
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"public_url (QUANTSHIFT_PUBLIC_URL): {value!r} must be an http(s) address "
                         "without query or fragment, e.g. https://quantshift.example.com")


def _check_path(_i: object, _a: attrs.Attribute, value: str) -> None:
    if not value.startswith("/") or any(c in value for c in "?# ") or "//" in value:
        raise ValueError(f"invitation_path: {value!r} must be a path like /invitations/accept")


def _check_lifetime(_i: object, _a: attrs.Attribute, value: str) -> None:
    try:
        parse_timeframe(value)
    except ValueError:
        raise ValueError(f"invitation_lifetime: {value!r} is not like 30m, 12h, 3d") from None


@attrs.frozen(kw_only=True)
class WebSettings:
    """[web]: how people reach `quantshift serve`, for the links in e-mails."""

    public_url: str = attrs.field(default="", validator=_check_public_url)
    # The page an invitation link opens, under public_url (the token is added as ?token=).
    invitation_path: str = attrs.field(default="/invitations/accept", validator=_check_path)
    invitation_lifetime: str = attrs.field(default="3d", validator=_check_lifetime)

    @property
    def invitation_period(self) -> timedelta:
        return parse_timeframe(self.invitation_lifetime)


@attrs.frozen(kw_only=True)
class AlertsSettings:
    """[alerts]: how alerts are grouped and repeated (docs/monitoring.md, "Alerts: ...")."""

    # A condition that clears and comes back within this window is one alert (one "fired", and one
    # "resolved" once it stays clear this long); occurrences of an open alert are written to the
    # audit trail at most once per window. 0: no grouping.
    group_seconds: float = attrs.field(default=60.0, validator=_non_negative)
    repeat_minutes: float = attrs.field(default=5.0, validator=_positive)  # unacknowledged critical alerts
    reject_streak: int = attrs.field(default=3, validator=_positive)  # venue rejects in a row that alert


def _check_url(_i: object, a: attrs.Attribute, value: str) -> None:
    if value and (urlsplit(value).scheme not in {"http", "https", "ws", "wss"} or not urlsplit(value).netloc):
        raise ValueError(f"{a.name}: {value!r} must be a full URL like https://host:port")


def _check_host(_i: object, a: attrs.Attribute, value: str) -> None:
    if value and ("/" in value or any(c.isspace() for c in value)):
        raise ValueError(f"{a.name}: {value!r} must be a host[:port] only (the SDK adds https://)")


# The keys come from the environment only: a secret in a file ends up in backups and repositories.
ALPACA_KEY_VARIABLES = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
COINBASE_KEY_VARIABLES = ("COINBASE_API_KEY", "COINBASE_API_SECRET")
# Live money has keys of its own: `paper` never reads these, `live` never reads the paper ones.
ALPACA_LIVE_KEY_VARIABLES = ("ALPACA_LIVE_API_KEY", "ALPACA_LIVE_SECRET_KEY")
COINBASE_LIVE_KEY_VARIABLES = ("COINBASE_LIVE_API_KEY", "COINBASE_LIVE_API_SECRET")


@attrs.frozen(kw_only=True)
class LiveSettings:
    """[live]: `quantshift live` (real money). The confirmation may stand here instead of the flag."""

    i_understand_this_is_real_money: bool = False


@attrs.frozen(kw_only=True)
class AlpacaSettings:
    """[alpaca]: paper or live endpoints; URLs only to point at a proxy or a test venue."""

    paper: bool = True
    feed: Literal["iex", "sip"] = "iex"  # the free plan streams IEX; SIP needs a subscription
    trading_url: str = attrs.field(default="", validator=_check_url)
    data_url: str = attrs.field(default="", validator=_check_url)
    trading_stream_url: str = attrs.field(default="", validator=_check_url)
    data_stream_url: str = attrs.field(default="", validator=_check_url)
    timeout_seconds: float = attrs.field(default=10.0, validator=_positive)


@attrs.frozen(kw_only=True)
class CoinbaseSettings:
    """[coinbase]: Advanced Trade; `sandbox` uses Coinbase's sandbox host."""

    sandbox: bool = False
    rest_host: str = attrs.field(default="", validator=_check_host)  # e.g. "api.coinbase.com"
    ws_url: str = attrs.field(default="", validator=_check_url)
    ws_user_url: str = attrs.field(default="", validator=_check_url)
    ca_bundle: str = ""  # a CA file to trust (a TLS-inspecting proxy); empty: the system's
    timeout_seconds: float = attrs.field(default=10.0, validator=_positive)


def default_bots() -> tuple[BotSettings, ...]:
    """The previous system's bots: equities (SPY, AAPL) and crypto (BTC-USD)."""
    return (
        BotSettings(name="equity", asset_class="equity", symbols=("SPY", "AAPL"), capital=Decimal(100_000),
                    params={"fast": 10, "slow": 30}, position_fraction=Decimal("0.45")),
        BotSettings(name="crypto", asset_class="crypto", symbols=("BTC-USD",), capital=Decimal(50_000),
                    params={"fast": 24, "slow": 96}, position_fraction=Decimal("0.5")),
    )


@attrs.frozen(kw_only=True)
class Settings:
    database_url: str = ""
    venue_directory: str = ""  # where the simulated venue's journal lives (default: beside the store)
    engine: EngineSettings = attrs.field(factory=EngineSettings)
    risk: RiskSettings = attrs.field(factory=RiskSettings)
    golive: GoLiveSettings = attrs.field(factory=GoLiveSettings)
    allocation: AllocationSettings = attrs.field(factory=AllocationSettings)
    bots: tuple[BotSettings, ...] = attrs.field(factory=default_bots)
    mail: MailSettings = attrs.field(factory=MailSettings)
    web: WebSettings = attrs.field(factory=WebSettings)
    alerts: AlertsSettings = attrs.field(factory=AlertsSettings)
    alpaca: AlpacaSettings = attrs.field(factory=AlpacaSettings)
    coinbase: CoinbaseSettings = attrs.field(factory=CoinbaseSettings)
    live: LiveSettings = attrs.field(factory=LiveSettings)
    watchdog: WatchdogSettings = attrs.field(factory=WatchdogSettings)
    # The dotted keys the config file set, tables too ("risk", "risk.drawdown_limit", "bots[0].sizing",
    # "bots[0].params.fast"): live trading accepts no default for a limit (the go-live gate reads
    # this). Where a value came from is no setting: left out of equality and of every fingerprint.
    explicit: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset, eq=False, repr=False)

    def bot_explicit(self, name: str) -> frozenset[str]:
        """The keys the file set for bot `name`, without its "bots[i]." prefix ("sizing", "params.fast")."""
        index = next((i for i, bot in enumerate(self.bots) if bot.name == name), None)
        if index is None:
            raise ConfigurationError(f"no bot named {name!r}; the bots are {[b.name for b in self.bots]}")
        prefix = f"bots[{index}]."
        return frozenset(key.removeprefix(prefix) for key in self.explicit if key.startswith(prefix))

    def __attrs_post_init__(self) -> None:
        names = [b.name for b in self.bots]
        if len(set(names)) != len(names):
            raise ValueError(f"bot names must be unique, got {names}")
        if not self.bots:
            raise ValueError("at least one bot is needed")


# No setting is anywhere near this large (capital, limits, fees): a bigger figure is a typo
# (1e300 for 1e3), and arithmetic on it would overflow Decimal's precision mid-session.
LARGEST_SETTING = 10**12


def _structure_decimal(value: object, _type: object) -> Decimal:
    number = to_decimal(value, what="number")
    if abs(number) > LARGEST_SETTING:
        # TOML's 1e13 arrives as a float whose repr is 10000000000000.0: show 1E+13.
        written = number.normalize() if isinstance(value, float) else repr(value)
        raise ValueError(f"{written} is out of range (at most {LARGEST_SETTING:,} either way)")
    return number


def _structure_float(value: object, _type: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if number != number or abs(number) > LARGEST_SETTING:  # NaN, inf, 1e300
        raise ValueError(f"{value!r} is out of range (a finite number, at most {LARGEST_SETTING:,} either way)")
    return number


def _structure_literal(value: object, type_: object) -> object:
    allowed = get_args(type_)
    if isinstance(value, str) and value in allowed:
        return value
    # Named as the user wrote it, not as a Python typing.Literal.
    raise ValueError(f"{value!r} is not one of {', '.join(repr(a) for a in allowed)}")


def _structure_strings(value: object, _type: object) -> tuple[str, ...]:
    # A bare string would otherwise become its letters: symbols = "SPY" -> S, P, Y.
    if not isinstance(value, (list, tuple)):
        raise ValueError(f'expected a list like ["SPY"], got {value!r}')
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not a string")
    return tuple(value)


def make_settings_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook_func(lambda t: get_origin(t) is Literal, _structure_literal)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_strings)
    converter.register_structure_hook(date, lambda v, _: v if isinstance(v, date) else date.fromisoformat(v))
    converter.register_structure_hook_func(lambda t: t == _PARAMS, _structure_params)
    for cls in (EngineSettings, RiskSettings, GoLiveSettings, BotSettings, AllocationSettings, MailSettings,
                WebSettings, AlertsSettings, AlpacaSettings, CoinbaseSettings, LiveSettings, WatchdogSettings):
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True))
    # `explicit` is worked out from the file, never read from it (a file key "explicit" is refused).
    converter.register_structure_hook(Settings, make_dict_structure_fn(
        Settings, converter, _cattrs_forbid_extra_keys=True, explicit=override(omit=True)))
    return converter


def explicit_keys(table: Mapping[str, object], *, prefix: str = "") -> frozenset[str]:
    """Every dotted key of a parsed TOML file: tables and their keys, arrays of tables by index."""
    keys: set[str] = set()
    for name, value in table.items():
        key = f"{prefix}{name}"
        keys.add(key)
        if isinstance(value, Mapping):
            keys |= explicit_keys(value, prefix=f"{key}.")
        elif isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                keys.add(f"{key}[{index}]")
                keys |= explicit_keys(item, prefix=f"{key}[{index}].")
    return frozenset(keys)


_PARAMS = Mapping[str, int | float | str | bool]


def _structure_params(value: object, _type: object) -> dict[str, int | float | str | bool]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of strategy parameters, got {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(item, (int, float, str, bool)):
            raise ValueError(f"parameter {key!r} must be a number, string or boolean")
    return dict(value)


def load_settings(*, config_file: Path | None, environ: Mapping[str, str] | None = None,
                  require_bots: bool = True) -> Settings:
    """`require_bots`: a config file must declare its [[bots]] (the built-in ones run only
    without a file); False for the commands that run no bot (users, for instance)."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    where = "defaults"
    if config_file is not None:
        where = str(config_file)
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigurationError(f"config file {config_file} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"config file {config_file} is not valid TOML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"config file {config_file} cannot be read: {exc}") from exc
    has_bots = "bots" in raw
    empty = not raw
    explicit = explicit_keys(raw)  # the file's own keys, before the environment adds any
    if environ.get("QUANTSHIFT_DATABASE_URL"):
        raw["database_url"] = environ["QUANTSHIFT_DATABASE_URL"]
    if environ.get("QUANTSHIFT_VENUE_DIR"):
        raw["venue_directory"] = environ["QUANTSHIFT_VENUE_DIR"]
    _mail_from_environment(raw, environ)
    try:
        settings = make_settings_converter().structure(raw, Settings)
    except cattrs.BaseValidationError as exc:
        problems = "; ".join(_describe(message) for message in cattrs.transform_error(exc, path="config", format_exception=_format_exception))
        raise ConfigurationError(f"bad configuration in {where}: {problems}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"bad configuration in {where}: {exc}") from exc
    settings = attrs.evolve(settings, explicit=explicit)
    if config_file is not None and require_bots and not has_bots:
        # Running the built-in bots instead would trade symbols and capital the file never named.
        what = "is empty" if empty else "has no [[bots]] table"
        raise ConfigurationError(
            f"config file {config_file} {what}: declare at least one bot, e.g. [[bots]] name = \"spy\" "
            f"asset_class = \"equity\" symbols = [\"SPY\"] (the built-in bots run only without --config)")
    return settings


def _mail_from_environment(raw: dict[str, object], environ: Mapping[str, str]) -> None:
    mail = raw.setdefault("mail", {})
    web = raw.setdefault("web", {})
    if not isinstance(mail, dict) or not isinstance(web, dict):
        return  # "mail = 3" in the file: the converter names it
    if "password" in mail:
        # A secret in a file ends up in backups and repositories.
        raise ConfigurationError(f"mail.password: secrets come from the environment only; set {SMTP_PASSWORD}")
    for variable, key in _MAIL_ENVIRONMENT.items():
        if environ.get(variable):
            mail[key] = environ[variable]
    for variable, key in (("QUANTSHIFT_SMTP_PORT", "port"), ("QUANTSHIFT_SMTP_TIMEOUT", "timeout_seconds")):
        if environ.get(variable):
            try:
                mail[key] = int(environ[variable]) if key == "port" else float(environ[variable])
            except ValueError:
                raise ConfigurationError(f"{variable}: {environ[variable]!r} is not a number") from None
    if environ.get(SMTP_PASSWORD):
        mail["password"] = environ[SMTP_PASSWORD]
    if environ.get("QUANTSHIFT_PUBLIC_URL"):
        web["public_url"] = environ["QUANTSHIFT_PUBLIC_URL"]


def _format_exception(exc: BaseException, type_: object) -> str:
    # Our validators' messages say what is wrong with the value; keep them.
    if isinstance(exc, ValueError) and str(exc) and not isinstance(exc, cattrs.BaseValidationError):
        return str(exc)
    return format_exception(exc, type_)


def _describe(message: str) -> str:
    # cattrs says "... @ config.bots[0].capital"; put the key first, as people read it.
    if " @ " in message:
        text, key = message.rsplit(" @ ", 1)
        key = key.removeprefix("config.")
        # A check across fields says "symbols[1]: ..." about the class: one key, bots[0].symbols[1].
        field = re.match(r"([a-z_]+(?:\[\d+\])?): ", text)
        if field:
            return f"{key}.{field.group(1)}: {text[field.end():]}"
        if re.match(r"[a-z_]+ must ", text):  # a field's own validator: "capital must be positive, got -5"
            return f"{key}.{text}"
        return f"{key}: {text}"
    return message
