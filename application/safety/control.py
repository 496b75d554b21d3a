"""Reading the durable trading switch: the stricter of the global and the bot's own."""

from __future__ import annotations

from application.ports import UnitOfWork
from application.records import GLOBAL_SCOPE, ControlState, bot_scope
from domain.risk.trading_state import TradingState

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def effective_control(uow: UnitOfWork, *, account: str, bot: str) -> ControlState | None:
    """The most restrictive switch that applies to the bot; None means ACTIVE."""
    scopes = (GLOBAL_SCOPE, bot_scope(account, bot))
    states = [s for s in (uow.control.get(scope) for scope in scopes) if s is not None]
    if not states:
        return None
    return max(states, key=lambda s: _SEVERITY[s.state])


def effective_state(uow: UnitOfWork, *, account: str, bot: str) -> TradingState:
    control = effective_control(uow, account=account, bot=bot)
    return control.state if control else TradingState.ACTIVE
