"""/api/v1/bots/{account}/{bot}/start and /stop: what an operator wants a bot to do
(application/trading/bot_runs.py). Stop is not halt: the bot keeps its positions and their stops."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from application.accounts.accounts import Principal
from application.safety.control import effective_state
from application.trading.bot_runs import StartBotCommand, StopBotCommand, UnknownBot, start_bot, stop_bot
from application.trading.ports import BotRun, DesiredState
from domain.access import Action
from entrypoints.web.deps import BotsDep, ClockDep, NotifierDep, Store, StoreDep
from entrypoints.web.dto import BotRunResponse, ReasonRequest
from entrypoints.web.errors import problem_responses
from entrypoints.web.security import provide_principal

_CONTROL = {"action": Action.BOTS_CONTROL}
# 415 and 413: the body must be JSON and small (security.require_json, the app's body cap).
_ERRORS = problem_responses(400, 401, 403, 404, 413, 415, 503)


class BotRunsController(Controller):
    path = "/bots"
    tags = ["bots"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @post("/{account:str}/{bot:str}/stop", opt=_CONTROL, sync_to_thread=True, status_code=200, responses=_ERRORS)
    def stop(self, data: JSONBody[ReasonRequest], account: FromPath[str], bot: FromPath[str], principal: NamedDependency[Principal], store: StoreDep,
             clock: ClockDep, notifier: NotifierDep, bots: BotsDep) -> BotRunResponse:
        """Stop one bot: no strategy evaluation and no new entries; its open entry orders are
        cancelled; its positions and their protective stops stay. Stored: survives restarts."""
        try:
            run = stop_bot(StopBotCommand(account=account, bot=bot, actor=principal.email, reason=data.reason),
                           uow_factory=store, clock=clock, notifier=notifier, configured=bots.names())
        except UnknownBot as exc:
            raise NotFoundException(str(exc)) from None
        return _response(store, run)

    @post("/{account:str}/{bot:str}/start", opt=_CONTROL, sync_to_thread=True, status_code=200, responses=_ERRORS)
    def start(self, data: JSONBody[ReasonRequest], account: FromPath[str], bot: FromPath[str], principal: NamedDependency[Principal], store: StoreDep,
              clock: ClockDep, notifier: NotifierDep, bots: BotsDep) -> BotRunResponse:
        """Start a stopped bot again. A halt still holds it (`trading_state` says so) until resumed.
        Starting a bot nobody stopped changes and records nothing (`changed` is false)."""
        try:
            run = start_bot(StartBotCommand(account=account, bot=bot, actor=principal.email, reason=data.reason),
                            uow_factory=store, clock=clock, notifier=notifier, configured=bots.names(),
                            only_if_stopped=True)
        except UnknownBot as exc:
            raise NotFoundException(str(exc)) from None
        if run is None:
            return _already_running(store, account=account, bot=bot, now=clock.now())
        return _response(store, run)


def _response(store: Store, run: BotRun, *, changed: bool = True) -> BotRunResponse:
    with store.unit_of_work(read_only=True) as uow:
        trading = effective_state(uow, account=run.account, bot=run.bot)
    return BotRunResponse(account=run.account, bot=run.bot, desired=run.desired.value, actor=run.actor,
                          reason=run.reason, updated_at=run.updated_at, trading_state=trading.value,
                          changed=changed)


def _already_running(store: Store, *, account: str, bot: str, now: datetime) -> BotRunResponse:
    with store.unit_of_work(read_only=True) as uow:
        stored = uow.bot_runs.get(account=account, bot=bot)
    run = stored or BotRun(account=account, bot=bot, desired=DesiredState.RUNNING, actor="",
                           reason="already running", updated_at=now)
    return _response(store, run, changed=False)
