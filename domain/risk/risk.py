"""Pre-trade risk: each policy looks at an intent in its context and returns a decision value.

Decisions are values, never exceptions. The engine runs every policy so the audit
trail shows each check with its figures; the first denial decides. A denial may
ask for a HALT (an order-rate throttle breach: a runaway is stopped, not just dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import attrs

from domain.accounting.instrument import AssetClass
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide
from domain.risk.trading_state import TradingState


@attrs.frozen(kw_only=True)
class CheckResult:
    check: str
    passed: bool
    detail: str
    halt: bool = False


@attrs.frozen(kw_only=True)
class Approved:
    checks: tuple[CheckResult, ...]

    approved = True


@attrs.frozen(kw_only=True)
class Denied:
    check: str
    reason: str
    halt: bool
    checks: tuple[CheckResult, ...]

    approved = False


RiskDecision = Approved | Denied


@attrs.frozen(kw_only=True)
class RiskContext:
    """Everything a policy may look at; built by the application, read-only here."""

    now: datetime
    trading_state: TradingState
    last_price: Decimal | None
    last_price_at: datetime | None
    open_orders_for_symbol: int  # working orders other than the resting protective stops
    recent_submissions_symbol: Sequence[datetime]
    recent_submissions_bot: Sequence[datetime]
    equity: Decimal
    cash: Decimal
    gross_exposure: Decimal
    position_quantity: Decimal
    daily_loss_stop: str = ""  # set when the daily loss limit tripped this session: why


@attrs.frozen(kw_only=True)
class RiskLimits:
    max_order_quantity: Decimal = Decimal(1_000_000)
    max_order_notional: Decimal = Decimal(250_000)
    price_collar_equity: Decimal = Decimal("0.05")  # 5 % from the reference price
    price_collar_crypto: Decimal = Decimal("0.10")  # crypto moves more
    max_gross_exposure: Decimal = Decimal("1.0")  # fraction of equity
    max_orders_per_symbol_per_minute: int = 10
    max_orders_per_bot_per_minute: int = 30
    max_data_age: timedelta = timedelta(hours=1)

    @classmethod
    def permissive(cls) -> RiskLimits:
        """Limits that never bind (a backtest with --risk off): only buying power and the
        trading state still decide, as they must for any order."""
        unlimited = Decimal("1e15")
        return cls(max_order_quantity=unlimited, max_order_notional=unlimited, price_collar_equity=unlimited,
                   price_collar_crypto=unlimited, max_gross_exposure=unlimited,
                   max_orders_per_symbol_per_minute=10**9, max_orders_per_bot_per_minute=10**9,
                   max_data_age=timedelta(days=36_500))

    def __attrs_post_init__(self) -> None:
        for name in ("max_order_quantity", "max_order_notional", "price_collar_equity",
                     "price_collar_crypto", "max_gross_exposure"):
            value = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise ValueError(f"risk.{name} must be positive, got {value}")
        for name in ("max_orders_per_symbol_per_minute", "max_orders_per_bot_per_minute"):
            if getattr(self, name) < 1:
                raise ValueError(f"risk.{name} must be at least 1")


class RiskPolicy(Protocol):
    name: str

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        """Return a passed or failed CheckResult with the figures that decided it."""
        ...


def _result(name: str, passed: bool, detail: str, *, halt: bool = False) -> CheckResult:
    return CheckResult(check=name, passed=passed, detail=detail, halt=halt and not passed)


@attrs.frozen
class TradingStateGate:
    name = "trading_state"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        ok = context.trading_state.allows(reduces_risk=intent.reduces_risk)
        return _result(self.name, ok, f"state {context.trading_state.value}, reduces_risk={intent.reduces_risk}")


@attrs.frozen
class DailyLossGate:
    """After the daily loss limit trips, only risk-reducing orders until the next session."""

    name = "daily_loss"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        if not context.daily_loss_stop:
            return _result(self.name, True, "daily loss limit not reached")
        return _result(self.name, intent.reduces_risk, context.daily_loss_stop)


@attrs.frozen
class OnePendingOrderPerSymbol:
    name = "pending_order"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        n = context.open_orders_for_symbol
        if intent.protective:
            # The part of a position already held while its entry still fills is protected
            # all the same (application/trading/protective_stops.py): the stop rests beside the entry.
            return _result(self.name, True, f"{n} open order(s) for {intent.symbol}: a protective stop may rest beside them")
        return _result(self.name, n == 0, f"{n} open order(s) for {intent.symbol}")


@attrs.frozen
class MaxOrderQuantity:
    limit: Decimal
    name = "max_order_quantity"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        return _result(self.name, intent.quantity <= self.limit, f"quantity {intent.quantity} vs limit {self.limit}")


@attrs.frozen
class MaxOrderNotional:
    limit: Decimal
    name = "max_order_notional"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        notional = intent.notional.quantize(Decimal("0.01"))
        return _result(self.name, notional <= self.limit, f"notional {notional} vs limit {self.limit}")


@attrs.frozen
class PriceCollar:
    equity_band: Decimal
    crypto_band: Decimal
    name = "price_collar"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        if context.last_price is None:
            return _result(self.name, False, "no reference price")
        band = self.crypto_band if intent.instrument.asset_class is AssetClass.CRYPTO else self.equity_band
        price = intent.limit_price or intent.stop_price or intent.reference_price
        if intent.protective:
            # A protective stop is meant to sit away from the market and can only close the
            # position; the collar guards against fat-fingered entries, not against exits.
            deviation = abs(price - context.last_price) / context.last_price
            return _result(self.name, True, f"protective stop {price} is {deviation:.4%} from last "
                                            f"{context.last_price}: no collar on a resting stop")
        deviation = abs(price - context.last_price) / context.last_price
        return _result(
            self.name,
            deviation <= band,
            f"price {price} is {deviation:.4%} from last {context.last_price} (band {band:.2%})",
        )


@attrs.frozen
class FreshData:
    max_age: timedelta
    name = "fresh_data"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        if context.last_price_at is None:
            return _result(self.name, False, "no market data yet")
        age = context.now - context.last_price_at
        # Exits are allowed on stale data: getting out must never be blocked by a feed gap.
        ok = intent.reduces_risk or age <= self.max_age
        return _result(self.name, ok, f"data age {age} vs max {self.max_age}")


@attrs.frozen
class BuyingPower:
    name = "buying_power"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        if intent.reduces_risk:
            return _result(self.name, True, "risk-reducing order")
        # A flip closes the held position first: that leg's cash (paid for a cover, received
        # for a sale) is there before the new leg, which is what needs the buying power.
        held = context.position_quantity
        opposed = (held < 0) if intent.side is OrderSide.BUY else (held > 0)
        closing = min(abs(held), intent.quantity) if opposed else Decimal(0)
        price = intent.limit_price or intent.stop_price or intent.reference_price
        available = context.cash - intent.side.sign * closing * price
        opening = (intent.quantity - closing) * price
        detail = f"new leg {opening:.2f} vs cash {available:.2f}"
        if closing:
            detail += f" (after closing {closing} at {price})"
        return _result(self.name, opening <= available, detail)


@attrs.frozen
class GrossExposureCap:
    fraction: Decimal
    name = "gross_exposure"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        if intent.reduces_risk:
            return _result(self.name, True, "risk-reducing order")
        after = context.gross_exposure + intent.notional
        cap = context.equity * self.fraction
        return _result(self.name, after <= cap, f"gross exposure after {after:.2f} vs cap {cap:.2f}")


@attrs.frozen
class OrderRateThrottle:
    """More than `limit` submissions in the trailing minute HALTS the bot: a runaway is stopped."""

    scope: str  # "symbol" or "bot"
    limit: int
    window: timedelta = timedelta(minutes=1)

    @property
    def name(self) -> str:
        return f"order_rate_{self.scope}"

    def check(self, intent: OrderIntent, context: RiskContext) -> CheckResult:
        stamps = context.recent_submissions_symbol if self.scope == "symbol" else context.recent_submissions_bot
        since = context.now - self.window
        count = sum(1 for t in stamps if t > since)
        return _result(
            self.name,
            count < self.limit,
            f"{count} orders in the last {self.window} for this {self.scope} (limit {self.limit})",
            halt=True,
        )


@attrs.frozen
class RiskEngine:
    policies: tuple[RiskPolicy, ...]

    @classmethod
    def standard(cls, limits: RiskLimits) -> RiskEngine:
        return cls(
            policies=(
                TradingStateGate(),
                DailyLossGate(),
                OrderRateThrottle("symbol", limits.max_orders_per_symbol_per_minute),
                OrderRateThrottle("bot", limits.max_orders_per_bot_per_minute),
                OnePendingOrderPerSymbol(),
                FreshData(limits.max_data_age),
                MaxOrderQuantity(limits.max_order_quantity),
                MaxOrderNotional(limits.max_order_notional),
                PriceCollar(limits.price_collar_equity, limits.price_collar_crypto),
                BuyingPower(),
                GrossExposureCap(limits.max_gross_exposure),
            )
        )

    def evaluate(self, intent: OrderIntent, context: RiskContext) -> RiskDecision:
        results = tuple(policy.check(intent, context) for policy in self.policies)
        failed = [r for r in results if not r.passed]
        if not failed:
            return Approved(checks=results)
        # A halting failure wins over a plain denial: the runaway must stop.
        first = next((r for r in failed if r.halt), failed[0])
        return Denied(check=first.check, reason=first.detail, halt=first.halt, checks=results)
