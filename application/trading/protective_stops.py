"""Stops resting at the venue as stop orders (where the venue takes them).

A resting stop fills inside the bar that reaches it, at the venue's price, even while
the bot is slow or down; a stop monitored bar by bar can only exit at market after the
bar has closed. The level is the same either way (domain/risk/stops.py, moved only in the
position's favour); this module decides what the venue must hold for it:

- one protective stop per open position, for the whole quantity, at the current level;
- when the level moves or the quantity changes: cancel, then place the new one
  (placed only once the old is confirmed gone, so two stops can never both fill);
- while an entry of the bot still works on the symbol (filling in parts, or not yet
  filled), the part already held is protected all the same: the stop is for what is
  held now and is resized as the entry fills. Only an order on the stop's own side (an
  exit, or a flip still covering) makes the stop wait, so the two can never both fill
  past flat: it follows the position that order leaves behind;
- flat: no stop.

Protective orders go through the same risk engine as every order. They reduce risk,
so the halting and daily-loss gates treat them as exits; the price collar and the
one-pending-order rule exempt them (they sit away from the market by design and must
not block the strategy's own exit, which cancels them first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import attrs

from application.trading.bot_state import BotState
from application.trading.order_intent import PlannedIntent
from domain.accounting.market import Bar
from domain.orders.intent import OrderIntent
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from domain.strategy import Signal, Target

PROTECTIVE = "protective_stop"  # the strategy name of resting stop orders (".2", ".3" when re-placed on one bar)


def is_protective(order: Order) -> bool:
    return order.strategy == PROTECTIVE or order.strategy.startswith(PROTECTIVE + ".")


@attrs.frozen(kw_only=True)
class StopWork:
    """What the venue must do for one symbol's resting stop, in this order."""

    cancel: tuple[str, ...] = ()  # protective orders to cancel (moved, resized, or no position)
    place: tuple[PlannedIntent, Signal] | None = None  # placed only when nothing protective is left open

    @property
    def idle(self) -> bool:
        return not self.cancel and self.place is None


def plan_resting_stop(bot: BotState, bar: Bar, *, working: Sequence[Order], taken: Callable[[str], bool]) -> StopWork:
    """Compare the stop the position needs with the bot's open orders on the symbol.

    `working` are the bot's open orders on the bar's symbol; `taken(client_order_id)` says
    whether an id is in the store already (a stop re-placed on the same bar needs a new id).
    """
    symbol = bar.symbol
    protective = [o for o in working if is_protective(o)]
    others = [o for o in working if not is_protective(o)]
    position = bot.portfolio.position(symbol)
    level = bot.stops.get(symbol)
    live = [o for o in protective if o.status is not OrderStatus.PENDING_CANCEL]
    if position.is_flat:
        return StopWork(cancel=tuple(o.client_order_id for o in live))
    side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
    if any(o.side is side for o in others) or level is None:
        return StopWork()  # an exit is closing the position, or no level yet: keep what rests
    quantity = abs(position.quantity)
    keep = [o for o in live if o.side is side and o.stop_price == level.price and o.remaining_quantity == quantity]
    if len(keep) == 1 and len(protective) == 1:
        return StopWork()
    stale = tuple(o.client_order_id for o in live if o not in keep[:1])
    if stale or len(protective) > len(live) or keep:
        return StopWork(cancel=stale)  # the new stop goes on once the old ones are gone
    intent = _protective_intent(bot, bar, side=side, quantity=quantity, stop_price=level.price, taken=taken)
    signal = Signal(target=Target.FLAT, bar_ts=bar.ts, values={"stop": float(level.price)},
                    reason=f"resting {level.kind} stop at {level.price} ({level.reason})")
    sizing = f"protect the whole position of {position.quantity}"
    return StopWork(place=(PlannedIntent(intent=intent, sizing=sizing), signal))


def _protective_intent(
    bot: BotState, bar: Bar, *, side: OrderSide, quantity: Decimal, stop_price: Decimal, taken: Callable[[str], bool]
) -> OrderIntent:
    instrument = bot.spec.instruments[bar.symbol]
    attempt = 1
    while True:
        # Deterministic ids: the same bar and the same store state give the same id, so a
        # repeated cycle (or a restart) finds the stop it placed instead of placing another.
        name = PROTECTIVE if attempt == 1 else f"{PROTECTIVE}.{attempt}"
        intent = OrderIntent(
            account=bot.account, bot=bot.name, strategy=name, instrument=instrument, side=side,
            quantity=quantity, order_type=OrderType.STOP, signal_ts=bar.ts, reference_price=bar.close,
            reduces_risk=True, protective=True, stop_price=stop_price,
        )
        if not taken(intent.client_order_id):
            return intent
        attempt += 1
