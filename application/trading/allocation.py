"""Rebalancing the capital of an account's strategy sleeves (its bots) on a schedule.

The decision is the domain's (domain/analytics/allocation.py); this use case feeds it each sleeve's
daily returns with capital transfers taken out, then moves cash between the sleeves'
ledgers in one transaction, with an allocation record per sleeve (weight, equity,
transfer, the figures) and an audit entry. Only free cash moves: a sleeve whose capital
is in positions gives what cash it has, and its entries size from its new equity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from application.ports import AlertLevel, Notifier, UnitOfWork, UnitOfWorkFactory
from application.records import AllocationRecord, AuditEntry, AuditKind, EquityPoint
from application.trading.bot_state import BotState
from application.trading.loss_limits import capital_moved
from domain.analytics.allocation import AllocationDecision, AllocationPolicy, SleeveHistory, annualised_sharpe
from domain.analytics.performance import drawdown_of_returns, flow_adjusted_daily_returns, profit_factor, win_rate
from domain.numbers import ZERO

_CENT = Decimal("0.01")


@attrs.frozen(kw_only=True)
class AllocationSchedule:
    policy: AllocationPolicy
    every: timedelta = timedelta(days=5)  # session time between rebalances

    def __attrs_post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError(f"rebalance interval must be positive, got {self.every}")


@attrs.frozen(kw_only=True)
class SleeveFigures:
    """Per-strategy performance, transfers taken out (what `quantshift strategies` shows)."""

    bot: str
    strategy: str
    weight: Decimal
    equity: Decimal
    net_pnl: Decimal  # equity - initial capital - transfers in
    trades: int
    win_rate: float
    profit_factor: float | None
    sharpe: float
    max_drawdown: float
    volatility: float  # daily, of the flow-adjusted returns

    def to_json(self) -> dict[str, object]:
        pf = self.profit_factor
        return {
            "bot": self.bot, "strategy": self.strategy, "weight": str(self.weight), "equity": str(self.equity),
            "net_pnl": str(self.net_pnl), "trades": self.trades, "win_rate": round(self.win_rate, 6),
            "profit_factor": None if pf is None else ("inf" if pf == float("inf") else round(pf, 6)),
            "sharpe": round(self.sharpe, 6), "max_drawdown": round(self.max_drawdown, 6),
            "daily_volatility": round(self.volatility, 6),
        }


def sleeve_figures(uow: UnitOfWork, *, account: str, bot: str, strategy: str, equity_now: tuple[datetime, Decimal] | None = None,
                   total_equity: Decimal | None = None) -> SleeveFigures:
    """A sleeve's performance from the store (and, in a running session, its equity now)."""
    stored = uow.accounts.get(account=account, bot=bot)
    records = uow.allocations.list(account=account, bot=bot)
    points = [(p.ts, p.equity) for _, p in uow.equity.list(account=account, bot=bot)]
    if equity_now is not None:
        points.append(equity_now)
    flows = [(r.ts, r.transfer) for r in records if r.transfer != 0]
    returns = flow_adjusted_daily_returns(points, flows)
    trips = [trip for _, trip in uow.trades.list(account=account, bot=bot)]
    equity = points[-1][1] if points else (stored.cash if stored else ZERO)
    initial = stored.initial_cash if stored else equity
    moved = sum((amount for _, amount in flows), ZERO)
    if records:
        weight = records[-1].weight
    elif total_equity:
        weight = (equity / total_equity).quantize(Decimal("0.000001"))
    else:
        weight = ZERO
    return SleeveFigures(
        bot=bot, strategy=strategy, weight=weight, equity=equity.quantize(_CENT),
        net_pnl=(equity - initial - moved).quantize(_CENT),
        trades=len(trips), win_rate=win_rate(trips), profit_factor=profit_factor(trips),
        sharpe=annualised_sharpe(returns), max_drawdown=drawdown_of_returns(returns),
        volatility=float(returns.std(ddof=1)) if len(returns) > 1 else 0.0,
    )


@attrs.define(kw_only=True)
class CapitalAllocator:
    schedule: AllocationSchedule
    account: str
    uow_factory: UnitOfWorkFactory
    notifier: Notifier
    _last: datetime | None = None
    _loaded: bool = False

    def due(self, *, now: datetime) -> bool:
        if not self._loaded:
            with self.uow_factory() as uow:
                records = uow.allocations.list(account=self.account)
            self._last = records[-1].ts if records else None
            self._loaded = True
        return self._last is None or now - self._last >= self.schedule.every

    def rebalance(self, states: Sequence[BotState], *, now: datetime) -> AllocationDecision:
        """Decide the weights and move the cash; every sleeve gets a record, moved or not."""
        equities = {s.name: s.equity() for s in states}
        total = sum(equities.values(), ZERO)
        with self.uow_factory() as uow:
            sleeves = [self._history(uow, state, equity=equities[state.name], total=total, now=now) for state in states]
            decision = self.schedule.policy.decide(sleeves=sleeves, now=now)
            transfers = _transfers(states, decision=decision, equities=equities, total=total)
            for state in states:
                figures = sleeve_figures(uow, account=self.account, bot=state.name, strategy=state.spec.strategy.name,
                                         equity_now=(now, equities[state.name]))
                amount = transfers[state.name]
                if amount:
                    stored = uow.accounts.get(account=self.account, bot=state.name)
                    assert stored is not None, f"bot {state.name} has no ledger in {self.account}"
                    uow.accounts.set_cash(account=self.account, bot=state.name, cash=stored.cash + amount)
                # The curve's point now carries the transfer, so the report's equity is the ledger's.
                uow.equity.add_many(account=self.account, bot=state.name,
                                    points=[EquityPoint(ts=now, equity=equities[state.name] + amount)])
                uow.allocations.add(AllocationRecord(
                    account=self.account, bot=state.name, ts=now, weight=decision.weights[state.name],
                    equity=equities[state.name], transfer=amount, reason=decision.reasons[state.name],
                    metrics={**figures.to_json(), "target_capital": str((decision.weights[state.name] * total).quantize(_CENT))},
                ))
            uow.audit.append(AuditEntry(
                ts=now, kind=AuditKind.ALLOCATION, severity="warning" if decision.warnings else "info",
                account=self.account,
                message="capital rebalanced: " + ", ".join(
                    f"{name} {weight:.2%} ({transfers[name]:+})" for name, weight in decision.weights.items()),
                data={"weights": {k: str(v) for k, v in decision.weights.items()},
                      "transfers": {k: str(v) for k, v in transfers.items()},
                      "reasons": dict(decision.reasons), "warnings": list(decision.warnings),
                      "correlations": {f"{a}|{b}": round(c, 6) for (a, b), c in decision.correlations.items()}},
            ))
            uow.commit()
        with self.uow_factory() as uow:
            for state in states:
                state.reload(uow)
        for state in states:
            capital_moved(state, equity_before=equities[state.name], amount=transfers[state.name])
        self._last = now
        for warning in decision.warnings:
            self.notifier.notify(level=AlertLevel.WARNING, title=f"strategy correlation in {self.account}", body=warning)
        return decision

    def _history(self, uow: UnitOfWork, state: BotState, *, equity: Decimal, total: Decimal, now: datetime) -> SleeveHistory:
        records = uow.allocations.list(account=self.account, bot=state.name)
        points = [(p.ts, p.equity) for _, p in uow.equity.list(account=self.account, bot=state.name)]
        points.append((now, equity))
        returns = flow_adjusted_daily_returns(points, [(r.ts, r.transfer) for r in records if r.transfer != 0])
        last_change = None
        previous = None
        for record in records:
            if previous is None or record.weight != previous:
                last_change = record.ts
            previous = record.weight
        weight = records[-1].weight if records else (equity / total if total > 0 else ZERO)
        return SleeveHistory(name=state.name, daily_returns=returns, weight=weight, last_change=last_change)


def _transfers(states: Sequence[BotState], *, decision: AllocationDecision, equities: dict[str, Decimal],
               total: Decimal) -> dict[str, Decimal]:
    """Cash to move per sleeve (sums to zero): givers give at most their free cash, and
    receivers share what was given in proportion to what they lack."""
    wants = {s.name: (decision.weights[s.name] * total - equities[s.name]).quantize(_CENT) for s in states}
    cash = {s.name: max(s.portfolio.cash, ZERO) for s in states}
    give = {n: min(-w, cash[n]).quantize(_CENT) for n, w in wants.items() if w < 0}
    given = sum(give.values(), ZERO)
    lacking = {n: w for n, w in wants.items() if w > 0}
    need = sum(lacking.values(), ZERO)
    out = {s.name: ZERO for s in states}
    if given <= 0 or need <= 0:
        return out
    moved = min(given, need)
    for name, amount in give.items():
        out[name] = -(amount * moved / given).quantize(_CENT)
    for name, amount in lacking.items():
        out[name] = (amount * moved / need).quantize(_CENT)
    # Cents lost to rounding go to (or come from) the largest receiver: the sum is exactly zero.
    largest = max(lacking, key=lambda n: lacking[n])
    out[largest] -= sum(out.values(), ZERO)
    return out
