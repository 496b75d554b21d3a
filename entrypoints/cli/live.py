"""`quantshift live`: the continuous session of `paper`, with real money, only for certified bots.

Before anything is opened it refuses, each with its reason: no confirmation; a Coinbase
sandbox configured; live keys missing or equal to the paper keys; a bot without a current
go-live certificate for its exact fingerprint (all such bots listed with their failing
items; with --only-certified the certified bots start and the others are named); and then
the live endpoint's own word on the keys (a key of the other environment is refused there).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from application.golive import certificates
from application.golive.fingerprint import BotFingerprint
from application.golive.live_credentials import equal_keys, live_key_problems
from application.golive.live_gate import CertificateProblems, CertificateWatch, refusal_text, refusals
from application.trading.bot import BotSpec
from application.trading.paper_session import ProcessInfo
from domain.errors import ConfigurationError
from entrypoints.cli.common import ConfigOption, LogFormatOption, cli_errors, container_for, setup_logging
from entrypoints.cli.paper_realtime import LiveAccount, run_realtime, venue_bots
from entrypoints.container import Container
from entrypoints.golive_fingerprint import fingerprints
from entrypoints.logging_setup import LogFormat, say
from entrypoints.settings import Settings, load_settings
from entrypoints.venues import ASSET_CLASS_OF, REAL_VENUES, VenueName, account_name, build_venue, key_variables

if TYPE_CHECKING:
    from entrypoints.golive_staging import LiveStaging

CONFIRMATION = "--i-understand-this-is-real-money"


def certificate_problems(venue: VenueName) -> CertificateProblems:
    """The gate's reading of the certificates (application/golive/certificates.py): one checked
    for this venue (its live credentials item is the venue's)."""
    return functools.partial(certificates.certificate_problems, broker=venue)


def live_command(
    config: ConfigOption = None,
    broker: Annotated[str | None, typer.Option("--broker", help="alpaca (its live endpoint: equity bots) or coinbase (production: crypto bots); default: the venue of the configured bots.")] = None,
    confirmed: Annotated[bool, typer.Option(CONFIRMATION, help="Confirm that this trades real money (or [live] i_understand_this_is_real_money = true).")] = False,
    only_certified: Annotated[bool, typer.Option("--only-certified", help="Start the certified bots and leave out (named) the others; without it one uncertified bot refuses the whole start.")] = False,
    duration: Annotated[float | None, typer.Option("--duration", help="Stop after this many seconds.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log alerts and decisions to stderr.")] = False,
    log_format: LogFormatOption = LogFormat.TEXT,
) -> None:
    """Trade REAL MONEY with the bots that hold a current go-live certificate.

    The same session as `quantshift paper`, on Alpaca's live endpoint (ALPACA_LIVE_API_KEY /
    ALPACA_LIVE_SECRET_KEY) or Coinbase production (COINBASE_LIVE_API_KEY / COINBASE_LIVE_API_SECRET).
    While it runs, a change of a bot's configuration (or its certificate expiring) blocks that
    bot's new entries; exits and protective stops keep working (docs/golive.md)."""
    setup_logging(verbose=verbose, log_format=log_format)
    with cli_errors(environment="live"):
        if config is None:
            raise ConfigurationError("live needs --config bots.toml: the certified configuration, which the "
                                     "session re-reads to notice a change")
        container = container_for(config)
        settings = container.settings()
        venue = _venue(broker, settings)
        if not (confirmed or settings.live.i_understand_this_is_real_money):
            raise ConfigurationError(f"live trades real money: confirm with {CONFIRMATION} or "
                                     "[live] i_understand_this_is_real_money = true in the config")
        if venue == "coinbase" and settings.coinbase.sandbox:
            raise ConfigurationError("coinbase: [coinbase] sandbox = true is paper trading; live trades Coinbase "
                                     "production (remove it, or use `quantshift paper --broker coinbase --sandbox`)")
        _check_keys(venue, os.environ)
        certified = _certified_bots(container, venue, config=config, only_certified=only_certified)
        built = build_venue(venue, settings, environ=os.environ, clock=container.clock(), live=True)
        try:
            problems = live_key_problems(built.account)
        finally:
            built.close()
        if problems:
            variables = " / ".join(key_variables(venue, live=True))
            raise ConfigurationError(f"{venue} live endpoint, {variables}: " + "; ".join(problems))
        account = account_name(venue, settings, live=True)
        ids = _certificate_ids(container, certified, venue=venue)

        def stage(bots: Sequence[BotSpec], process: ProcessInfo, now: datetime) -> LiveStaging:
            from entrypoints.golive_staging import stage_live  # the shadow's simulated venue: live only

            return stage_live(container, account=account, bots=bots, process=process, now=now,
                              fingerprints={n: fp.digest for n, fp in certified.items()}, certificates=ids)

        run_realtime(container, bar_seconds=None, duration=duration, seed=None, venue=venue, live=LiveAccount(
            account=account, bots=sorted(certified), stage=stage,
            watch=lambda: _watch(container, config=config, account=account, running=certified, venue=venue)))


def _venue(broker: str | None, settings: Settings) -> VenueName:
    if broker is not None:
        if broker not in REAL_VENUES:
            raise ConfigurationError(f"--broker {broker!r}: live trades on {' or '.join(REAL_VENUES)}")
        return broker  # type: ignore[return-value]
    classes = {bot.asset_class for bot in settings.bots}
    venues = [v for v in REAL_VENUES if ASSET_CLASS_OF[v] in classes]
    if len(venues) != 1:
        raise ConfigurationError("the configuration has equity and crypto bots: choose --broker alpaca or coinbase")
    return venues[0]


def _check_keys(venue: VenueName, environ: Mapping[str, str]) -> None:
    live_names = key_variables(venue, live=True)
    missing = [name for name in live_names if not environ.get(name, "").strip()]
    if missing:
        raise ConfigurationError(f"{venue}: set {' and '.join(missing)} (live keys; the paper keys "
                                 f"{' / '.join(key_variables(venue))} never trade live)")
    same = equal_keys(live={n: environ[n] for n in live_names},
                      paper={n: environ.get(n, "") for n in key_variables(venue)})
    if same:
        raise ConfigurationError(f"{venue}: {', '.join(same)} equal the paper keys: a paper key never trades live; "
                                 "set the live account's own keys")


def _certified_bots(container: Container, venue: VenueName, *, config: Path,
                    only_certified: bool) -> dict[str, BotFingerprint]:
    settings = container.settings()
    names = [b.name for b in venue_bots(container, venue)]
    prints = {name: fp for name, fp in _fingerprints(settings).items() if name in names}
    with container.store()() as uow:
        refused = refusals(uow, fingerprints=prints, now=container.clock().now(), problems=certificate_problems(venue))
    if refused and (not only_certified or len(refused) == len(prints)):
        hint = "" if only_certified or len(refused) == len(prints) else (
            f"\n(--only-certified starts {', '.join(n for n in prints if n not in refused)} alone)")
        raise ConfigurationError(f"live refused for {config}: {refusal_text(refused)}{hint}")
    if refused:
        say(f"--only-certified: not started, {refusal_text(refused)}", level=logging.WARNING)
    return {name: fp for name, fp in prints.items() if name not in refused}


def _certificate_ids(container: Container, certified: Mapping[str, BotFingerprint], *,
                     venue: VenueName) -> dict[str, str]:
    """The certificate each bot goes live under (its probation names it)."""
    now = container.clock().now()
    ids = {}
    with container.store()() as uow:
        for bot, fingerprint in certified.items():
            found = certificates.current_certificate(uow, bot=bot, fingerprint=fingerprint.digest, now=now,
                                                     broker=venue)
            ids[bot] = found.certificate_id if found is not None else ""
    return ids


def _fingerprints(settings: Settings) -> dict[str, BotFingerprint]:
    from entrypoints.cli.main import installed_version  # main imports this module

    return fingerprints(settings, version=installed_version())


def _watch(container: Container, *, config: Path, account: str, running: dict[str, BotFingerprint],
           venue: VenueName) -> CertificateWatch:
    settings = container.settings()
    return CertificateWatch(
        account=account, running=running,
        read_fingerprints=lambda: _fingerprints(load_settings(config_file=config)),
        problems=certificate_problems(venue), uow_factory=container.store(), notifier=container.notifier(),
        every_seconds=settings.engine.heartbeat_seconds)
