"""The go-live criteria, applied to a paper-trading record."""

from __future__ import annotations

from decimal import Decimal

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


@attrs.frozen(kw_only=True)
class LiveRiskRequirements:
    """What the gate's "Risk management" section asks of a bot's settings before real money.

    A limit left at its default was never chosen for this bot, so live trading takes none:
    each key below must be written in the config file (Settings.explicit)."""

    max_heat: Decimal = Decimal("0.10")  # the risk to the stops, at most this fraction of equity
    sizings: tuple[str, ...] = ("kelly", "volatility")  # position size follows the edge or the risk
    drawdown_keys: tuple[str, ...] = ("risk.drawdown_warning", "risk.drawdown_limit")
    # The daily loss limit takes the tighter of the two: each one in force must be explicit.
    daily_loss_keys: tuple[str, ...] = ("risk.daily_loss_percent", "risk.daily_loss_amount")
    # Hard limits: the largest order (quantity and value) and the largest book (gross exposure).
    hard_limit_keys: tuple[str, ...] = ("risk.max_order_quantity", "risk.max_order_notional",
                                        "risk.max_gross_exposure")

    def heat_ok(self, max_fraction: Decimal) -> bool:
        return max_fraction <= self.max_heat

    def missing(self, keys: tuple[str, ...], *, explicit: frozenset[str] | set[str]) -> list[str]:
        """The keys of `keys` the config file did not set, in order."""
        return [key for key in keys if key not in explicit]
