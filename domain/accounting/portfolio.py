"""A bot's account: cash plus positions. Equity = cash + market value of positions."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import attrs

from domain.accounting.position import Position, PositionUpdate
from domain.numbers import ZERO
from domain.orders.fill import Fill


@attrs.frozen(kw_only=True)
class Exposure:
    gross: Decimal
    net: Decimal
    long: Decimal
    short: Decimal


@attrs.frozen(kw_only=True)
class Portfolio:
    bot: str
    cash: Decimal
    positions: Mapping[str, Position] = attrs.field(factory=dict)

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol) or Position(bot=self.bot, symbol=symbol)

    def apply_fill(self, fill: Fill) -> tuple[Portfolio, PositionUpdate]:
        update = self.position(fill.symbol).apply_fill(fill)
        cash = self.cash - fill.signed_quantity * fill.price - fill.commission
        positions = dict(self.positions)
        positions[fill.symbol] = update.position
        return attrs.evolve(self, cash=cash, positions=positions), update

    def _mark(self, symbol: str, marks: Mapping[str, Decimal]) -> Decimal:
        position = self.positions[symbol]
        # Without a mark, value at cost: better than silently valuing at zero.
        return marks.get(symbol, position.average_cost)

    def market_value(self, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.market_value(self._mark(s, marks)) for s, p in self.positions.items()), ZERO
        )

    def equity(self, marks: Mapping[str, Decimal]) -> Decimal:
        return self.cash + self.market_value(marks)

    def unrealized_pnl(self, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (p.unrealized_pnl(self._mark(s, marks)) for s, p in self.positions.items()), ZERO
        )

    def exposure(self, marks: Mapping[str, Decimal]) -> Exposure:
        values = [p.market_value(self._mark(s, marks)) for s, p in self.positions.items()]
        long = sum((v for v in values if v > 0), ZERO)
        short = -sum((v for v in values if v < 0), ZERO)
        return Exposure(gross=long + short, net=long - short, long=long, short=short)
