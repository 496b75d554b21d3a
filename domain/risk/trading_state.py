"""The switch every submission passes: ACTIVE, REDUCING (only risk-reducing orders) or HALTED."""

from __future__ import annotations

import enum


class TradingState(enum.Enum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    def allows(self, *, reduces_risk: bool) -> bool:
        if self is TradingState.ACTIVE:
            return True
        if self is TradingState.REDUCING:
            return reduces_risk
        return False
