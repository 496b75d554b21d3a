"""The go-live criteria, applied to a paper-trading record."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Criterion:
    name: str
    requirement: str
    value: float | int | None
    passed: bool


@attrs.frozen(kw_only=True)
class GoLiveCriteria:
    min_trading_days: int = 30
    min_trades: int = 10
    min_win_rate: float = 0.45
    max_drawdown: float = 0.20

    def evaluate(
        self,
        *,
        trading_days: int,
        round_trips: int,
        win_rate: float,
        max_drawdown: float,
        critical_errors: int,
    ) -> tuple[Criterion, ...]:
        return (
            Criterion(name="trading_days", requirement=f">= {self.min_trading_days}",
                      value=trading_days, passed=trading_days >= self.min_trading_days),
            Criterion(name="round_trips", requirement=f">= {self.min_trades}",
                      value=round_trips, passed=round_trips >= self.min_trades),
            Criterion(name="win_rate", requirement=f">= {self.min_win_rate:.0%}",
                      value=round(win_rate, 6), passed=win_rate >= self.min_win_rate),
            Criterion(name="max_drawdown", requirement=f"< {self.max_drawdown:.0%}",
                      value=round(max_drawdown, 6), passed=max_drawdown < self.max_drawdown),
            Criterion(name="critical_errors", requirement="== 0",
                      value=critical_errors, passed=critical_errors == 0),
        )
