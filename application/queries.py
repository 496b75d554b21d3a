"""Read use cases: trades and positions. They need only the store."""

from __future__ import annotations

from decimal import Decimal

import attrs

from application.ports import UnitOfWorkFactory
from domain.position import RoundTrip


@attrs.frozen(kw_only=True)
class TradeQuery:
    account: str | None = None
    bot: str | None = None
    symbol: str | None = None


@attrs.frozen(kw_only=True)
class PositionRow:
    account: str
    bot: str
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    last_price: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    commissions: Decimal


def list_trades(query: TradeQuery, *, uow_factory: UnitOfWorkFactory) -> list[tuple[str, RoundTrip]]:
    """Closed round trips, oldest first, with their account."""
    with uow_factory() as uow:
        return uow.trades.list(account=query.account, bot=query.bot, symbol=query.symbol)


def list_positions(*, account: str | None, bot: str | None, uow_factory: UnitOfWorkFactory) -> list[PositionRow]:
    """Open positions valued at the last known price (or at cost when none is known)."""
    with uow_factory() as uow:
        rows = uow.positions.list(account=account, bot=bot)
    return [
        PositionRow(
            account=acct, bot=p.bot, symbol=p.symbol, quantity=p.quantity, average_cost=p.average_cost,
            last_price=last, unrealized_pnl=p.unrealized_pnl(last if last is not None else p.average_cost),
            realized_pnl=p.realized_pnl, commissions=p.commissions,
        )
        for acct, p, last in rows
        if not p.is_flat
    ]
