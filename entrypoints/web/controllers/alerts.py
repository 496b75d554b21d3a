"""/api/v1/alerts: the open alerts (viewers), and acknowledging one (operators):
POST /api/v1/alerts/{key}/ack, the key as `quantshift alerts list` shows it, slashes and all
("drawdown_breaker:paper/eq"). Read from, and recorded in, the audit trail (lifecycle.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, QueryParameter

from application.accounts.accounts import Principal
from application.alerting.lifecycle import AlertClosed, UnknownAlert, acknowledge, alert_states, open_alerts
from domain.access import Action
from entrypoints.web.deps import ClockDep, StoreDep
from entrypoints.web.dto_alerts import AckResponse, AlertResponse, ack_response, alert_response
from entrypoints.web.errors import problem_responses
from entrypoints.web.security import provide_principal

_ACK = {"action": Action.ALERTS_ACK}
_ACK_SUFFIX = "/ack"
MAX_KEY = 300


class AlertClosedConflict(ClientException):
    status_code = 409


class AlertsController(Controller):
    path = "/alerts"
    tags = ["alerts"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def list_alerts(self, store: StoreDep,
                    every: Annotated[bool, QueryParameter(name="all")] = False) -> list[AlertResponse]:
        """The open alerts, oldest first (acknowledged ones too: they stay open until their
        condition clears). `?all=true`: also the resolved alerts and the notices."""
        with store.unit_of_work(read_only=True) as uow:
            states = sorted(alert_states(uow).values(), key=lambda s: s.since) if every else open_alerts(uow)
        return [alert_response(s) for s in states]

    # The key holds slashes ("halted:paper/eq"), so the route takes the rest of the path and wants
    # it to end in /ack: POST /api/v1/alerts/drawdown_breaker:paper/eq/ack.
    @post("/{target:path}", opt=_ACK, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 503))
    def ack(self, target: FromPath[str], principal: NamedDependency[Principal], store: StoreDep,
            clock: ClockDep) -> AckResponse:
        """Acknowledge the open alert named by the key: its repeats stop; it stays open until its
        condition clears. Acknowledging it again answers who did (newly_acked false). 404: no alert
        has the key; 409: it is resolved (or is a notice, which is never open)."""
        path = target.strip("/")
        if not path.endswith(_ACK_SUFFIX.strip("/")) or not path.removesuffix("ack").endswith("/"):
            raise NotFoundException(f"no such route: POST /api/v1/alerts/{path} (POST /api/v1/alerts/KEY/ack)")
        key = path.removesuffix(_ACK_SUFFIX)
        if not key or len(key) > MAX_KEY:
            raise ClientException(f"key: 1 to {MAX_KEY} characters, as `GET /api/v1/alerts` lists it")
        try:
            state, newly = acknowledge(key=key, by=principal.email, uow_factory=store, now=clock.now())
        except UnknownAlert as exc:
            raise NotFoundException(str(exc)) from None
        except AlertClosed as exc:
            raise AlertClosedConflict(str(exc)) from None
        return ack_response(state, newly=newly)


ALERTS_API = [AlertsController]  # under /api/v1, behind the bearer guard
