"""/api/v1/golive: where every bot stands on its way to live money (the validation clock, the
checklist as last checked, the drills, backups, the certificate and its approval, probation);
POST .../check runs the checklist (operators), POST .../approve signs a certificate off
(admins); /api/v1/drills/killswitch drills the kill switch on a paper venue (operators).

Every read comes from the append-only audit trail (application/golive/overview.py, the
validation clock, the certificates); every mutation is recorded there by the use case it
calls, with the caller's email as the actor (the approver, the checker, the drill's halt).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, JSONBody, SkipValidation

from application.accounts.accounts import Principal
from application.golive import overview as ov
from application.golive.certificates import ApprovalRefused, approve_certificate as gate_approve
from application.golive.certificates import latest_certificate
from application.golive.checklist import ItemResult
from application.golive.drills import DrillRefused
from application.ports import Clock
from domain.access import Action
from entrypoints.golive_deployment import venue_for
from entrypoints.web.deps import ClockDep, Store, StoreDep
from entrypoints.web.dto_golive import (
    ApprovalResponse,
    ApproveRequest,
    BackupResponse,
    CertificateResponse,
    CheckRequest,
    CheckResponse,
    CheckRunResponse,
    DrillResponse,
    GoLiveBotResponse,
    GoLiveSummaryResponse,
    ItemResponse,
    KillSwitchDrillRequest,
    ProbationResponse,
    ValidationResponse,
)
from entrypoints.web.errors import problem_responses
from entrypoints.web.golive_desk import BotPicture, CheckBusy, GoLiveDesk
from entrypoints.web.security import provide_principal

GoLiveDep = NamedDependency[SkipValidation[GoLiveDesk]]
_APPROVE = {"action": Action.GOLIVE_APPROVE}
_CHECK = {"action": Action.GOLIVE_CHECK}
_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 503)
_PRINCIPAL = {"principal": Provide(provide_principal, sync_to_thread=False)}


class Conflict(ClientException):
    """409: the request is sound, the state of the evidence refuses it (docs/golive.md)."""

    status_code = 409


class GoLiveController(Controller):
    path = "/golive"
    tags = ["golive"]
    dependencies = _PRINCIPAL

    @get("/", sync_to_thread=True, responses=problem_responses(401, 503))
    def list_bots(self, store: StoreDep, clock: ClockDep, golive: GoLiveDep) -> list[GoLiveSummaryResponse]:
        """Every configured bot: its validation clock, the last check, drills and certificate."""
        now = clock.now()
        with store.unit_of_work(read_only=True) as uow:
            pictures = golive.pictures(uow, names=golive.bot_names(), now=now)
        return [_summary(p, golive) for p in pictures]

    @get("/{bot:str}", sync_to_thread=True, responses=problem_responses(400, 401, 404, 503))
    def get_bot(self, bot: FromPath[str], store: StoreDep, clock: ClockDep, golive: GoLiveDep) -> GoLiveBotResponse:
        """One bot: the checklist as last checked with every item, the validation clock, the last
        kill-switch and failover drills, the backups, the certificate and its approval, probation."""
        return bot_detail(store, clock, golive, bot=bot)

    @post("/{bot:str}/check", opt=_CHECK, sync_to_thread=True, status_code=200, responses=_WRITE_ERRORS)
    def check(self, bot: FromPath[str], data: JSONBody[CheckRequest], principal: NamedDependency[Principal],
              store: StoreDep, clock: ClockDep, golive: GoLiveDep) -> CheckRunResponse:
        """Run the go-live checklist of the bot, as `quantshift golive check --bot NAME --as <you>`:
        every item of features/golive against this deployment, recorded as a check (and a
        certificate when all passed). Takes seconds; 409 while one runs for the bot or within
        15 s of the last one started here."""
        return run_check(store, clock, golive, bot=bot, broker=data.broker, actor=principal.email)

    @post("/{bot:str}/approve", opt=_APPROVE, sync_to_thread=True, status_code=200, responses=_WRITE_ERRORS)
    def approve(self, bot: FromPath[str], data: JSONBody[ApproveRequest], principal: NamedDependency[Principal],
                store: StoreDep, clock: ClockDep, golive: GoLiveDep) -> ApprovalResponse:
        """Sign off the bot's latest certificate, named by its id. Where the platform has two
        admins or more, the approver must not be the one who ran the check. 409 when the
        certificate is not the latest, has expired or was issued for another configuration."""
        return approve(store, clock, golive, bot=bot, certificate_id=data.certificate_id, principal=principal)


class DrillsController(Controller):
    path = "/drills"
    tags = ["golive"]
    dependencies = _PRINCIPAL

    @post("/killswitch", opt=_CHECK, sync_to_thread=True, status_code=200, responses=_WRITE_ERRORS)
    def killswitch(self, data: JSONBody[KillSwitchDrillRequest], principal: NamedDependency[Principal],
                   store: StoreDep, clock: ClockDep, golive: GoLiveDep) -> DrillResponse:
        """The kill-switch drill, as `quantshift drill killswitch`: the running paper session rests
        an order, the bot is halted, the time to every open order cancelled and to the last
        submission is measured, the bot resumed; recorded (passed or not). Takes a few seconds.
        409 when nothing could be drilled (no running session, a switch already thrown)."""
        if data.bot is not None:
            require_configured(golive, data.bot)
        return run_killswitch(golive, bot=data.bot, broker=data.broker, actor=principal.email)


GOLIVE_API = [GoLiveController, DrillsController]  # under /api/v1, behind the bearer guard


# --- the use cases, shared with the dashboard ------------------------------------------------------


def require_configured(golive: GoLiveDesk, bot: str) -> None:
    if golive.bot(bot) is None:
        known = ", ".join(golive.bot_names()) or "none"
        raise NotFoundException(f"no configured bot {bot} (configured: {known})")


def bot_detail(store: Store, clock: Clock, golive: GoLiveDesk, *, bot: str) -> GoLiveBotResponse:
    require_configured(golive, bot)
    now = clock.now()
    with store.unit_of_work(read_only=True) as uow:
        picture = golive.pictures(uow, names=[bot], now=now)[0]
    return _detail(picture, golive)


def approve(store: Store, clock: Clock, golive: GoLiveDesk, *, bot: str, certificate_id: str,
            principal: Principal) -> ApprovalResponse:
    require_configured(golive, bot)
    now = clock.now()
    current = golive.fingerprint(bot)
    with store() as uow:
        latest = latest_certificate(uow, bot=bot)
        if latest is not None and latest.certificate_id != certificate_id:
            raise Conflict(f"certificate {certificate_id} is not bot {bot}'s latest certificate "
                           f"({latest.certificate_id}): reload, and approve that one if it is the one you mean")
        if current is None:
            raise Conflict(f"bot {bot}'s configuration cannot be fingerprinted now (its strategy file cannot be "
                           "read): nothing can be approved for it")
        try:
            approved = gate_approve(uow, bot=bot, approver=principal.email, now=now, fingerprint=current.digest)
        except ApprovalRefused as exc:
            raise Conflict(str(exc)) from None
        uow.commit()
    changed = latest is not None and not latest.approved
    return ApprovalResponse(bot=bot, certificate_id=approved.certificate_id, approved_by=approved.approved_by or "",
                            approved_at=approved.approved_at or now, valid_until=approved.valid_until,
                            changed=changed)


def run_check(store: Store, clock: Clock, golive: GoLiveDesk, *, bot: str, broker: str | None,
              actor: str) -> CheckRunResponse:
    require_configured(golive, bot)
    venue_for(golive.settings, bot=bot, broker=broker)  # a broker of another asset class: 400 before any work
    started = time.monotonic()
    before = clock.now()
    try:
        passed = golive.check_gate.run(bot, lambda: golive.check(bot, broker, actor))
    except CheckBusy as exc:
        raise Conflict(str(exc)) from None
    seconds = time.monotonic() - started
    with store.unit_of_work(read_only=True) as uow:
        current = golive.fingerprint(bot)
        view = ov.bot_overview(ov.evidence(uow), bot=bot, fingerprint=current.digest if current else None,
                               now=clock.now())
    certificate = view.certificate if passed and view.certificate and view.certificate.issued_at \
        and view.certificate.issued_at >= before.replace(microsecond=0) else None
    return CheckRunResponse(bot=bot, passed=passed, seconds=round(seconds, 3), check=_check(view.last_check),
                            certificate=_certificate(certificate))


def run_killswitch(golive: GoLiveDesk, *, bot: str | None, broker: str, actor: str) -> DrillResponse:
    try:
        entry = golive.killswitch(bot, broker, actor)
    except DrillRefused as exc:
        raise Conflict(str(exc)) from None
    drill = _drill(ov.drill_of(entry))
    assert drill is not None  # the drill records a kill-switch entry
    return drill


# --- mapping to the wire ---------------------------------------------------------------------


def _summary(p: BotPicture, golive: GoLiveDesk) -> GoLiveSummaryResponse:
    v = p.view
    return GoLiveSummaryResponse(
        bot=v.bot, asset_class=_asset_class(golive, v.bot), fingerprint=v.fingerprint, certified=p.certified,
        validation=_validation(p, golive), last_check_passed=v.last_check.passed if v.last_check else None,
        last_checked_at=v.last_check.at if v.last_check else None, killswitch=_drill(v.killswitch),
        failover=_drill(v.failover), certificate=_certificate(v.certificate))


def _detail(p: BotPicture, golive: GoLiveDesk) -> GoLiveBotResponse:
    v = p.view
    return GoLiveBotResponse(
        bot=v.bot, asset_class=_asset_class(golive, v.bot), fingerprint=v.fingerprint, certified=p.certified,
        problems=list(p.problems), validation=_validation(p, golive), check=_check(v.last_check),
        killswitch=_drill(v.killswitch), failover=_drill(v.failover), backup_taken=_backup(v.backup_taken),
        backup_verified=_backup(v.backup_verified), certificate=_certificate(v.certificate),
        probation=_probation(v.probation), entries_blocked=v.entries_blocked)


def _asset_class(golive: GoLiveDesk, bot: str) -> str:
    found = golive.bot(bot)
    return found.asset_class if found else ""


def _validation(p: BotPicture, golive: GoLiveDesk) -> ValidationResponse | None:
    epoch, status = p.view.epoch, p.status
    if epoch is None:
        return None
    criteria = golive.criteria()
    measured = status is not None and status.epoch is not None and status.epoch.number == epoch.epoch
    return ValidationResponse(
        epoch=epoch.epoch, account=epoch.account, started_at=epoch.started_at, fingerprint=epoch.fingerprint,
        reason=epoch.reason, changed=list(epoch.changed), current=epoch.fingerprint == p.view.fingerprint,
        trading_days=status.trading_days if measured and status else None,
        day_unit="NYSE sessions" if _asset_class(golive, p.view.bot) == "equity" else "UTC days",
        min_trading_days=criteria.min_trading_days, round_trips=status.round_trips if measured and status else None,
        min_trades=criteria.min_trades, win_rate=round(status.win_rate, 6) if measured and status else None,
        min_win_rate=criteria.min_win_rate,
        max_drawdown=round(status.max_drawdown, 6) if measured and status else None,
        drawdown_limit=criteria.max_drawdown,
        critical_events=len(status.critical_events) if measured and status else None,
        passed=status.passed if measured and status else None)


def _items(items: tuple[ItemResult, ...]) -> list[ItemResponse]:
    return [ItemResponse(section=i.section, item=i.item, requirement=i.requirement, figure=i.figure, passed=i.passed,
                         detail=i.detail) for i in items]


def _check(c: ov.Check | None) -> CheckResponse | None:
    if c is None:
        return None
    return CheckResponse(checked_at=c.at, checked_by=c.actor, fingerprint=c.fingerprint, broker=c.broker,
                         passed=c.passed, items=_items(c.items))


def _plain(value: object) -> Any:
    """A recorded figure as JSON has it (the records hold JSON already; anything else as text)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _drill(d: ov.Drill | None) -> DrillResponse | None:
    if d is None or d.drill not in ("killswitch", "failover"):
        return None
    return DrillResponse(drill=d.drill, at=d.at, account=d.account, passed=d.passed,  # type: ignore[arg-type]
                         detail=d.detail, figures=_plain(d.figures))


def _backup(b: ov.Backup | None) -> BackupResponse | None:
    if b is None or b.event not in ("taken", "verified"):
        return None
    return BackupResponse(event=b.event, at=b.at, path=b.path, engine=b.engine,  # type: ignore[arg-type]
                          tables=_plain(b.tables), sha256=b.sha256, passed=b.passed, detail=b.detail)


def _certificate(c: ov.Certificate | None) -> CertificateResponse | None:
    if c is None:
        return None
    return CertificateResponse(certificate_id=c.certificate_id, state=c.state,  # type: ignore[arg-type]
                               fingerprint=c.fingerprint, broker=c.broker, checked_by=c.checked_by,
                               issued_at=c.issued_at, valid_until=c.valid_until, approved_by=c.approved_by,
                               approved_at=c.approved_at)


def _probation(p: ov.Probation | None) -> ProbationResponse | None:
    if p is None or p.event not in ov.PROBATION_EVENTS:
        return None
    return ProbationResponse(event=p.event, at=p.at, fraction=_plain(p.fraction),  # type: ignore[arg-type]
                             days=_plain(p.days), figures=_plain(p.figures), reason=p.reason)
