"""/api/v1/bots and the kill switch (/api/v1/halt, /api/v1/resume): every bot or one."""

from __future__ import annotations


from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody

from application.accounts.accounts import Principal
from application.ports import Clock
from application.records import GLOBAL_SCOPE, ControlState, bot_scope
from application.reports.status import BotStatus, InstanceStatus, bot_statuses, instance_statuses
from application.safety.halt import HaltCommand, ResumeCommand, halt, resume
from domain.access import Action
from entrypoints.web.deps import BotCatalog, BotsDep, ClockDep, NotifierDep, Store, StoreDep
from entrypoints.web.dto import BotResponse, ControlResponse, PositionResponse, ReasonRequest, ResumeRequest
from entrypoints.web.errors import problem_responses
from entrypoints.web.security import provide_principal

_HALT = {"action": Action.HALT}
# 415 and 413: the body must be JSON and small (security.require_json, the app's body cap).
_HALT_ERRORS = problem_responses(400, 401, 403, 404, 413, 415, 503)


class BotsController(Controller):
    path = "/bots"
    tags = ["bots"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @get("/", sync_to_thread=True, responses=problem_responses(400, 401, 503))
    def list_bots(self, store: StoreDep, clock: ClockDep, account: FromQuery[str | None] = None) -> list[BotResponse]:
        """Every bot with its state from the heartbeat's age, its instance role and P&L."""
        return bot_rows(store, clock, account=account)

    @get("/{account:str}/{bot:str}", sync_to_thread=True, responses=problem_responses(400, 401, 404, 503))
    def get_bot(self, store: StoreDep, clock: ClockDep, account: FromPath[str], bot: FromPath[str]) -> BotResponse:
        found = [b for b in bot_rows(store, clock, account=account) if b.bot == bot]
        if not found:
            raise NotFoundException(f"no bot {bot} in account {account}")
        return found[0]

    @post("/{account:str}/{bot:str}/halt", opt=_HALT, sync_to_thread=True, status_code=200, responses=_HALT_ERRORS)
    def halt_bot(self, data: JSONBody[ReasonRequest], account: FromPath[str], bot: FromPath[str], principal: NamedDependency[Principal], store: StoreDep,
                 clock: ClockDep, notifier: NotifierDep, bots: BotsDep) -> ControlResponse:
        """Halt one bot: it submits nothing more and cancels its open orders."""
        require_known_bot(store, bots, account=account, bot=bot)
        state = halt(HaltCommand(reason=data.reason, actor=principal.email, scope=bot_scope(account, bot)),
                     uow_factory=store, clock=clock, notifier=notifier)
        return _control(state)

    @post("/{account:str}/{bot:str}/resume", opt=_HALT, sync_to_thread=True, status_code=200, responses=_HALT_ERRORS)
    def resume_bot(self, data: JSONBody[ReasonRequest], account: FromPath[str], bot: FromPath[str], principal: NamedDependency[Principal], store: StoreDep,
                   clock: ClockDep, notifier: NotifierDep, bots: BotsDep) -> list[ControlResponse]:
        require_known_bot(store, bots, account=account, bot=bot)
        states = resume(ResumeCommand(actor=principal.email, scope=bot_scope(account, bot), reason=data.reason),
                        uow_factory=store, clock=clock, notifier=notifier)
        return [_control(s) for s in states]


class KillSwitchController(Controller):
    path = "/"
    tags = ["bots"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @post("/halt", opt=_HALT, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 413, 415, 503))
    def halt_all(self, data: JSONBody[ReasonRequest], principal: NamedDependency[Principal], store: StoreDep, clock: ClockDep,
                 notifier: NotifierDep) -> ControlResponse:
        """EMERGENCY HALT of every bot of every account; only a resume lifts it."""
        return _control(halt(HaltCommand(reason=data.reason, actor=principal.email, scope=GLOBAL_SCOPE),
                             uow_factory=store, clock=clock, notifier=notifier))

    @post("/resume", opt=_HALT, sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 403, 413, 415, 503))
    def resume_all(self, data: JSONBody[ResumeRequest], principal: NamedDependency[Principal], store: StoreDep, clock: ClockDep,
                   notifier: NotifierDep) -> list[ControlResponse]:
        """Lift the global halt; with `account` also re-arm every bot of that account, with `all`
        every bot of every account. Answers what it lifted."""
        if data.account is not None and data.all_accounts:
            raise ValidationException("give account or all, not both")
        states = resume(ResumeCommand(actor=principal.email, scope=GLOBAL_SCOPE, reason=data.reason,
                                      account=data.account, every_account=data.all_accounts),
                        uow_factory=store, clock=clock, notifier=notifier)
        return [_control(s) for s in states]


def bot_rows(store: Store, clock: Clock, *, account: str | None) -> list[BotResponse]:
    now = clock.now()
    with store.unit_of_work(read_only=True) as uow:
        statuses = bot_statuses(uow, now=now, account=account)
        instances = instance_statuses(uow, now=now, account=account)
    return [_bot(s, instances) for s in statuses]


def _bot(s: BotStatus, instances: list[InstanceStatus]) -> BotResponse:
    role = next((i.state.upper() for i in instances
                 if i.instance.account == s.account and s.bot in i.instance.bots.split(",")
                 and i.state in ("live", "standby")), None)
    halted = s.control is not None and s.control.state.value != "active"
    return BotResponse(
        account=s.account, bot=s.bot, state=s.liveness.value, role=role, last_heartbeat=s.heartbeat.beat_at,
        heartbeat_age_seconds=round(s.heartbeat_age_seconds, 3), mode=s.heartbeat.mode, pid=s.heartbeat.pid,
        host=s.heartbeat.host, trading_state=s.control.state.value if s.control else "active",
        halt_reason=s.control.reason if halted and s.control else None, cash=s.cash, equity=s.equity, pnl=s.pnl,
        positions=[PositionResponse(account=s.account, bot=s.bot, symbol=p.symbol, quantity=p.quantity,
                                    average_cost=p.average_cost, last_price=p.last_price,
                                    unrealized_pnl=p.unrealized_pnl, realized_pnl=p.realized_pnl)
                   for p in s.positions],
        desired=s.desired.value, stopped_by=s.stop_request.actor if s.stop_request else None,
        stop_reason=s.stop_request.reason if s.stop_request else None)


def require_known_bot(store: Store, bots: BotCatalog, *, account: FromPath[str], bot: FromPath[str]) -> None:
    """A bot that beat, has a ledger, or is configured; a typo must not halt nothing quietly."""
    if bot in bots.names():
        return
    with store.unit_of_work(read_only=True) as uow:
        if uow.accounts.get(account=account, bot=bot) is not None:
            return
        if any(b.bot == bot for b in uow.heartbeats.list(account=account)):
            return
    raise NotFoundException(f"no bot {bot} in account {account}")


def _control(state: ControlState) -> ControlResponse:
    return ControlResponse(scope=state.scope, state=state.state.value, reason=state.reason, actor=state.actor,
                           changed_at=state.changed_at)
