"""Capital the allocator moved into or out of a sleeve, as the loss limits and the reports read
it from the store: never a loss, a drawdown or a new high (returns net of flows, time-weighted).
The drawdown breaker, `quantshift risk` and the dashboard use these, so they agree."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from application.ports import UnitOfWork
from domain.numbers import ZERO
from domain.risk.circuit_breakers import EquityWatermark, flow_adjusted_watermark


def stored_watermark(uow: UnitOfWork, *, account: str, bot: str, initial_cash: Decimal,
                     equity_now: Decimal | None = None) -> EquityWatermark:
    """The sleeve's equity peak from its stored curve, with each transfer scaling it as it scaled
    the equity (a restart must neither forget a fall nor count a transfer as one)."""
    curve = [(point.ts, point.equity) for _, point in uow.equity.list(account=account, bot=bot)]
    flows = [(r.ts, r.equity, r.transfer) for r in uow.allocations.list(account=account, bot=bot) if r.transfer]
    mark = flow_adjusted_watermark(initial=initial_cash, points=curve, flows=flows)
    return mark if equity_now is None else mark.observe(equity_now)


def moved_since(uow: UnitOfWork, *, account: str, bot: str, after: datetime) -> Decimal:
    """Capital moved in (out, negative) after `after`: a session's starting equity moves by it."""
    return sum((r.transfer for r in uow.allocations.list(account=account, bot=bot) if r.ts > after), ZERO)
