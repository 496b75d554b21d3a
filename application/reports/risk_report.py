"""`quantshift risk`: where each bot stands against its limits, from the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.ports import UnitOfWork
from application.safety.control import effective_control
from application.trading.bot import BotSpec
from application.trading.capital_flows import moved_since, stored_watermark
from application.trading.loss_limits import session_start_point
from domain.accounting.portfolio import Exposure, Portfolio
from domain.numbers import ZERO
from domain.orders.order import Order, OrderStatus
from domain.risk.portfolio_heat import portfolio_heat
from domain.risk.trading_state import TradingState


@attrs.frozen(kw_only=True)
class BotRisk:
    account: str
    bot: str
    trading_state: TradingState
    state_reason: str
    equity: Decimal
    peak: Decimal
    drawdown: Decimal  # from the peak
    drawdown_warning: Decimal | None
    drawdown_limit: Decimal | None
    session: str
    session_start_equity: Decimal
    daily_pnl: Decimal
    daily_loss_limit: Decimal | None  # as an amount, for this session's starting equity
    exposure: Exposure
    heat: Decimal | None  # summed risk to the stops of open positions (None: the bot uses no stops)
    heat_limit: Decimal | None


def risk_report(uow: UnitOfWork, *, account: str, bots: Sequence[BotSpec], now: datetime) -> list[BotRisk]:
    rows = []
    for spec in bots:
        stored = uow.accounts.get(account=account, bot=spec.name)
        if stored is None:
            continue
        positions = uow.positions.list(account=account, bot=spec.name)
        marks = {p.symbol: last for _, p, last in positions if last is not None}
        portfolio = Portfolio(bot=spec.name, cash=stored.cash, positions={p.symbol: p for _, p, _ in positions})
        equity = portfolio.equity(marks)
        curve = uow.equity.list(account=account, bot=spec.name)
        # Both net of the capital the allocator moved (application/trading/capital_flows.py), as the breakers.
        peak = stored_watermark(uow, account=account, bot=spec.name, initial_cash=stored.initial_cash,
                                equity_now=equity).peak
        session = spec.session_key(now)
        start = session_start_point([point for _, point in curve], session_key=spec.session_key, key=session)
        session_start = (start.equity + moved_since(uow, account=account, bot=spec.name, after=start.ts)
                         if start is not None else equity)
        control = effective_control(uow, account=account, bot=spec.name)
        stops = uow.stops.list(account=account, bot=spec.name)
        heat = None
        if spec.stop is not None:
            heat = portfolio_heat([
                (p.quantity, marks.get(p.symbol, p.average_cost), stops[(spec.name, p.symbol)].price)
                for _, p, _ in positions if not p.is_flat and (spec.name, p.symbol) in stops
            ])
        rows.append(BotRisk(
            account=account, bot=spec.name,
            trading_state=control.state if control else TradingState.ACTIVE,
            # Why it is reducing or halted; an active bot has no story (a resume's reason is history).
            state_reason=control.reason if control and control.state is not TradingState.ACTIVE else "",
            equity=equity, peak=peak, drawdown=(peak - equity) / peak if peak > 0 else ZERO,
            drawdown_warning=spec.drawdown.warning if spec.drawdown else None,
            drawdown_limit=spec.drawdown.limit if spec.drawdown else None,
            session=session, session_start_equity=session_start, daily_pnl=equity - session_start,
            daily_loss_limit=spec.daily_loss.limit_for(session_start) if spec.daily_loss else None,
            exposure=portfolio.exposure(marks),
            heat=heat, heat_limit=spec.heat.max_fraction * equity if heat is not None and spec.heat else None,
        ))
    return rows


def denials_by_check(orders: Iterable[Order]) -> dict[str, int]:
    """How many orders each risk check denied (a denial's reason starts with its check)."""
    out: dict[str, int] = {}
    for order in orders:
        if order.status is OrderStatus.DENIED:
            check = order.reason.split(":", 1)[0]
            out[check] = out.get(check, 0) + 1
    return out


def denial_line(denied_by: Mapping[str, int], *, orders: int | None = None) -> str:
    """"risk denied 27 of 27 orders: 27 by correlation": what a report says first when it has denials."""
    denied = sum(denied_by.values())
    per_check = ", ".join(f"{n:,} by {check}" for check, n in sorted(denied_by.items(), key=lambda c: (-c[1], c[0])))
    return f"risk denied {denied:,}{'' if orders is None else f' of {orders:,}'} orders: {per_check}"
