"""The kill switch: halt and resume. Stored durably; only resume lifts a halt.

These use cases write the switch only, so they work from a CLI process with no API
and no broker connection; each running bot sees the switch before its next
submission (it is read inside the intent transaction, and again just before the send,
serialised with this write: application/trading/release.py) and cancels its open orders.
"""

from __future__ import annotations

import attrs

from application.alerting import bot_alerts
from application.ports import Clock, Notifier, UnitOfWorkFactory
from application.records import GLOBAL_SCOPE, AuditEntry, AuditKind, ControlState
from domain.errors import ConfigurationError
from domain.risk.trading_state import TradingState


@attrs.frozen(kw_only=True)
class HaltCommand:
    reason: str
    actor: str
    scope: str = GLOBAL_SCOPE  # bot_scope(account, bot), or every bot


@attrs.frozen(kw_only=True)
class ResumeCommand:
    """Resuming GLOBAL_SCOPE lifts the global halt (the kill switch) only. A bot's own state
    (its drawdown breaker, a throttle halt, an operator's halt of that bot) is re-armed only when
    named: its scope, every bot of `account`, or `every_account` (every bot of every account,
    old simulated sessions included)."""

    actor: str
    scope: str = GLOBAL_SCOPE
    reason: str = "resumed by operator"
    account: str | None = None  # with GLOBAL_SCOPE: also re-arm every bot of this account
    every_account: bool = False  # with GLOBAL_SCOPE: also re-arm every bot of every account

    def __attrs_post_init__(self) -> None:
        if self.scope != GLOBAL_SCOPE and (self.account is not None or self.every_account):
            raise ConfigurationError("resume: name one bot, one account or every account, not several")
        if self.account is not None and self.every_account:
            raise ConfigurationError("resume: give an account or every account (--all), not both")

    def rearms(self, scope: str) -> bool:
        """Whether this command lifts the (non-active) switch of `scope`."""
        if self.scope != GLOBAL_SCOPE:
            return scope == self.scope
        if scope == GLOBAL_SCOPE or self.every_account:
            return True
        return self.account is not None and scope.split("/", 1)[0] == self.account


def halt(command: HaltCommand, *, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> ControlState:
    if not command.reason.strip():
        raise ConfigurationError("halt needs a reason (--reason TEXT)")
    state = ControlState(
        scope=command.scope, state=TradingState.HALTED, reason=command.reason,
        actor=command.actor, changed_at=clock.now(),
    )
    _write(state, kind=AuditKind.HALT, uow_factory=uow_factory)
    bot_alerts.halted(notifier, scope=command.scope, title=f"HALT ({_scope_name(command.scope)})",
                      body=f"{command.reason} (by {command.actor})")
    return state


def resume(command: ResumeCommand, *, uow_factory: UnitOfWorkFactory, clock: Clock, notifier: Notifier) -> list[ControlState]:
    """Lift the switches the command names (ResumeCommand); returns what it lifted, by scope."""
    now = clock.now()
    with uow_factory() as uow:
        scopes = [c.scope for c in uow.control.list() if c.state is not TradingState.ACTIVE]
    scopes = [s for s in scopes if command.rearms(s)]
    if not scopes:
        return []  # nothing halted: no control row, audit entry or alert for a resume that lifted nothing
    lifted = []
    for scope in scopes:
        state = ControlState(scope=scope, state=TradingState.ACTIVE, reason=command.reason,
                             actor=command.actor, changed_at=now)
        _write(state, kind=AuditKind.RESUME, uow_factory=uow_factory)
        lifted.append(state)
    bot_alerts.resumed(notifier, scopes=[s.scope for s in lifted], title=f"RESUME ({_scope_name(command.scope)})",
                       body=f"{command.reason} (by {command.actor}); re-armed: "
                            + ", ".join(_scope_name(s.scope) for s in lifted))
    return lifted


def still_held(*, uow_factory: UnitOfWorkFactory) -> list[ControlState]:
    """Every switch still REDUCING or HALTED (what a resume left as it was), by scope."""
    with uow_factory() as uow:
        return sorted((c for c in uow.control.list() if c.state is not TradingState.ACTIVE), key=lambda c: c.scope)


def set_trading_state(
    state: ControlState, *, uow_factory: UnitOfWorkFactory, kind: AuditKind = AuditKind.HALT
) -> None:
    _write(state, kind=kind, uow_factory=uow_factory)


def _write(state: ControlState, *, kind: AuditKind, uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.control.set(state)
        uow.audit.append(AuditEntry(
            ts=state.changed_at, kind=kind,
            account="" if state.scope == GLOBAL_SCOPE else state.scope.split("/", 1)[0],
            bot="" if state.scope == GLOBAL_SCOPE else state.scope.split("/", 1)[-1],
            severity="critical" if state.state is TradingState.HALTED else "warning",
            message=f"{state.state.value} ({_scope_name(state.scope)}): {state.reason} (by {state.actor})",
            data={"scope": state.scope, "actor": state.actor, "reason": state.reason},
        ))
        uow.commit()


def _scope_name(scope: str) -> str:
    return "all bots" if scope == GLOBAL_SCOPE else f"bot {scope}"

