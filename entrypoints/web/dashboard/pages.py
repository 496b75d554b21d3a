"""The dashboard's read pages: the overview, a bot's page, its chart data, and the ping that
keeps the session cookie fresh while a page stays open."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Template

from entrypoints.web.dashboard import views
from entrypoints.web.dashboard.session import DashboardSettings, SettingsDep, Viewer, ViewerDep, with_session
from entrypoints.web.deps import BotsDep, ClockDep, StoreDep

Name = Annotated[str, Parameter(min_length=1, max_length=100)]
OptionalName = Annotated[str | None, Parameter(max_length=100)]
KEEPALIVE_PATH = "/session"


def page(request: Request, viewer: Viewer, settings: DashboardSettings, name: str, **context: Any) -> Response:
    return with_session(Template(template_name=name, context={"viewer": viewer, **context}), request, viewer, settings)


class PagesController(Controller):
    path = "/"

    @get("/", sync_to_thread=True, name="dashboard-overview")
    def overview(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                 clock: ClockDep, bots: BotsDep, account: OptionalName = None) -> Response:
        view = views.overview(store, clock, account=account, specs=bots.specs)
        events = "/dashboard/events" + (f"?{urlencode({'account': view.live.account})}" if view.live.account else "")
        return page(request, viewer, dashboard, "overview.html", live=view.live, accounts=view.accounts,
                    simulated=view.simulated, trades=view.trades, risk=view.risk, audit=view.audit, events_url=events)

    @get("/bots/{account:str}/{bot:str}", sync_to_thread=True)
    def bot(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep, clock: ClockDep,
            bots: BotsDep, account: Name, bot: Name) -> Response:
        view = views.bot_page(store, clock, account=account, bot=bot, specs=bots.specs)
        if view is None:
            raise NotFoundException(f"no bot {bot} in account {account}")
        here = f"/dashboard/bots/{quote(account, safe='')}/{quote(bot, safe='')}"
        return page(request, viewer, dashboard, "bot.html", live=view.live, risk=view.risk, trades=view.trades,
                    events_url="/dashboard/events?" + urlencode({"account": account, "bot": bot}),
                    chart_url=f"{here}/equity.json")

    @get("/bots/{account:str}/{bot:str}/equity.json", sync_to_thread=True)
    def equity(self, viewer: ViewerDep, store: StoreDep, account: Name, bot: Name) -> dict[str, list[float]]:
        """The charts' data (fetched by dashboard.js: connect-src 'self', no inline data)."""
        return views.equity_series(store, account=account, bot=bot)

    @get(KEEPALIVE_PATH, sync_to_thread=False)
    def keepalive(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep) -> Response:
        """An open page calls this every few minutes: a fresh token in the cookie, so the
        short token lifetime does not log out someone who is watching."""
        return with_session(Response(content=None, status_code=204), request, viewer, dashboard)
