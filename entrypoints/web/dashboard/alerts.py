"""The dashboard's Alerts page: the open alerts (level, what, since when, how many occurrences,
who acknowledged it), and for operators and admins an Ack button on each unacknowledged one.

The button is a plain form (POST with the CSRF field, the dashboard's rules) that acknowledges
through the same use case as the API and the CLI (application/alerting/lifecycle.py), with the
person's email, and answers with a redirect back to the page, which then shows who acked it.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect

from application.alerting.lifecycle import AlertClosed, UnknownAlert, acknowledge, alert_states, open_alerts
from domain.access import Action, allowed
from entrypoints.web.dashboard.pages import page
from entrypoints.web.dashboard.session import DashboardSettings, SettingsDep, Viewer, ViewerDep
from entrypoints.web.deps import ClockDep, Store, StoreDep
from entrypoints.web.security import DASHBOARD_PATH

ALERTS_PAGE = f"{DASHBOARD_PATH}/alerts"


class AckForm(msgspec.Struct, kw_only=True):
    key: Annotated[str, msgspec.Meta(max_length=300)] = ""
    csrf_token: Annotated[str, msgspec.Meta(max_length=200)] = ""


AckBody = Annotated[AckForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


class AlertsPagesController(Controller):
    path = "/alerts"

    @get("/", sync_to_thread=True)
    def alerts_page(self, request: Request, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                    every: Annotated[bool, QueryParameter(name="all")] = False) -> Response:
        return _page(request, viewer, dashboard, store, every=every)

    @post("/ack")
    async def ack(self, request: Request, data: AckBody, viewer: ViewerDep, dashboard: SettingsDep, store: StoreDep,
                  clock: ClockDep) -> Response:
        viewer.principal.require(Action.ALERTS_ACK)
        try:
            await anyio.to_thread.run_sync(lambda: acknowledge(key=data.key, by=viewer.principal.email,
                                                               uow_factory=store, now=clock.now()))
        except (UnknownAlert, AlertClosed) as exc:
            return await anyio.to_thread.run_sync(lambda: _page(
                request, viewer, dashboard, store, every=False, error=str(exc),
                status_code=404 if isinstance(exc, UnknownAlert) else 409))
        return Redirect(ALERTS_PAGE, status_code=303)


def _page(request: Request, viewer: Viewer, dashboard: DashboardSettings, store: Store, *, every: bool, error: str = "",
          status_code: int = 200) -> Response:
    with store.unit_of_work(read_only=True) as uow:
        states = sorted(alert_states(uow).values(), key=lambda s: s.since, reverse=True) if every \
            else list(reversed(open_alerts(uow)))
    response = page(request, viewer, dashboard, "alerts.html", alerts=states, every=every, error=error,
                    can_ack=allowed(viewer.principal.role, Action.ALERTS_ACK))
    response.status_code = status_code
    return response
