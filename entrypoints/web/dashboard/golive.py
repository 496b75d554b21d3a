"""The go-live page of a bot: the checklist as last checked (PASS/FAIL per item with its figure
and detail), the validation clock's progress, the last drills, the backups, the certificate
(valid until, who checked, who approved) and probation; for operators the buttons that run the
check and the kill-switch drill, for admins the approval.

The page reads what the API answers (controllers/golive.bot_detail), so both cannot disagree;
its panel re-loads itself every few seconds (htmx), so a check run elsewhere shows up.
The buttons are plain forms (POST with the CSRF field, the dashboard's rules): they work
without script, and answer with a redirect back to the page, which then shows the outcome.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from application.accounts.accounts import Principal
from domain.access import Action, allowed
from entrypoints.web.controllers.golive import (
    GoLiveDep,
    approve,
    bot_detail,
    require_configured,
    run_check,
    run_killswitch,
)
from entrypoints.web.dashboard.pages import Name, page
from entrypoints.web.dashboard.session import SettingsDep, ViewerDep, with_session
from entrypoints.web.deps import ClockDep, StoreDep
from entrypoints.web.security import DASHBOARD_PATH

GOLIVE_PAGE = f"{DASHBOARD_PATH}/golive"
PANEL_REFRESH_SECONDS = 5


class ApproveForm(msgspec.Struct, kw_only=True):
    certificate_id: Annotated[str, msgspec.Meta(max_length=200)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=200)] = ""


ApproveBody = Annotated[ApproveForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def golive_url(bot: str) -> str:
    return f"{GOLIVE_PAGE}/{quote(bot, safe='')}"


def _rights(principal: Principal) -> dict[str, bool]:
    return {"can_check": allowed(principal.role, Action.GOLIVE_CHECK),
            "can_approve": allowed(principal.role, Action.GOLIVE_APPROVE)}


class GoLivePagesController(Controller):
    path = "/golive"

    @get("/{bot:str}", sync_to_thread=True)
    def bot_page(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep, clock: ClockDep,
                 golive: GoLiveDep, bot: Name) -> Response:
        view = bot_detail(store, clock, golive, bot=bot)
        return page(request, viewer, dashboard, "golive.html", g=view, here=golive_url(bot),
                    refresh_seconds=PANEL_REFRESH_SECONDS, **_rights(viewer.principal))

    @get("/{bot:str}/panel", sync_to_thread=True)
    def panel(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep, clock: ClockDep,
              golive: GoLiveDep, bot: Name) -> Response:
        """The page's body alone, for its periodic refresh."""
        view = bot_detail(store, clock, golive, bot=bot)
        return with_session(Template(template_name="_golive.html", context={
            "viewer": viewer, "g": view, "here": golive_url(bot), "refresh_seconds": PANEL_REFRESH_SECONDS,
            **_rights(viewer.principal)}), request, viewer, dashboard)

    @post("/{bot:str}/approve")
    async def approve(self, data: ApproveBody, viewer: ViewerDep, store: StoreDep, clock: ClockDep, golive: GoLiveDep,
                      bot: Name) -> Response:
        viewer.principal.require(Action.GOLIVE_APPROVE)
        await anyio.to_thread.run_sync(lambda: approve(
            store, clock, golive, bot=bot, certificate_id=data.certificate_id, principal=viewer.principal))
        return Redirect(golive_url(bot), status_code=303)

    @post("/{bot:str}/check")
    async def check(self, viewer: ViewerDep, store: StoreDep, clock: ClockDep, golive: GoLiveDep,
                    bot: Name) -> Response:
        """The go-live checklist of this bot, as `quantshift golive check` (a few seconds)."""
        viewer.principal.require(Action.GOLIVE_CHECK)
        await anyio.to_thread.run_sync(lambda: run_check(store, clock, golive, bot=bot, broker=None,
                                                         actor=viewer.principal.email))
        return Redirect(golive_url(bot), status_code=303)

    @post("/{bot:str}/drill")
    async def drill(self, viewer: ViewerDep, golive: GoLiveDep, bot: Name) -> Response:
        """The kill-switch drill of this bot on the simulated venue's continuous session."""
        viewer.principal.require(Action.GOLIVE_CHECK)
        require_configured(golive, bot)
        await anyio.to_thread.run_sync(lambda: run_killswitch(golive, bot=bot, broker="simulated",
                                                              actor=viewer.principal.email))
        return Redirect(golive_url(bot), status_code=303)
