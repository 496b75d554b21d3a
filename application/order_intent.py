"""From a strategy's target to an order intent: which side, how much, and why."""

from __future__ import annotations

from decimal import Decimal

import attrs

from application.bot_state import BotState
from domain.intent import OrderIntent
from domain.market import Bar
from domain.numbers import ZERO
from domain.order import OrderSide, OrderType
from domain.strategy import Signal, Target


@attrs.frozen(kw_only=True)
class PlannedIntent:
    intent: OrderIntent
    sizing: str  # the arithmetic, for the audit trail


def plan_intent(bot: BotState, *, signal: Signal, bar: Bar) -> PlannedIntent | None:
    """None when the position already matches the target (or sizing gives nothing)."""
    instrument = bot.spec.instruments[bar.symbol]
    held = bot.portfolio.position(bar.symbol).quantity
    price = bar.close

    def entry_size() -> tuple[Decimal, str]:
        result = bot.spec.sizing.size(instrument=instrument, equity=bot.equity(), price=price)
        return result.quantity, result.arithmetic

    if signal.target is Target.LONG and held <= 0:
        size, arithmetic = entry_size()
        side, quantity = OrderSide.BUY, size - held  # covers a short, then goes long
        reduces = size == 0
    elif signal.target is Target.SHORT and held >= 0:
        size, arithmetic = entry_size()
        side, quantity = OrderSide.SELL, size + held
        reduces = size == 0
    elif signal.target is Target.FLAT and held != 0:
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        quantity, arithmetic, reduces = abs(held), f"close the whole position of {held}", True
    else:
        return None
    if quantity <= ZERO:
        return None
    intent = OrderIntent(
        account=bot.account,
        bot=bot.name,
        strategy=bot.spec.strategy.name,
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        signal_ts=signal.bar_ts,
        reference_price=price,
        reduces_risk=reduces,
    )
    return PlannedIntent(intent=intent, sizing=arithmetic)
