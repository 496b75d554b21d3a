"""Alert channels (admin): GET and POST /api/v1/settings/alert-channels, DELETE .../{name},
POST .../{name}/test and POST .../test (every channel).

A URL goes in and never comes back out: every answer shows a channel's scheme and host only
(`shown`). The test sends now, whatever the channel's level and quiet hours, and answers 200
with each channel's outcome (delivered or the service's error), recorded as ALERT_TEST.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody, SkipValidation

from adapters.security.secret_box import SecretsNotConfigured
from application.accounts.accounts import Principal
from application.alerting.channel_admin import ChannelExists, ChannelView, UnknownChannel
from application.alerting.channels import Delivery
from domain.access import Action
from domain.errors import ConfigurationError
from entrypoints.channel_desk import ChannelDesk
from entrypoints.web.dto import Strict
from entrypoints.web.dto_admin import AlertLevelName
from entrypoints.web.dto import ProblemResponse
from entrypoints.web.errors import problem, problem_responses
from entrypoints.web.security import provide_principal

ChannelsDep = NamedDependency[SkipValidation[ChannelDesk | None]]
ChannelName = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
_SETTINGS = {"action": Action.SETTINGS_MANAGE}
_FIELDS = {"name", "url", "min_level", "quiet_hours", "timezone"}
NOT_WIRED = "alert channels are not available in this server (no channel sender was given to create_app)"


class ChannelsNotWired(ConfigurationError):
    """create_app was given no ChannelDesk (a test app): the endpoints answer 503."""


def _not_configured(_: Request, exc: ConfigurationError) -> Response[ProblemResponse]:
    # An operator must set something (QUANTSHIFT_SECRETS_KEY): not the caller's input, and not transient.
    return problem(503, str(exc))


class AlertChannelRequest(Strict):
    name: ChannelName
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]  # an Apprise URL, or env:VARNAME
    min_level: AlertLevelName = "warning"
    quiet_hours: Annotated[str, msgspec.Meta(max_length=20)] = ""  # "22:00-07:00"
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "UTC"


class AlertChannelResponse(msgspec.Struct, kw_only=True):
    """A channel as it may be shown: never its URL."""

    name: str
    shown: str  # scheme and host only ("json://127.0.0.1:8123/…", "tgram://…") or "env:VARNAME"
    secret: str  # "encrypted" or "env:VARNAME"
    min_level: AlertLevelName
    quiet_hours: str
    timezone: str
    enabled: bool
    note: str = ""  # after POST: what could not be checked here (an env: variable this server lacks)


class DeliveryResponse(msgspec.Struct, kw_only=True):
    channel: str
    delivered: bool
    detail: str  # "" when delivered; else the service's error (never the URL)


class ChannelTestResponse(msgspec.Struct, kw_only=True):
    deliveries: list[DeliveryResponse]


class AlertChannelsController(Controller):
    path = "/settings/alert-channels"
    tags = ["settings"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}
    exception_handlers = {SecretsNotConfigured: _not_configured, ChannelsNotWired: _not_configured}

    @get("/", opt=_SETTINGS, sync_to_thread=True, responses=problem_responses(400, 401, 403, 503))
    def list_channels(self, channels: ChannelsDep) -> list[AlertChannelResponse]:
        """The saved alert channels, in the order added (shown without their secrets)."""
        return [_channel(c) for c in _desk(channels).list()]

    @post("/", opt=_SETTINGS, sync_to_thread=True, status_code=201,
          responses=problem_responses(400, 401, 403, 409, 413, 415, 503))
    def add_channel(self, data: JSONBody[AlertChannelRequest], principal: NamedDependency[Principal],
                    channels: ChannelsDep) -> AlertChannelResponse:
        """Check the URL with Apprise (nothing is sent), save it encrypted (or the env: reference),
        audited. 409 when the name is taken; 503 when QUANTSHIFT_SECRETS_KEY is not set."""
        try:
            added = _desk(channels).add(name=data.name, url=data.url, min_level=data.min_level,
                                        quiet_hours=data.quiet_hours, timezone=data.timezone, actor=principal.email)
        except ChannelExists as exc:
            raise ClientException(str(exc), status_code=409) from None
        except SecretsNotConfigured:
            raise  # 503, see exception_handlers
        except ConfigurationError as exc:
            raise _field_problem(exc) from None
        return _channel(added)

    @delete("/{name:str}", opt=_SETTINGS, sync_to_thread=True, status_code=200,
            responses=problem_responses(400, 401, 403, 404, 503))
    def remove_channel(self, name: FromPath[str], principal: NamedDependency[Principal],
                       channels: ChannelsDep) -> AlertChannelResponse:
        """Remove a channel (audited); running processes stop using it within 5 s."""
        try:
            return _channel(_desk(channels).remove(name=name, actor=principal.email))
        except UnknownChannel as exc:
            raise NotFoundException(str(exc)) from None

    @post("/{name:str}/test", opt=_SETTINGS, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 404, 413, 415, 503))
    def test_channel(self, name: FromPath[str], principal: NamedDependency[Principal],
                     channels: ChannelsDep) -> ChannelTestResponse:
        """Send a test alert to this channel now; its outcome is in the answer and the audit trail."""
        return _test(channels, name=name, actor=principal.email)

    @post("/test", opt=_SETTINGS, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 413, 415, 503))
    def test_all(self, principal: NamedDependency[Principal], channels: ChannelsDep) -> ChannelTestResponse:
        """Send a test alert to every saved channel now (400 when none is saved)."""
        return _test(channels, name=None, actor=principal.email)


def _test(channels: ChannelDesk | None, *, name: str | None, actor: str) -> ChannelTestResponse:
    try:
        deliveries = _desk(channels).test(name=name, actor=actor, source="api")
    except UnknownChannel as exc:
        raise NotFoundException(str(exc)) from None
    return ChannelTestResponse(deliveries=[_delivery(d) for d in deliveries])


def _desk(channels: ChannelDesk | None) -> ChannelDesk:
    if channels is None:
        raise ChannelsNotWired(NOT_WIRED)
    return channels


def _field_problem(exc: ConfigurationError) -> ValidationException:
    # The use case says "field: what is wrong"; a 400 that names the field, like msgspec's.
    field, _, message = str(exc).partition(": ")
    known = field in _FIELDS
    return ValidationException(detail="Validation failed for POST /api/v1/settings/alert-channels",
                               extra=[{"key": field if known else None, "source": "body",
                                       "message": message if known else str(exc)}])


def _channel(c: ChannelView) -> AlertChannelResponse:
    return AlertChannelResponse(name=c.name, shown=c.shown, secret=c.secret, min_level=c.min_level,  # type: ignore[arg-type]
                                quiet_hours=c.quiet_hours, timezone=c.timezone, enabled=c.enabled, note=c.note)


def _delivery(d: Delivery) -> DeliveryResponse:
    return DeliveryResponse(channel=d.channel, delivered=d.delivered, detail=d.detail)
