"""/api/v1/trades, /positions, /audit: what happened, read from the store."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import FromQuery, Parameter

from application.records import AuditKind
from application.reports.audit_query import AuditQuery, audit_page
from application.reports.queries import TradeQuery, list_positions, trade_page
from entrypoints.cli.output import make_output_converter
from entrypoints.web.deps import BotsDep, StoreDep
from entrypoints.web.dto import PositionResponse, TradePage, TradeResponse
from entrypoints.web.errors import problem_responses

Name = Annotated[str | None, Parameter(max_length=100)]
_ERRORS = problem_responses(400, 401, 503)
AuditKindName = Enum("AuditKindName", {k.name: k.value for k in AuditKind}, type=str)  # the query's allowed values


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


class RecordsController(Controller):
    path = "/"
    tags = ["records"]

    @get("/trades", sync_to_thread=True, responses=_ERRORS)
    def trades(
        self, store: StoreDep, bots: BotsDep,
        account: Name = None, bot: Name = None, strategy: Name = None, symbol: Name = None,
        since: Annotated[datetime | None, Parameter(description="closed at or after (ISO 8601; UTC if no offset)")] = None,
        until: Annotated[datetime | None, Parameter(description="closed before (ISO 8601; UTC if no offset)")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10_000_000)] = 0,
    ) -> TradePage:
        """Closed round trips (flat to flat), oldest first, a page at a time."""
        strategies = bots.strategy_names()
        of_strategy = None if strategy is None else [b for b, name in strategies.items() if name == strategy]
        total, page = trade_page(TradeQuery(account=account, bot=bot, symbol=symbol), bots=of_strategy,
                                 since=_utc(since), until=_utc(until), limit=limit, offset=offset,
                                 uow_factory=lambda: store.unit_of_work(read_only=True))
        return TradePage(total=total, limit=limit, offset=offset, items=[
            TradeResponse(account=a, bot=t.bot, strategy=strategies.get(t.bot, ""), symbol=t.symbol,
                          direction=t.direction.value, quantity=t.quantity, entry_price=t.entry_price,
                          exit_price=t.exit_price, opened_at=t.opened_at, closed_at=t.closed_at,
                          gross_pnl=t.gross_pnl, commission=t.commission, net_pnl=t.net_pnl)
            for a, t in page])

    @get("/positions", sync_to_thread=True, responses=_ERRORS)
    def positions(self, store: StoreDep, account: Name = None, bot: Name = None) -> list[PositionResponse]:
        """Open positions valued at the last known price (at cost when none is known)."""
        rows = list_positions(account=account, bot=bot, uow_factory=lambda: store.unit_of_work(read_only=True))
        return [PositionResponse(account=r.account, bot=r.bot, symbol=r.symbol, quantity=r.quantity,
                                 average_cost=r.average_cost, last_price=r.last_price,
                                 unrealized_pnl=r.unrealized_pnl, realized_pnl=r.realized_pnl - r.commissions)
                for r in rows]

    @get("/audit", sync_to_thread=True, responses=_ERRORS)
    def audit(
        self, store: StoreDep, account: Name = None, symbol: Name = None, kind: FromQuery[AuditKindName | None] = None,
        since: FromQuery[datetime | None] = None, limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """The append-only audit trail (the newest `limit`, oldest first), with the why of each decision."""
        with store.unit_of_work(read_only=True) as uow:
            # The CLI's kind filters (signal and risk match the intents that carry them).
            entries = audit_page(uow, AuditQuery(account=account, symbol=symbol, kind=kind.value if kind else None,
                                                 since=_utc(since), limit=limit)).entries
        converter = make_output_converter()
        return [converter.unstructure(e) for e in entries]
