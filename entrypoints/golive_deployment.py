"""The deployment `golive check` runs the checklist against, built from the settings and the
environment: the configured store (and its audit guard), the system clock, the NYSE calendar,
the bot and its fingerprint, the live venue's read-only key check, the risk replay, and a
client of the admin platform at [web] public_url.

The Platform items log in as an operator: QUANTSHIFT_GOLIVE_EMAIL names them and
QUANTSHIFT_GOLIVE_PASSWORD holds the password (from the environment only, never printed,
never put in the audit trail).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from application.golive.checklist import ItemResult
from application.ports import Clock
from domain.errors import ConfigurationError
from entrypoints.golive_check import Deployment
from entrypoints.golive_fingerprint import bot_fingerprint
from entrypoints.settings import Settings
from entrypoints.venues import ASSET_CLASS_OF, REAL_VENUES, VenueName

OPERATOR_EMAIL = "QUANTSHIFT_GOLIVE_EMAIL"
OPERATOR_PASSWORD = "QUANTSHIFT_GOLIVE_PASSWORD"


def venue_for(settings: Settings, *, bot: str, broker: str | None) -> VenueName:
    """The venue the bot would trade real money on: the one its asset class trades at, or the one named."""
    chosen = _bot(settings, bot)
    if broker is None:
        return next(v for v in REAL_VENUES if ASSET_CLASS_OF[v] == chosen.asset_class)
    if broker not in REAL_VENUES:
        raise ConfigurationError(f"--broker {broker!r}: use one of {', '.join(REAL_VENUES)}")
    if ASSET_CLASS_OF[broker] != chosen.asset_class:  # type: ignore[index]
        raise ConfigurationError(f"--broker {broker}: {bot} is a{'n' if chosen.asset_class == 'equity' else ''} "
                                 f"{chosen.asset_class} bot; {broker} trades {ASSET_CLASS_OF[broker]} bots")  # type: ignore[index]
    return broker  # type: ignore[return-value]


def live_credentials_check(settings: Settings, *, venue: VenueName, environ: Mapping[str, str],
                           clock: Clock) -> ItemResult:
    """The live keys checked read-only against the live endpoint (the doctor's checks)."""
    from application.golive.live_credentials import equal_keys, live_credentials_item
    from entrypoints.venues import build_venue, key_variables, keys_present

    opened: list[Any] = []

    def connect():  # noqa: ANN202 - the venue's account client
        built = build_venue(venue, settings, environ=environ, clock=clock, live=True)
        opened.append(built)
        return built.account

    live = {name: environ.get(name, "") for name in key_variables(venue, live=True)}
    paper = {name: environ.get(name, "") for name in key_variables(venue)}
    try:
        return live_credentials_item(venue=venue, keys=keys_present(venue, environ, live=True), connect=connect,
                                     clock=clock, same_as_paper=equal_keys(live=live, paper=paper))
    finally:
        for built in opened:
            built.close()


def build_deployment(settings: Settings, *, bot: str, broker: str | None, environ: Mapping[str, str],
                     version: str, actor: str | None = None, store: Any = None, clock: Clock | None = None) -> Deployment:
    """`store`/`clock`: the configured ones unless given (a test's prepared store, a fixed clock)."""
    from adapters.clock import SystemClock
    from entrypoints.cli.validation_command import criteria_of
    from entrypoints.container import build_store, is_postgres
    from entrypoints.golive_calendar import NyseCalendar
    from entrypoints.golive_risk_replay import bot_risk_items

    chosen = _bot(settings, bot)
    venue = venue_for(settings, bot=bot, broker=broker)
    store = store if store is not None else build_store(settings.database_url, create=False)
    engine = "postgres" if is_postgres(settings.database_url or "") or type(store).__name__ == "PostgresStore" \
        else "sqlite"
    clock = clock or SystemClock()
    admin_api, problem = _admin_api(settings, environ)
    who = actor or environ.get(OPERATOR_EMAIL, "").strip().lower() or "unknown"
    return Deployment(
        settings=settings, store=store, engine=engine, clock=clock, bot=chosen,
        fingerprint=bot_fingerprint(settings, chosen, version=version), broker=venue, calendar=NyseCalendar(),
        criteria=criteria_of(settings), audit_guard=audit_guard(store),
        risk_items=lambda: bot_risk_items(settings, bot=bot),
        live_credentials=lambda: live_credentials_check(settings, venue=venue, environ=environ, clock=clock),
        admin_api=admin_api, admin_api_problem=problem, actor=who,
        on_close=[admin_api.close] if admin_api is not None else [])


def audit_guard(store: Any) -> Any:
    if type(store).__name__ == "PostgresStore":
        from adapters.postgres.audit_guard import PostgresAuditGuard

        return PostgresAuditGuard(store=store)
    from adapters.sqlite.audit_guard import SqliteAuditGuard

    return SqliteAuditGuard(store=store)


def _admin_api(settings: Settings, environ: Mapping[str, str]) -> tuple[Any, str]:
    from adapters.admin_api import AdminApiClient

    if not settings.web.public_url:
        return None, ("set [web] public_url (or QUANTSHIFT_PUBLIC_URL) to the address people open "
                      "`quantshift serve` at")
    email, password = environ.get(OPERATOR_EMAIL, "").strip(), environ.get(OPERATOR_PASSWORD, "")
    if not email or not password:
        missing = " and ".join(n for n, v in ((OPERATOR_EMAIL, email), (OPERATOR_PASSWORD, password)) if not v)
        return None, (f"set {missing}: the check logs in as an operator (or admin) to read the bots and stop "
                      "and start the paper bot")
    return AdminApiClient(base_url=settings.web.public_url, email=email, password=password), ""


def _bot(settings: Settings, name: str) -> Any:
    for bot in settings.bots:
        if bot.name == name:
            return bot
    raise ConfigurationError(f"--bot {name!r}: no such bot; the bots are {', '.join(b.name for b in settings.bots)}")
