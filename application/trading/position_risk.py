"""Per-position risk in the cycle: stops moved after every bar (monitored here, with an exit
when one is hit, or resting at the venue) and portfolio heat on entries (the risk to the
stops, resized or denied)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from application.trading.bot_state import BotState
from application.trading.order_intent import PlannedIntent
from domain.accounting.market import Bar
from domain.accounting.position import Direction
from domain.orders.fill import Fill
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderType
from domain.risk.day_trades import day_trades
from domain.risk.portfolio_heat import HeatVerdict
from domain.risk.risk import CheckResult
from domain.risk.stops import StopLevel, stop_hit
from domain.strategy import Signal, Target


def move_stop(bot: BotState, bar: Bar) -> StopLevel | None:
    """Set or move the position's stop after this bar (only ever in its favour); None when
    the bot has no stop policy, the position is flat, or the policy's indicator has too few bars."""
    policy = bot.spec.stop
    if policy is None or not bot.spec.trades(bar.symbol):
        return None
    position = bot.portfolio.position(bar.symbol)
    if position.is_flat:
        bot.stops.pop(bar.symbol, None)
        return None
    direction = Direction.LONG if position.quantity > 0 else Direction.SHORT
    instrument = bot.spec.instruments[bar.symbol]
    window = bot.window(bar.symbol)
    current = bot.stops.get(bar.symbol)
    try:
        if current is None:
            level = policy.initial(direction=direction, entry_price=position.average_cost, window=window,
                                   instrument=instrument)
        else:
            level = policy.update(current=current, direction=direction, window=window, instrument=instrument)
    except ValueError:
        return None  # not enough bars for the policy's indicator yet
    bot.stops[bar.symbol] = level
    return level


def stop_exit(bot: BotState, bar: Bar) -> tuple[PlannedIntent, Signal] | None:
    """A stop monitored bar by bar: move it, and when this bar reached it, plan the exit at market.
    (Where the venue takes stop orders the stop rests there instead: application/trading/protective_stops.py.)"""
    level = move_stop(bot, bar)
    if level is None:
        return None
    position = bot.portfolio.position(bar.symbol)
    direction = Direction.LONG if position.quantity > 0 else Direction.SHORT
    if not stop_hit(level=level, direction=direction, bar=bar):
        return None
    intent = OrderIntent(
        account=bot.account, bot=bot.name, strategy=f"stop:{level.kind}", instrument=bot.spec.instruments[bar.symbol],
        side=OrderSide.SELL if direction is Direction.LONG else OrderSide.BUY, quantity=abs(position.quantity),
        order_type=OrderType.MARKET, signal_ts=bar.ts, reference_price=bar.close, reduces_risk=True,
    )
    signal = Signal(target=Target.FLAT, bar_ts=bar.ts, values={"stop": float(level.price)},
                    reason=f"{level.kind} stop {level.price} hit ({level.reason})")
    return PlannedIntent(intent=intent, sizing=f"close the whole position of {position.quantity}"), signal


def _stop_price(bot: BotState, symbol: str) -> Decimal:
    """The position's stop; one filled this bar has none yet: its initial stop from the
    average cost, or (no indicator yet) zero, i.e. the whole position at risk."""
    if symbol in bot.stops:
        return bot.stops[symbol].price
    policy = bot.spec.stop
    position = bot.portfolio.position(symbol)
    assert policy is not None
    try:
        return policy.initial(direction=Direction.LONG if position.quantity > 0 else Direction.SHORT,
                              entry_price=position.average_cost, window=bot.window(symbol),
                              instrument=bot.spec.instruments[symbol]).price
    except ValueError:
        return Decimal(0) if position.quantity > 0 else position.average_cost * 2


def heat_check(bot: BotState, intent: OrderIntent) -> tuple[OrderIntent, CheckResult | None]:
    """Portfolio heat for an entry: approved, resized down (the returned intent) or denied."""
    heat, policy = bot.spec.heat, bot.spec.stop
    if heat is None or policy is None or intent.reduces_risk:
        return intent, None
    direction = Direction.LONG if intent.side is OrderSide.BUY else Direction.SHORT
    try:
        stop = policy.initial(direction=direction, entry_price=intent.reference_price,
                              window=bot.window(intent.symbol), instrument=intent.instrument)
    except ValueError as exc:
        return intent, CheckResult(check="portfolio_heat", passed=False, detail=f"no stop yet, heat unknown: {exc}")
    marks = bot.mark_prices()
    held = [
        (p.quantity, marks.get(symbol, p.average_cost), _stop_price(bot, symbol))
        for symbol, p in bot.portfolio.positions.items()
        if not p.is_flat
    ]
    signed = intent.quantity if direction is Direction.LONG else -intent.quantity
    decision = heat.check(positions=held, equity=bot.portfolio.equity(marks), candidate_quantity=signed,
                          candidate_price=intent.reference_price, candidate_stop=stop.price,
                          lot_size=intent.instrument.lot_size)
    result = CheckResult(check="portfolio_heat", passed=decision.approved, detail=decision.reason)
    if decision.verdict is HeatVerdict.RESIZED:
        return attrs.evolve(intent, quantity=abs(Decimal(decision.quantity))), result
    return intent, result


def day_trade_check(bot: BotState, intent: OrderIntent, *, fills: Sequence[Fill], now: datetime) -> CheckResult | None:
    """The optional rolling day-trade counter over the bot's fills (None when it is off)."""
    rule = bot.spec.day_trades
    if rule is None or bot.spec.recent_sessions is None:
        return None
    trades = day_trades(fills, session_key=bot.spec.session_key)
    window = bot.spec.recent_sessions(now, rule.window_sessions)
    equity = bot.portfolio.equity(bot.mark_prices())
    return rule.check(trades=trades, window=window, equity=equity, reduces_risk=intent.reduces_risk)


def exposure_checks(bot: BotState, intent: OrderIntent) -> list[CheckResult]:
    """Correlated exposure and sector / asset-class exposure of an entry, with the holdings."""
    if intent.reduces_risk:
        return []
    marks = bot.mark_prices()
    held = {s: p.market_value(marks.get(s, p.average_cost)) for s, p in bot.portfolio.positions.items() if not p.is_flat}
    equity = bot.portfolio.equity(marks)
    results = []
    if bot.spec.correlation is not None:
        symbols = {*held, intent.symbol}
        closes = {s: bot.window(s).closes for s in symbols}
        times = {s: bot.window(s).times for s in symbols}  # BTC against SPY: compared at shared bar times
        results.append(bot.spec.correlation.check(candidate=intent.symbol, candidate_notional=intent.notional,
                                                  held={s: abs(v) for s, v in held.items()}, closes=closes,
                                                  equity=equity, times=times))
    if bot.spec.sectors is not None:
        classes = {s: bot.spec.instruments[s].asset_class for s in held if s in bot.spec.instruments}
        results.append(bot.spec.sectors.check(
            candidate=intent.symbol, candidate_asset_class=intent.instrument.asset_class,
            candidate_notional=intent.notional,
            held={s: (classes[s], abs(v)) for s, v in held.items() if s in classes}, equity=equity))
    return results
