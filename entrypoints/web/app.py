"""The admin API application: `create_app` builds it from ports already made (the
composition root is wiring.py, or a test); nothing happens at import.

Layout: /health, /metrics and /schema at the root; everything else under /api/v1 behind
the bearer guard (entrypoints/web/security.py). Errors are problem JSON (errors.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import msgspec
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition
from prometheus_client import CollectorRegistry

from application.accounts.accounts import Accounts
from application.error_reporting import ErrorReporter, NoErrorReporter
from application.ports import Clock, Notifier
from application.trading.bot import BotSpec
from entrypoints.channel_desk import ChannelDesk
from entrypoints.mail_setup import EmailFeatures
from entrypoints.settings import Settings
from entrypoints.web.controllers.admin import ADMIN_API, INVITATION_PAGES
from entrypoints.web.controllers.alerts import ALERTS_API
from entrypoints.web.controllers.alert_channels import AlertChannelsController
from entrypoints.web.controllers.auth import AuthController
from entrypoints.web.controllers.bot_runs import BotRunsController
from entrypoints.web.controllers.bots import BotsController, KillSwitchController
from entrypoints.web.controllers.golive import GOLIVE_API
from entrypoints.web.controllers.health import health
from entrypoints.web.controllers.performance import DashboardController, PerformanceController
from entrypoints.web.controllers.records import RecordsController
from entrypoints.web.controllers.risk import RiskController
from entrypoints.web.controllers.strategies import StrategiesController
from entrypoints.web.controllers.users import UsersController
from entrypoints.web.controllers.venue_health import VenueHealthController
from entrypoints.web.dashboard.router import build_dashboard
from entrypoints.web.deps import BotCatalog, Store
from entrypoints.web.errors import EXCEPTION_HANDLERS
from entrypoints.web.golive_desk import GoLiveDesk
from entrypoints.web.metrics import HttpMetrics, StoreCollector, metrics
from entrypoints.web.metrics_alerts import AlertCollector
from entrypoints.web.metrics_bots import BotCollector
from entrypoints.web.metrics_venues import VenueHealthCollector
from entrypoints.web.request_checks import check_request_text
from entrypoints.web.security import BEARER_SCHEME, add_security_headers, require_json, require_principal

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 64 * 1024  # the largest body any endpoint needs is a few hundred bytes


def _constant(value: object) -> Provide:
    return Provide(lambda: value, use_cache=True, sync_to_thread=False)


class ClosedRequestSchemas(OpenAPISchemaPlugin):
    """Litestar documents every msgspec Struct as an open object, also the request bodies that
    refuse unknown fields (dto.Strict): the schema invited fields the API answers 400 to. This
    adds `additionalProperties: false` to what Litestar's own Struct plugin makes of them."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return (not field_definition.is_union and field_definition.is_subclass_of(msgspec.Struct)
                and field_definition.type_.__struct_config__.forbid_unknown_fields)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        builtin = next(plugin for plugin in schema_creator.plugins
                       if plugin is not self and schema_creator.plugin_supports_field(plugin, field_definition))
        schema = builtin.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


def create_app(
    *,
    store: Store,
    clock: Clock,
    accounts: Accounts,
    bots: Sequence[BotSpec],
    notifier: Notifier,
    token_lifetime: timedelta,
    version: str = "0",
    trust_proxy: bool = False,
    cors_origins: Sequence[str] = (),
    secure_cookies: bool = False,
    debug: bool = False,
    lifespan: Sequence[Any] = (),  # context managers around the server's life (the snapshot job)
    mail: EmailFeatures | None = None,  # None: no SMTP, the e-mail endpoints answer 503
    golive: GoLiveDesk | None = None,  # None: the default bots and [golive] criteria
    errors: ErrorReporter | None = None,  # where a 500's exception is reported (Sentry); None: nowhere
    alert_channels: ChannelDesk | None = None,  # None: the alert-channel endpoints answer 503
) -> Litestar:
    """The API on the given ports. `trust_proxy`: take the client address from
    X-Forwarded-For (only behind a proxy that sets it). `cors_origins`: none by default,
    so browsers on other origins are refused (the dashboard is same-origin). `secure_cookies`:
    the dashboard's cookies are always Secure (else only on https requests; docs/dashboard.md)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector(store=store, clock=clock))
    registry.register(BotCollector(store=store, clock=clock, bots=bots))
    registry.register(AlertCollector(store=store))
    registry.register(VenueHealthCollector(store=store, clock=clock))
    http_metrics = HttpMetrics(registry)
    api = Router(
        path=API_PREFIX,
        route_handlers=[AuthController, BotsController, BotRunsController, KillSwitchController, RecordsController,
                        RiskController, StrategiesController, UsersController, DashboardController,
                        PerformanceController, VenueHealthController, *ADMIN_API, *GOLIVE_API, *ALERTS_API,
                        AlertChannelsController],
        guards=[require_principal],
        before_request=require_json,
        security=[{BEARER_SCHEME: []}],
    )
    dashboard = build_dashboard(token_lifetime_seconds=int(token_lifetime.total_seconds()),
                                secure_cookies=secure_cookies, trust_proxy=trust_proxy)
    return Litestar(
        route_handlers=[api, health, metrics, *dashboard.routers, *INVITATION_PAGES],
        lifespan=list(lifespan),
        dependencies={
            "store": _constant(store),
            "clock": _constant(clock),
            "accounts": _constant(accounts),
            "bots": _constant(BotCatalog(bots)),
            "notifier": _constant(notifier),
            "version": _constant(version),
            "token_lifetime": _constant(int(token_lifetime.total_seconds())),
            "mail": _constant(mail or EmailFeatures(mailer=None)),
            "golive": _constant(golive or GoLiveDesk(settings=Settings(), version=version)),
            "channels": _constant(alert_channels),
        },
        state=_state(accounts=accounts, trust_proxy=trust_proxy, registry=registry, errors=errors or NoErrorReporter()),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        # The text checks run after routing (path parameters known) and before guards and handlers.
        middleware=[http_metrics.middleware, partial(check_request_text, max_body_bytes=MAX_BODY_BYTES)],
        before_send=[add_security_headers, http_metrics.before_send],
        request_max_body_size=MAX_BODY_BYTES,
        template_config=dashboard.template_config,
        plugins=[ClosedRequestSchemas()],
        cors_config=CORSConfig(allow_origins=list(cors_origins), allow_credentials=False,
                               allow_headers=["authorization", "content-type"]) if cors_origins else None,
        openapi_config=OpenAPIConfig(
            title="QuantShift admin API", version=version, path="/schema",
            # JSON only: the API's CSP (default-src 'none') would block a UI's scripts anyway.
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
            components=Components(security_schemes={BEARER_SCHEME: SecurityScheme(
                type="http", scheme="bearer", bearer_format="JWT",
                description="POST /api/v1/auth/login for a token; send it as Authorization: Bearer <token>")}),
        ),
        debug=debug,
    )


def _state(*, accounts: Accounts, trust_proxy: bool, registry: CollectorRegistry, errors: ErrorReporter) -> State:
    return State({"accounts": accounts, "trust_proxy": trust_proxy, "metrics_registry": registry,
                  "error_reporter": errors})
