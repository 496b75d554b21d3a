"""Choosing and running the fast engine (adapters/fast_backtest) for a backtest.

The fast engine models a subset of the event engine exactly (a parity test holds it
there): one symbol, a strategy with vectorised targets, market orders at the next open
or this close, all-in or fixed-fraction sizing, slippage and commission, no volume cap,
no stops, no risk engine. Anything else goes to the event engine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np

from adapters.fast_backtest.engine import Commission, FastBacktestConfig, FeeKind, FillAt, Sizing, run_strategy
from adapters.marketdata.array_feed import bar_interval
from adapters.marketdata.ohlcv_arrays import OhlcvArrays
from adapters.simulated import MakerTaker, MarketFill, NoCommission, PerNotional, PerShare, SimulatedBrokerConfig
from application.research.backtest import BacktestResult, FillRow, TradeRow
from application.trading.bot import BotSpec
from domain.accounting.instrument import Instrument
from domain.risk.sizing import AllIn, FixedFraction


def fast_backtest_eligible(*, bots: Sequence[BotSpec], broker_config: SimulatedBrokerConfig, risk_on: bool,
                           allocation: object) -> tuple[bool, str]:
    """(True, "") or (False, why not)."""
    if len(bots) != 1:
        return False, f"{len(bots)} bots: the fast engine runs one strategy"
    bot = bots[0]
    reasons = []
    if len(bot.instruments) != 1:
        reasons.append(f"{len(bot.instruments)} symbols (it takes one)")
    if not callable(getattr(bot.strategy, "targets", None)):
        reasons.append(f"strategy {bot.strategy.name} has no vectorised targets()")
    if risk_on:
        reasons.append("--risk on (the risk engine runs in the event engine only)")
    if bot.stop is not None:
        reasons.append("stops")
    if allocation is not None:
        reasons.append("capital allocation")
    if broker_config.impact_coefficient:
        reasons.append("square-root market impact")
    if broker_config.max_volume_share is not None:
        reasons.append("a volume cap (partial fills)")
    if not isinstance(bot.sizing, (AllIn, FixedFraction)):
        reasons.append(f"{type(bot.sizing).__name__} sizing")
    if isinstance(bot.sizing, FixedFraction) and broker_config.slippage_bps > 0:
        # The event engine sizes a fraction of the equity at the open, the kernel at the slipped price.
        reasons.append("fixed-fraction sizing with slippage")
    return (not reasons, "; ".join(reasons))


def run_fast_backtest(*, bot: BotSpec, arrays: OhlcvArrays, instrument: Instrument,
                      broker_config: SimulatedBrokerConfig) -> BacktestResult:
    """The fast engine's run, in the event engine's result shape (same stamps, same rows)."""
    fill_at = FillAt.NEXT_OPEN if broker_config.market_fill is MarketFill.NEXT_OPEN else FillAt.THIS_CLOSE
    config = FastBacktestConfig(
        cash=float(bot.capital), fill_at=fill_at,
        sizing=Sizing.ALL_IN if isinstance(bot.sizing, AllIn) else Sizing.FRACTION,
        fraction=float(bot.sizing.fraction) if isinstance(bot.sizing, FixedFraction) else 1.0,
        lot=float(instrument.lot_size), tick=float(instrument.tick_size),
        slippage_bps=float(broker_config.slippage_bps), commission=_commission(broker_config.equity_commission),
        allow_short=bool(getattr(bot.strategy, "allow_short", False)),
    )
    started = time.perf_counter()
    run = run_strategy(bot.strategy, open=arrays.open, high=arrays.high, low=arrays.low,  # type: ignore[arg-type]
                       close=arrays.close, volume=arrays.volume, config=config)
    elapsed = time.perf_counter() - started
    interval = np.timedelta64(int(bar_interval(arrays).total_seconds() * 1e9), "ns")
    starts = arrays.timestamps
    ends = starts + interval
    # Stamped as the event engine stamps them: a next-open fill at its bar's start, a close fill at its end.
    fill_times = starts if fill_at is FillAt.NEXT_OPEN else ends
    fills = tuple(
        FillRow(ts=_utc(fill_times[f["bar"]]), symbol=instrument.symbol, side="buy" if f["side"] > 0 else "sell",
                quantity=_dec(f["quantity"]), price=_dec(f["price"]), fee=_dec(f["fee"]))
        for f in run.fills)
    closed = run.round_trips[run.round_trips["exit_bar"] >= 0]
    trades = tuple(
        TradeRow(bot=bot.name, symbol=instrument.symbol, side="long" if t["side"] > 0 else "short",
                 quantity=_dec(t["quantity"]), entry_time=_utc(fill_times[t["entry_bar"]]),
                 exit_time=_utc(fill_times[t["exit_bar"]]), entry_price=_dec(t["entry_price"]),
                 exit_price=_dec(t["exit_price"]), pnl=_dec(t["pnl"]))
        for t in closed)
    change = np.zeros(len(arrays) + 1)
    np.add.at(change, run.fills["bar"] + (0 if fill_at is FillAt.NEXT_OPEN else 1),
              np.where(run.fills["side"] > 0, run.fills["quantity"], -run.fills["quantity"]))
    held = np.abs(np.cumsum(change)[:-1]) > 0
    return BacktestResult(
        engine="fast", bars=len(arrays), orders=len(run.fills), orders_denied=0, fills=fills, trades=trades,
        open_positions=int(run.position != 0), initial_equity=bot.capital, final_equity=_dec(run.final_equity),
        equity_times=ends.astype("datetime64[ns]"), equity=run.equity, exposure=held, elapsed_s=elapsed,
    )


def _commission(model: object) -> Commission:
    match model:
        case NoCommission():
            return Commission(kind=FeeKind.NONE)
        case PerShare(rate=rate, minimum=minimum, maximum_fraction=cap):
            return Commission(kind=FeeKind.PER_SHARE, rate=float(rate), minimum=float(minimum),
                              max_fraction=float(cap or 0))
        case PerNotional(bps=bps):
            return Commission(kind=FeeKind.PER_NOTIONAL, rate=float(bps))
        case MakerTaker(taker_bps=taker):
            return Commission(kind=FeeKind.PER_NOTIONAL, rate=float(taker))  # market orders take
    raise ValueError(f"the fast engine has no commission model for {model!r}")


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.00000001"))


def _utc(stamp: np.datetime64) -> datetime:
    return stamp.astype("datetime64[us]").item().replace(tzinfo=timezone.utc)
