"""The kill switch from the dashboard: EMERGENCY HALT of every bot, halt / resume of one.

Each is two steps: GET shows the confirmation with a reason field (in the page's dialog
under htmx, a page of its own without), POST does it through the same use cases as the API
(application/safety/halt.py), with the person's email as the actor. Operators and admins only:
viewers are not shown the buttons, and their POST is refused (403) all the same.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import anyio.to_thread
import attrs
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from application.ports import Clock, Notifier
from application.records import GLOBAL_SCOPE, bot_scope
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume
from domain.access import Action
from entrypoints.web.controllers.bots import require_known_bot  # the API's check: a typo halts nothing
from entrypoints.web.dashboard.pages import Name
from entrypoints.web.dashboard.session import DashboardSettings, SettingsDep, Viewer, ViewerDep, is_htmx, with_session
from entrypoints.web.deps import BotsDep, ClockDep, NotifierDep, Store, StoreDep
from entrypoints.web.security import DASHBOARD_PATH

MAX_REASON = 500  # as the API's ReasonRequest


class ReasonForm(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=200)] = ""


ReasonBody = Annotated[ReasonForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


@attrs.frozen(kw_only=True)
class Switch:
    """One confirmation: what it says and where it posts."""

    scope: str
    halting: bool
    title: str
    explanation: str
    button: str
    action: str
    back: str

    @property
    def tone(self) -> str:
        return "danger" if self.halting else "primary"


def _all(halting: bool) -> Switch:
    if halting:
        return Switch(scope=GLOBAL_SCOPE, halting=True, title="EMERGENCY HALT: every bot",
                      explanation="Every bot of every account stops submitting orders and cancels its open ones. "
                                  "Positions stay as they are. Only a resume lifts the halt.",
                      button="Halt every bot", action=f"{DASHBOARD_PATH}/halt", back=DASHBOARD_PATH)
    return Switch(scope=GLOBAL_SCOPE, halting=False, title="Lift the global halt",
                  explanation="Lifts the global halt. A bot halted on its own (its breaker, a throttle, an "
                              "operator) stays so until resumed on its own page.",
                  button="Lift the global halt", action=f"{DASHBOARD_PATH}/resume", back=DASHBOARD_PATH)


def _one(account: str, bot: str, halting: bool) -> Switch:
    page = f"{DASHBOARD_PATH}/bots/{quote(account, safe='')}/{quote(bot, safe='')}"
    if halting:
        return Switch(scope=bot_scope(account, bot), halting=True, title=f"Halt {bot} ({account})",
                      explanation="This bot stops submitting orders and cancels its open ones; the others trade on.",
                      button=f"Halt {bot}", action=f"{page}/halt", back=page)
    return Switch(scope=bot_scope(account, bot), halting=False, title=f"Resume {bot} ({account})",
                  explanation="Lifts this bot's own halt (a global halt, if any, stays).",
                  button=f"Resume {bot}", action=f"{page}/resume", back=page)


class ControlController(Controller):
    path = "/"

    @get("/halt", sync_to_thread=False)
    def confirm_halt_all(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep) -> Response:
        return _confirm(request, viewer, dashboard, _all(True))

    @post("/halt")
    async def halt_all(self, request: Request, data: ReasonBody, viewer: ViewerDep, dashboard: SettingsDep,
                       store: StoreDep, clock: ClockDep, notifier: NotifierDep) -> Response:
        return await _switch(request, data, viewer, dashboard, _all(True), store=store, clock=clock, notifier=notifier)

    @get("/resume", sync_to_thread=False)
    def confirm_resume_all(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep) -> Response:
        return _confirm(request, viewer, dashboard, _all(False))

    @post("/resume")
    async def resume_all(self, request: Request, data: ReasonBody, viewer: ViewerDep, dashboard: SettingsDep,
                         store: StoreDep, clock: ClockDep, notifier: NotifierDep) -> Response:
        return await _switch(request, data, viewer, dashboard, _all(False), store=store, clock=clock, notifier=notifier)

    @get("/bots/{account:str}/{bot:str}/halt", sync_to_thread=True)
    def confirm_halt_bot(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                         bots: BotsDep, account: Name, bot: Name) -> Response:
        viewer.principal.require(Action.HALT)
        require_known_bot(store, bots, account=account, bot=bot)
        return _confirm(request, viewer, dashboard, _one(account, bot, True))

    @post("/bots/{account:str}/{bot:str}/halt")
    async def halt_bot(self, request: Request, data: ReasonBody, viewer: ViewerDep, dashboard: SettingsDep,
                       store: StoreDep, clock: ClockDep, notifier: NotifierDep, bots: BotsDep, account: Name,
                       bot: Name) -> Response:
        viewer.principal.require(Action.HALT)
        await anyio.to_thread.run_sync(lambda: require_known_bot(store, bots, account=account, bot=bot))
        return await _switch(request, data, viewer, dashboard, _one(account, bot, True), store=store, clock=clock,
                             notifier=notifier)

    @get("/bots/{account:str}/{bot:str}/resume", sync_to_thread=True)
    def confirm_resume_bot(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                           bots: BotsDep, account: Name, bot: Name) -> Response:
        viewer.principal.require(Action.HALT)
        require_known_bot(store, bots, account=account, bot=bot)
        return _confirm(request, viewer, dashboard, _one(account, bot, False))

    @post("/bots/{account:str}/{bot:str}/resume")
    async def resume_bot(self, request: Request, data: ReasonBody, viewer: ViewerDep, dashboard: SettingsDep,
                         store: StoreDep, clock: ClockDep, notifier: NotifierDep, bots: BotsDep, account: Name,
                         bot: Name) -> Response:
        viewer.principal.require(Action.HALT)
        await anyio.to_thread.run_sync(lambda: require_known_bot(store, bots, account=account, bot=bot))
        return await _switch(request, data, viewer, dashboard, _one(account, bot, False), store=store, clock=clock,
                             notifier=notifier)


def _confirm(request: Request, viewer: Viewer, settings: DashboardSettings, switch: Switch, *, reason: str = "",
             error: str | None = None, status_code: int = 200) -> Response:
    viewer.principal.require(Action.HALT)
    name = "_confirm.html" if is_htmx(request) else "confirm.html"
    return with_session(Template(template_name=name, status_code=status_code, context={
        "viewer": viewer, "confirm": switch, "reason": reason, "error": error}), request, viewer, settings)


async def _switch(request: Request, data: ReasonForm, viewer: Viewer, settings: DashboardSettings, switch: Switch, *,
                  store: Store, clock: Clock, notifier: Notifier) -> Response:
    viewer.principal.require(Action.HALT)
    reason = data.reason.strip()
    if not reason:
        return _confirm(request, viewer, settings, switch, error="Give a reason: it goes into the audit log.",
                        status_code=400)
    actor = viewer.principal.email
    if switch.halting:
        await anyio.to_thread.run_sync(lambda: halt(HaltCommand(reason=reason, actor=actor, scope=switch.scope),
                                                    uow_factory=store, clock=clock, notifier=notifier))
    else:
        await anyio.to_thread.run_sync(lambda: resume(ResumeCommand(actor=actor, scope=switch.scope, reason=reason),
                                                      uow_factory=store, clock=clock, notifier=notifier))
    if not is_htmx(request):
        return Redirect(switch.back, status_code=303)
    done = {"title": "Halted" if switch.halting else "Resumed",
            "message": f"{switch.title}: done ({reason}). The tables update within a second.", "back": switch.back}
    return with_session(Template(template_name="_done.html", context={"done": done}), request, viewer, settings)
