"""Reading the durable trading switch: the stricter of the global and the bot's own."""

from __future__ import annotations

from application.ports import UnitOfWork
from application.records import GLOBAL_SCOPE, ControlState
from domain.trading_state import TradingState

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def effective_control(uow: UnitOfWork, *, bot: str) -> ControlState | None:
    """The most restrictive switch that applies to `bot`; None means ACTIVE."""
    states = [s for s in (uow.control.get(GLOBAL_SCOPE), uow.control.get(bot)) if s is not None]
    if not states:
        return None
    return max(states, key=lambda s: _SEVERITY[s.state])


def effective_state(uow: UnitOfWork, *, bot: str) -> TradingState:
    control = effective_control(uow, bot=bot)
    return control.state if control else TradingState.ACTIVE
