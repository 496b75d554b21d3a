"""A bot as the application runs it: its instruments, strategy, sizing and limits."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from domain.instrument import Instrument
from domain.risk import RiskLimits
from domain.sizing import FixedFraction
from domain.strategy import Strategy


@attrs.frozen(kw_only=True)
class BotSpec:
    name: str
    instruments: Mapping[str, Instrument]
    strategy: Strategy
    sizing: FixedFraction
    capital: Decimal
    limits: RiskLimits = attrs.field(factory=RiskLimits)

    def trades(self, symbol: str) -> bool:
        return symbol in self.instruments
