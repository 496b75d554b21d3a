"""The admin's notification settings page (/dashboard/settings/notifications): the alert channels
(add, send a test, remove), the e-mail recipients as saved (edited through the API or CLI), and
the latest test alerts with their outcome (the ALERT_TEST entries the go-live gate reads).

The forms are plain POSTs with the CSRF field (the dashboard's rules: they work without script)
answered by a redirect back to the page; a refused input shows the page again with the reason,
and never the URL typed (it may hold a secret). The same desk as the API and the CLI does the
work (entrypoints/channel_desk.py), as the person logged in. Admins only.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from application.accounts.notification_settings import load as load_notification_settings
from application.alerting.channel_admin import ChannelExists, UnknownChannel
from application.records import AuditKind
from domain.access import Action
from domain.errors import ConfigurationError
from entrypoints.web.controllers.alert_channels import ChannelsDep
from entrypoints.web.dashboard.pages import Name, page
from entrypoints.web.dashboard.session import SettingsDep, Viewer, ViewerDep
from entrypoints.web.deps import StoreDep
from entrypoints.web.security import DASHBOARD_PATH

NOTIFICATIONS_PAGE = f"{DASHBOARD_PATH}/settings/notifications"
RECENT_TESTS = 10
LEVELS = ("info", "warning", "critical")


class ChannelForm(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    url: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    min_level: Annotated[str, msgspec.Meta(max_length=20)] = "warning"
    quiet_hours: Annotated[str, msgspec.Meta(max_length=20)] = ""
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    csrf_token: Annotated[str, msgspec.Meta(max_length=200)] = ""


ChannelBody = Annotated[ChannelForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


class NotificationPagesController(Controller):
    path = "/settings/notifications"

    @get("/", sync_to_thread=True)
    def settings_page(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                      channels: ChannelsDep) -> Response:
        viewer.principal.require(Action.SETTINGS_MANAGE)
        return page(request, viewer, dashboard, "notifications.html", **_view(store, channels))

    @post("/channels")
    async def add(self, request: Request, data: ChannelBody, viewer: ViewerDep, dashboard: SettingsDep,
                  store: StoreDep, channels: ChannelsDep) -> Response:
        viewer.principal.require(Action.SETTINGS_MANAGE)

        def add() -> None:
            _desk(channels).add(name=data.name.strip(), url=data.url, min_level=data.min_level,
                                quiet_hours=data.quiet_hours.strip(), timezone=data.timezone.strip() or "UTC",
                                actor=viewer.principal.email)
        # The form comes back filled in on a refusal, but for the URL: it may hold a secret.
        kept = {"name": data.name, "min_level": data.min_level, "quiet_hours": data.quiet_hours,
                "timezone": data.timezone}
        return await _act(add, request=request, viewer=viewer, dashboard=dashboard, store=store, channels=channels,
                          form=kept)

    @post("/channels/{name:str}/test")
    async def test_one(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                       channels: ChannelsDep, name: Name) -> Response:
        viewer.principal.require(Action.SETTINGS_MANAGE)
        return await _act(lambda: _desk(channels).test(name=name, actor=viewer.principal.email, source="api"),
                          request=request, viewer=viewer, dashboard=dashboard, store=store, channels=channels)

    @post("/channels/test")
    async def test_all(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                       channels: ChannelsDep) -> Response:
        viewer.principal.require(Action.SETTINGS_MANAGE)
        return await _act(lambda: _desk(channels).test(name=None, actor=viewer.principal.email, source="api"),
                          request=request, viewer=viewer, dashboard=dashboard, store=store, channels=channels)

    @post("/channels/{name:str}/remove")
    async def remove(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                     channels: ChannelsDep, name: Name) -> Response:
        viewer.principal.require(Action.SETTINGS_MANAGE)
        return await _act(lambda: _desk(channels).remove(name=name, actor=viewer.principal.email),
                          request=request, viewer=viewer, dashboard=dashboard, store=store, channels=channels)


async def _act(action: Any, *, request: Request, viewer: Viewer, dashboard: Any, store: Any, channels: Any,
               form: dict[str, str] | None = None) -> Response:
    """Do it (in a worker thread: it reads the store and may send), then back to the page; a
    refusal re-renders the page with the reason (400)."""
    try:
        await anyio.to_thread.run_sync(action)
    except (ConfigurationError, ChannelExists, UnknownChannel) as exc:
        view = await anyio.to_thread.run_sync(lambda: _view(store, channels))
        view.update(problem=str(exc), form=form or {})
        response = page(request, viewer, dashboard, "notifications.html", **view)
        response.status_code = 400
        return response
    return Redirect(NOTIFICATIONS_PAGE, status_code=303)


def _desk(channels: Any) -> Any:
    if channels is None:
        raise ConfigurationError("alert channels are not available in this server")
    return channels


def _view(store: Any, channels: Any) -> dict[str, Any]:
    problems: list[str] = []
    listed: list[Any] = []
    try:
        listed = _desk(channels).list()
    except ConfigurationError as exc:  # a bad saved document: say so, and still show the rest
        problems.append(str(exc))
    with store.unit_of_work(read_only=True) as uow:
        try:
            email = load_notification_settings(uow.settings)
        except ConfigurationError as exc:
            email = None
            problems.append(str(exc))
        tests = uow.audit.list(kind=AuditKind.ALERT_TEST.value, limit=RECENT_TESTS)
    return {"channels": listed, "email": email, "tests": list(reversed(tests)), "levels": LEVELS,
            "here": NOTIFICATIONS_PAGE, "problems": problems, "form": {}, "problem": ""}
