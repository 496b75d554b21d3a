"""The web composition root: settings and secrets from the environment, the container's
store and clock, the security adapters, and `create_app` on top.

`quantshift serve` runs `app_from_environment` through uvicorn (factory=True), once per
worker; the command checks the secrets first so a bad one fails before anything starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from importlib import metadata
from pathlib import Path

import attrs
from litestar import Litestar

from adapters.security import Argon2PasswordHasher, HmacInvitationSigner, JwtTokenService
from adapters.security.keys import MIN_KEY_BYTES
from application.accounts.accounts import Accounts
from application.error_reporting import ErrorReporter
from application.records import AuditEntry
from domain.errors import ConfigurationError
from entrypoints.channel_desk import channel_desk
from entrypoints.container import Container, build_container
from entrypoints.error_reporting import start_error_reporting
from entrypoints.logging_setup import configure_logging, log_format_from_environment
from entrypoints.settings import load_settings
from entrypoints.web.app import create_app
from entrypoints.web.golive_desk import GoLiveDesk, cli_check_runner
from entrypoints.watchdog import watchdog_lifespans
from entrypoints.web.snapshot_job import snapshot_lifespans

JWT_SECRET = "QUANTSHIFT_JWT_SECRET"
INVITATION_SECRET = "QUANTSHIFT_INVITATION_SECRET"
CONFIG_FILE = "QUANTSHIFT_CONFIG"  # how `serve --config` reaches the workers
TRUST_PROXY = "QUANTSHIFT_TRUST_PROXY"  # "1": behind a proxy that sets X-Forwarded-For
SECURE_COOKIES = "QUANTSHIFT_SECURE_COOKIES"  # "1": mark dashboard cookies Secure (served over TLS)
TOKEN_LIFETIME = timedelta(minutes=15)

_YES = ("1", "true", "yes")


@attrs.frozen(kw_only=True, repr=False)
class ApiSecrets:
    jwt_secret: bytes
    invitation_secret: bytes

    def __repr__(self) -> str:  # never in a log or a traceback
        return "ApiSecrets(<hidden>)"


def read_secrets(environ: Mapping[str, str]) -> ApiSecrets:
    """Both secrets, each at least MIN_KEY_BYTES long, and different; there is no default."""
    found = {name: read_secret(environ, name) for name in (JWT_SECRET, INVITATION_SECRET)}
    if found[JWT_SECRET] == found[INVITATION_SECRET]:
        raise ConfigurationError(f"{JWT_SECRET} and {INVITATION_SECRET} must differ")
    return ApiSecrets(jwt_secret=found[JWT_SECRET], invitation_secret=found[INVITATION_SECRET])


def read_secret(environ: Mapping[str, str], name: str) -> bytes:
    """One secret (`quantshift users invite` needs only the invitation key)."""
    raw = environ.get(name, "").encode("utf-8")
    if not raw:
        raise ConfigurationError(f"{name} is not set: give it a random secret of at least {MIN_KEY_BYTES} bytes "
                                 "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigurationError(f"{name} is {len(raw)} bytes long; it must be at least {MIN_KEY_BYTES} bytes")
    return raw


def build_app(*, environ: Mapping[str, str], errors: ErrorReporter | None = None) -> Litestar:
    """`errors`: where the API's 500s are reported (default: the container's, the process's reporter)."""
    secrets = read_secrets(environ)
    config = environ.get(CONFIG_FILE)
    container = build_container(load_settings(config_file=Path(config) if config else None, environ=environ))
    store = container.store()
    clock = container.clock()
    accounts = Accounts(uow_factory=store, reader=lambda: store.unit_of_work(read_only=True),
                        clock=clock, hasher=Argon2PasswordHasher(),
                        tokens=JwtTokenService(secret=secrets.jwt_secret, lifetime=TOKEN_LIFETIME),
                        invitations_signer=HmacInvitationSigner(key=secrets.invitation_secret),
                        invitation_lifetime=container.settings().web.invitation_period)
    return create_app(store=store, clock=clock, accounts=accounts, bots=container.bots(),
                      notifier=container.notifier(), token_lifetime=TOKEN_LIFETIME, version=_version(),
                      trust_proxy=environ.get(TRUST_PROXY, "") in _YES,
                      secure_cookies=environ.get(SECURE_COOKIES, "") in _YES,
                      lifespan=[*snapshot_lifespans(store=store, clock=clock, bots=container.bots(), environ=environ),
                                *watchdog_lifespans(container)],
                      mail=container.email(),
                      golive=_golive_desk(container, config=Path(config) if config else None, environ=environ),
                      errors=errors or container.error_reporter(),
                      alert_channels=channel_desk(container))


def app_from_environment() -> Litestar:
    """uvicorn's factory (called in each worker process). Error reporting starts before the app
    (its parts, the watchdog's too, take the reporter from the container); the logging, in the
    format `serve --log-format` passed down in QUANTSHIFT_LOG_FORMAT, after it."""
    errors = start_error_reporting(environment="serve", environ=os.environ)
    app = build_app(environ=os.environ, errors=errors)
    # After the app: Litestar puts its own handler on the root logger when it is made.
    configure_logging(log_format=log_format_from_environment(os.environ), verbose=True, replace_root=True)
    return app


def _golive_desk(container: Container, *, config: Path | None, environ: Mapping[str, str]) -> GoLiveDesk:
    def killswitch(bot: str | None, venue: str, actor: str) -> AuditEntry:
        from entrypoints.drills import run_killswitch_drill  # the CLI's wiring of the drill; loaded on first use

        return run_killswitch_drill(container, bot=bot, venue=venue, actor=actor)

    return GoLiveDesk(settings=container.settings(), version=_cli_version(), killswitch=killswitch,
                      check=cli_check_runner(config=config, environ=environ))


def _cli_version() -> str:
    """The version the CLI puts into a bot's fingerprint: the page must compare the same digest."""
    from entrypoints.cli.main import installed_version  # here, not at import: the CLI is large

    return installed_version()


def _version() -> str:
    try:
        return metadata.version("quantshift")
    except metadata.PackageNotFoundError:
        return "0+unknown"
