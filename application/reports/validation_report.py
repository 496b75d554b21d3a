"""The go/no-go report of a paper-trading record, against the go-live criteria."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from application.ports import UnitOfWork
from application.records import AuditKind, EquityPoint
from application.reports.risk_report import denials_by_check
from domain.analytics.golive import Criterion, GoLiveCriteria
from domain.analytics.performance import max_drawdown, profit_factor, sharpe_ratio, win_rate
from domain.numbers import ZERO
from domain.orders.order import OrderStatus


@attrs.frozen(kw_only=True)
class BotSummary:
    bot: str
    round_trips: int
    net_pnl: Decimal
    equity_start: Decimal
    equity_end: Decimal
    capital_moved: Decimal = Decimal(0)  # moved in (out, negative) by the allocator: no P&L


@attrs.frozen(kw_only=True)
class ValidationReport:
    account: str
    trading_days: int
    orders: int  # sent to the venue
    orders_denied: int
    fills: int
    round_trips: int
    win_rate: float
    max_drawdown: float
    profit_factor: float | None
    sharpe: float
    equity_start: Decimal
    equity_end: Decimal
    critical_errors: int
    open_positions: int
    criteria: tuple[Criterion, ...]
    bots: tuple[BotSummary, ...]
    denied_by: Mapping[str, int] = attrs.field(factory=dict)  # denials per risk check

    @property
    def go_live(self) -> bool:
        return all(c.passed for c in self.criteria)

    def to_json(self) -> dict[str, object]:
        """Plain JSON types; money as strings so no float ever touches it."""
        pf = self.profit_factor
        return {
            "account": self.account,
            "trading_days": self.trading_days,
            "orders": self.orders,
            "orders_denied": self.orders_denied,
            "denied_by": dict(self.denied_by),
            "fills": self.fills,
            "round_trips": self.round_trips,
            "win_rate": round(self.win_rate, 6),
            "max_drawdown": round(self.max_drawdown, 6),
            "profit_factor": None if pf is None else ("inf" if pf == float("inf") else round(pf, 6)),
            "sharpe": round(self.sharpe, 6),
            "equity_start": str(self.equity_start.quantize(Decimal("0.01"))),
            "equity_end": str(self.equity_end.quantize(Decimal("0.01"))),
            "critical_errors": self.critical_errors,
            "open_positions": self.open_positions,
            "go_live": self.go_live,
            "criteria": [
                {"name": c.name, "requirement": c.requirement, "value": c.value, "passed": c.passed}
                for c in self.criteria
            ],
            "bots": [
                {"bot": b.bot, "round_trips": b.round_trips, "net_pnl": str(b.net_pnl.quantize(Decimal("0.01"))),
                 "equity_start": str(b.equity_start.quantize(Decimal("0.01"))),
                 "equity_end": str(b.equity_end.quantize(Decimal("0.01"))),
                 "capital_moved": str(b.capital_moved.quantize(Decimal("0.01")))}
                for b in self.bots
            ],
        }


def build_validation_report(
    uow: UnitOfWork, *, account: str, trading_days: int, criteria: GoLiveCriteria | None = None
) -> ValidationReport:
    criteria = criteria or GoLiveCriteria()
    orders = uow.orders.list(account=account, limit=10_000_000)
    trips = [trip for _, trip in uow.trades.list(account=account)]
    accounts = uow.accounts.list(account=account)
    initial = {a.bot: a.initial_cash for a in accounts}
    rows = uow.equity.list(account=account)  # read once: the curve, the days and each bot's end
    curve = _account_curve(rows, initial=initial)
    equity_start = sum(initial.values(), ZERO)
    equity_end = curve[-1] if curve else equity_start
    drawdown = max_drawdown([equity_start, *curve])
    rate = win_rate(trips)
    # An alert about a critical event is the same event told again (kind alert): not counted twice.
    critical = uow.audit.count(account=account, severity="critical") - sum(
        1 for e in uow.audit.list(account=account, kind=AuditKind.ALERT.value, limit=1_000_000)
        if e.severity == "critical")
    moved: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for record in uow.allocations.list(account=account):
        moved[record.bot] += record.transfer
    per_bot = _bot_summaries(rows, initial=initial, trips=trips, moved=moved)
    open_positions = sum(1 for _, p, _ in uow.positions.list(account=account) if not p.is_flat)
    return ValidationReport(
        account=account,
        trading_days=trading_days,
        orders=sum(1 for o in orders if o.submitted_at is not None),
        orders_denied=sum(1 for o in orders if o.status is OrderStatus.DENIED),
        fills=uow.fills.count(account=account),
        round_trips=len(trips),
        win_rate=rate,
        max_drawdown=drawdown,
        profit_factor=profit_factor(trips),
        sharpe=sharpe_ratio(_daily(rows, initial=initial) or [equity_start], periods_per_year=252),
        equity_start=equity_start,
        equity_end=equity_end,
        critical_errors=critical,
        open_positions=open_positions,
        criteria=criteria.evaluate(trading_days=trading_days, round_trips=len(trips), win_rate=rate,
                                   max_drawdown=drawdown, critical_errors=critical),
        bots=per_bot,
        denied_by=denials_by_check(orders),
    )


EquityRows = Sequence[tuple[str, EquityPoint]]


def _account_curve(rows: EquityRows, *, initial: dict[str, Decimal]) -> list[Decimal]:
    """Total equity over time: each bot's last known equity, summed at every timestamp."""
    latest = dict(initial)
    curve: list[Decimal] = []
    for i, (bot, point) in enumerate(rows):
        latest[bot] = point.equity
        if i + 1 == len(rows) or rows[i + 1][1].ts != point.ts:
            curve.append(sum(latest.values(), ZERO))
    return curve


def _daily(rows: EquityRows, *, initial: dict[str, Decimal]) -> list[Decimal]:
    """The account's equity at the end of each UTC day, for a daily Sharpe ratio."""
    latest = dict(initial)
    by_day: dict[object, Decimal] = {}
    for bot, point in rows:
        latest[bot] = point.equity
        by_day[point.ts.date()] = sum(latest.values(), ZERO)
    return [sum(initial.values(), ZERO), *by_day.values()]


def _bot_summaries(rows: EquityRows, *, initial: dict[str, Decimal], trips: list,
                   moved: dict[str, Decimal]) -> tuple[BotSummary, ...]:
    last: dict[str, Decimal] = {}
    for bot, point in rows:
        last[bot] = point.equity
    pnl: dict[str, Decimal] = defaultdict(lambda: ZERO)
    count: dict[str, int] = defaultdict(int)
    for trip in trips:
        pnl[trip.bot] += trip.net_pnl
        count[trip.bot] += 1
    return tuple(
        BotSummary(bot=bot, round_trips=count[bot], net_pnl=pnl[bot], equity_start=cash,
                   equity_end=last.get(bot, cash), capital_moved=moved[bot])
        for bot, cash in sorted(initial.items())
    )
