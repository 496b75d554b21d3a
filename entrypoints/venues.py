"""Real venues built from the settings and the environment: Alpaca (US equities) and Coinbase
Advanced Trade (crypto). The keys come from the environment only.

The adapters are imported when a venue is built, not before: the SDKs (pydantic models,
websockets) cost import time every other command should not pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from application.ports import Clock
from domain.errors import ConfigurationError
from entrypoints.settings import (
    ALPACA_KEY_VARIABLES,
    ALPACA_LIVE_KEY_VARIABLES,
    COINBASE_KEY_VARIABLES,
    COINBASE_LIVE_KEY_VARIABLES,
    Settings,
)

if TYPE_CHECKING:
    from adapters.alpaca import AlpacaVenue
    from adapters.coinbase import CoinbaseVenue

VenueName = Literal["alpaca", "coinbase"]
REAL_VENUES: tuple[VenueName, ...] = ("alpaca", "coinbase")
KEY_VARIABLES: dict[VenueName, tuple[str, str]] = {"alpaca": ALPACA_KEY_VARIABLES, "coinbase": COINBASE_KEY_VARIABLES}
# Live money's own keys (`quantshift live`, `doctor --live`): never the paper ones, never read by `paper`.
LIVE_KEY_VARIABLES: dict[VenueName, tuple[str, str]] = {"alpaca": ALPACA_LIVE_KEY_VARIABLES,
                                                         "coinbase": COINBASE_LIVE_KEY_VARIABLES}
# Which bots a venue trades: Alpaca the equity bots, Coinbase the crypto bots.
ASSET_CLASS_OF: dict[VenueName, str] = {"alpaca": "equity", "coinbase": "crypto"}


def key_variables(venue: VenueName, *, live: bool = False) -> tuple[str, str]:
    return (LIVE_KEY_VARIABLES if live else KEY_VARIABLES)[venue]


def keys_present(venue: VenueName, environ: Mapping[str, str], *, live: bool = False) -> dict[str, bool]:
    return {name: bool(environ.get(name, "").strip()) for name in key_variables(venue, live=live)}


def _keys(venue: VenueName, environ: Mapping[str, str], *, live: bool = False) -> tuple[str, str]:
    missing = [name for name, present in keys_present(venue, environ, live=live).items() if not present]
    if missing:
        raise ConfigurationError(f"{venue}: set {' and '.join(missing)} in the environment (keys are never read "
                                 "from the config file)")
    key, secret = key_variables(venue, live=live)
    return environ[key].strip(), environ[secret]


def account_name(venue: VenueName, settings: Settings, *, sandbox: bool = False, live: bool = False) -> str:
    """The store account a venue's session records under: paper and live never mix."""
    if live:
        return "alpaca-live" if venue == "alpaca" else "coinbase"
    if venue == "alpaca":
        return "alpaca-paper" if settings.alpaca.paper else "alpaca-live"
    return "coinbase-sandbox" if sandbox or settings.coinbase.sandbox else "coinbase"


def build_alpaca(settings: Settings, *, environ: Mapping[str, str], clock: Clock, live: bool = False) -> AlpacaVenue:
    """`live`: Alpaca's live endpoint with the live keys, whatever [alpaca] paper says."""
    from adapters.alpaca import build_alpaca_venue

    key, secret = _keys("alpaca", environ, live=live)
    a = settings.alpaca
    return build_alpaca_venue(api_key=key, secret_key=secret, clock=clock, paper=a.paper and not live,
                              trading_url=a.trading_url or None, data_url=a.data_url or None,
                              trading_stream_url=a.trading_stream_url or None,
                              data_stream_url=a.data_stream_url or None, feed=a.feed, timeout=a.timeout_seconds)


def build_coinbase(settings: Settings, *, environ: Mapping[str, str], clock: Clock,
                   sandbox: bool = False, live: bool = False) -> CoinbaseVenue:
    """`live`: Coinbase production with the live keys (the live command refuses [coinbase] sandbox)."""
    from adapters.coinbase import build_coinbase_venue

    key, secret = _keys("coinbase", environ, live=live)
    c = settings.coinbase
    return build_coinbase_venue(api_key=key, api_secret=secret, clock=clock,
                                sandbox=(sandbox or c.sandbox) and not live,
                                rest_host=c.rest_host or None, ws_url=c.ws_url or None,
                                ws_user_url=c.ws_user_url or None, ca_bundle=c.ca_bundle or None,
                                timeout=c.timeout_seconds)


def build_venue(venue: VenueName, settings: Settings, *, environ: Mapping[str, str], clock: Clock,
                sandbox: bool = False, live: bool = False) -> AlpacaVenue | CoinbaseVenue:
    if venue == "alpaca":
        return build_alpaca(settings, environ=environ, clock=clock, live=live)
    return build_coinbase(settings, environ=environ, clock=clock, sandbox=sandbox, live=live)


def venue_symbols(venue: VenueName, settings: Settings) -> list[str]:
    return [s for bot in settings.bots if bot.asset_class == ASSET_CLASS_OF[venue] for s in bot.symbols]
