"""Read use cases: trades and positions. They need only the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWorkFactory
from domain.accounting.position import RoundTrip


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


def trade_page(query: TradeQuery, *, bots: Sequence[str] | None, since: datetime | None, until: datetime | None,
               limit: int, offset: int, uow_factory: UnitOfWorkFactory) -> tuple[int, list[tuple[str, RoundTrip]]]:
    """One page of closed round trips, oldest first, and how many match: filtered and paged by
    the store, so a page costs the same with 60 trades or 60,000. `bots` narrows to those bots
    (a strategy's), with `query.bot` on top."""
    if query.bot is not None:
        bots = [query.bot] if bots is None or query.bot in bots else []
    with uow_factory() as uow:
        return uow.trades.page(account=query.account, bots=bots, symbol=query.symbol, since=since, until=until,
                               limit=limit, offset=offset)


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
