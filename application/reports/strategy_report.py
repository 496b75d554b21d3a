"""Per-strategy performance of an account's sleeves (its bots), for `quantshift strategies`:
P&L, win rate, profit factor, Sharpe and drawdown with capital transfers taken out, the
current weights, the pairwise correlation of strategy returns, and which strategies the
safe wrapper has switched off."""

from __future__ import annotations

import attrs

from application.ports import UnitOfWork
from application.records import AuditKind
from application.reports.default_account import default_account
from application.trading.allocation import SleeveFigures, sleeve_figures
from domain.analytics.allocation import correlation
from domain.analytics.performance import flow_adjusted_daily_returns
from domain.numbers import ZERO

_MIN_COMMON_DAYS = 5  # fewer common daily returns than this say nothing about correlation


@attrs.frozen(kw_only=True)
class StrategyReport:
    account: str
    sleeves: tuple[SleeveFigures, ...]
    correlations: tuple[tuple[str, str, float], ...]  # pairs with enough common history
    disabled: tuple[str, ...]  # "bot/symbol: why" from the audit trail
    last_rebalance: str | None  # its audit message

    def to_json(self) -> dict[str, object]:
        return {
            "account": self.account,
            "strategies": [s.to_json() for s in self.sleeves],
            "correlations": [{"a": a, "b": b, "correlation": round(c, 6)} for a, b, c in self.correlations],
            "disabled": list(self.disabled),
            "last_rebalance": self.last_rebalance,
        }


def latest_account(uow: UnitOfWork) -> str | None:
    """The account a report shows when none is named (the old name of default_account, which
    the API's reports still import): application/reports/default_account.py has the rule."""
    return default_account(uow)


def strategy_report(uow: UnitOfWork, *, account: str, strategy_names: dict[str, str] | None = None) -> StrategyReport:
    ledgers = uow.accounts.list(account=account)
    names = strategy_names or {}
    equities = {}
    for ledger in ledgers:
        points = uow.equity.list(account=account, bot=ledger.bot)
        equities[ledger.bot] = points[-1][1].equity if points else ledger.cash
    total = sum(equities.values(), ZERO)
    sleeves = tuple(
        sleeve_figures(uow, account=account, bot=ledger.bot, strategy=names.get(ledger.bot, _strategy_of(uow, account, ledger.bot)),
                       total_equity=total)
        for ledger in sorted(ledgers, key=lambda a: a.bot)
    )
    returns = {}
    for sleeve in sleeves:
        records = uow.allocations.list(account=account, bot=sleeve.bot)
        returns[sleeve.bot] = flow_adjusted_daily_returns(
            [(p.ts, p.equity) for _, p in uow.equity.list(account=account, bot=sleeve.bot)],
            [(r.ts, r.transfer) for r in records if r.transfer != 0])
    pairs = []
    bots = [s.bot for s in sleeves]
    for i, a in enumerate(bots):
        for b in bots[i + 1:]:
            n = min(len(returns[a]), len(returns[b]))
            if n >= _MIN_COMMON_DAYS:
                c = correlation(returns[a][-n:], returns[b][-n:])
                if c == c:  # not NaN
                    pairs.append((a, b, c))
    errors = uow.audit.list(account=account, kind=AuditKind.ERROR.value, limit=1000)
    disabled = tuple(f"{e.bot}/{e.symbol}: {e.message}" for e in errors if "disabled" in e.message)
    rebalances = uow.audit.list(account=account, kind=AuditKind.ALLOCATION.value, limit=1)
    return StrategyReport(account=account, sleeves=sleeves, correlations=tuple(pairs), disabled=disabled,
                          last_rebalance=f"{rebalances[0].ts:%Y-%m-%d %H:%M} {rebalances[0].message}" if rebalances else None)


def _strategy_of(uow: UnitOfWork, account: str, bot: str) -> str:
    """The strategy a bot's orders were placed for (its own orders, not stops or flattening)."""
    for order in uow.orders.list(account=account, bot=bot, limit=200):
        if not order.strategy.startswith(("protective_stop", "stop:", "flatten")):
            return order.strategy
    return "-"


