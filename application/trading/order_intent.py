"""From a strategy's target to an order intent: which side, how much, and why."""

from __future__ import annotations

from decimal import Decimal

import attrs

from application.trading.bot_state import BotState
from domain.accounting.instrument import Instrument
from domain.accounting.market import Bar
from domain.numbers import ZERO
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderType
from domain.risk.position_sizing import FractionalKelly, VolatilitySizing
from domain.risk.sizing import AllIn, SizingResult
from domain.risk.volatility import atr
from domain.strategy import Signal, Target


@attrs.frozen(kw_only=True)
class PlannedIntent:
    intent: OrderIntent
    sizing: str  # the arithmetic, for the audit trail


def size_entry(bot: BotState, *, instrument: Instrument, price: Decimal, side: OrderSide = OrderSide.BUY) -> SizingResult:
    """The bot's sizing model, fed what it needs: ATR for volatility, recent trips for Kelly."""
    sizing = bot.spec.sizing
    equity = bot.equity()
    if isinstance(sizing, VolatilitySizing):
        window = bot.window(instrument.symbol)
        value = atr(window.highs, window.lows, window.closes, bot.spec.atr_period)
        return sizing.size(instrument=instrument, equity=equity, price=price, atr=value)
    if isinstance(sizing, FractionalKelly):
        return sizing.size(instrument=instrument, equity=equity, price=price, trips=bot.recent_trips)
    if isinstance(sizing, AllIn):
        held = bot.portfolio.position(instrument.symbol).quantity
        return sizing.size(instrument=instrument, cash=bot.portfolio.cash, held=held, price=price, side=side)
    return sizing.size(instrument=instrument, equity=equity, price=price)


def plan_intent(bot: BotState, *, signal: Signal, bar: Bar, price: Decimal | None = None) -> PlannedIntent | None:
    """None when the position already matches the target (or sizing gives nothing).
    Sized at `price` (default the bar's close: the last price the decision saw)."""
    instrument = bot.spec.instruments[bar.symbol]
    held = bot.portfolio.position(bar.symbol).quantity
    price = bar.close if price is None else price

    def entry_size(side: OrderSide) -> tuple[Decimal, str]:
        result = size_entry(bot, instrument=instrument, price=price, side=side)
        return result.quantity, result.arithmetic

    if signal.target is Target.LONG and held <= 0:
        size, arithmetic = entry_size(OrderSide.BUY)
        side, quantity = OrderSide.BUY, size - held  # covers a short, then goes long
        reduces = size == 0
    elif signal.target is Target.SHORT and held >= 0:
        size, arithmetic = entry_size(OrderSide.SELL)
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
