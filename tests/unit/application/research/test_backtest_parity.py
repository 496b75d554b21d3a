"""The fast engine is held to the event engine: on the same bars, the same strategy and the
same costs, both make the same fills (time, side, quantity, price, fee) and end with the same
equity. The event engine is the paper-trading path (PaperSession, risk engine with
permissive limits, simulated venue), so this is also "a backtest and a paper replay agree"."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import attrs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.marketdata.array_feed import bars_from_arrays
from adapters.marketdata.ohlcv_arrays import OhlcvArrays
from adapters.simulated import (
    MarketFill,
    NoCommission,
    PerNotional,
    PerShare,
    SimulatedBrokerConfig,
    build_simulated_broker,
)
from application.research.backtest import run_event_backtest
from application.trading.bot import BotSpec
from domain.accounting.instrument import AssetClass, Instrument
from domain.risk.risk import RiskLimits
from domain.risk.sizing import AllIn, FixedFraction
from domain.strategies.ma_crossover import MovingAverageCrossover
from entrypoints.backtest_engines import fast_backtest_eligible, run_fast_backtest
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.notifier import RecordingNotifier


def random_bars(seed: int, n: int, *, decimals: int) -> OhlcvArrays:
    rng = np.random.default_rng(seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), decimals)
    open_ = np.round(np.concatenate(([50.0], close[:-1])) * np.exp(rng.normal(0, 0.002, n)), decimals)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, n))), decimals)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, n))), decimals)
    high, low = np.maximum.reduce([high, open_, close]), np.minimum.reduce([low, open_, close])
    times = np.datetime64("2024-01-02T14:30", "ns") + np.arange(n) * np.timedelta64(60, "s")
    return OhlcvArrays(timestamps=times, open=open_, high=high, low=low, close=close,
                       volume=rng.integers(100, 10_000, n).astype(float))


def both(arrays: OhlcvArrays, *, fill: MarketFill, sizing: str, commission, slippage: int, strategy, crypto: bool):
    tick = Decimal(repr(arrays.price_tick()))
    instrument = Instrument(symbol="ABC", asset_class=AssetClass.CRYPTO if crypto else AssetClass.EQUITY,
                            tick_size=tick, lot_size=Decimal("0.001") if crypto else Decimal(1))
    config = SimulatedBrokerConfig(market_fill=fill, slippage_bps=Decimal(slippage), max_volume_share=None,
                                   equity_commission=commission, crypto_commission=commission)
    model = config.fill_model()
    if sizing == "all-in":
        sizer = AllIn(fill_price=lambda p, inst, side: model.taker_price(p, side=side, instrument=inst),
                      fee=lambda q, p: commission.commission(quantity=q, price=p, liquidity="taker"))
    else:
        sizer = FixedFraction(fraction=Decimal("0.5"))
    bot = BotSpec(name="bt", instruments={"ABC": instrument}, strategy=strategy, sizing=sizer,
                  capital=Decimal(10_000), limits=RiskLimits.permissive())
    ok, why = fast_backtest_eligible(bots=[bot], broker_config=config, risk_on=False, allocation=None)
    assert ok, why
    fast = run_fast_backtest(bot=bot, arrays=arrays, instrument=instrument, broker_config=config)
    broker = build_simulated_broker(config=config, instruments={"ABC": instrument})
    event = run_event_backtest(bots=[bot], bars=bars_from_arrays(arrays, symbol="ABC"), broker=broker, venue=broker,
                               uow_factory=InMemoryStore(), clock=FixedClock(datetime(2024, 1, 2, tzinfo=timezone.utc)),
                               notifier=RecordingNotifier(), account="bt",
                               size_at_open=fill is MarketFill.NEXT_OPEN)
    return fast, event


def rows(result):
    return [(f.ts, f.side, f.quantity) for f in result.fills]


def assert_same_fills(fast, event):
    """Times, sides and quantities exactly; prices and fees to float precision (the fast
    engine computes in float64, the event engine in Decimal)."""
    assert rows(fast) == rows(event)
    for a, b in zip(fast.fills, event.fills):
        assert abs(a.price - b.price) <= b.price * Decimal("1e-9"), (a, b)
        assert abs(a.fee - b.fee) <= Decimal("0.00001"), (a, b)
    # The cash adds up every fill's price and fee, each allowed to differ as above (float64 against
    # Decimal: a slipped price differs in its 8th decimal), so the equity allows their sum on top
    # of float precision. Seed 92 (31 fills of ~400 shares, prices with 6 decimals) differs by
    # 0.00008 on 7,336: one price step of 1e-8 per fill, more than 1e-8 of the equity alone.
    slack = sum((f.quantity * f.price * Decimal("1e-9") + Decimal("0.00001") for f in event.fills), Decimal(0))
    assert abs(fast.final_equity - event.final_equity) <= event.final_equity * Decimal("1e-8") + slack
    np.testing.assert_allclose(fast.equity, event.equity, rtol=1e-8, atol=float(slack))


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    fill=st.sampled_from(list(MarketFill)),
    sizing=st.sampled_from(["all-in", "fraction"]),
    costs=st.sampled_from(["none", "per-share", "bps"]),
    entry=st.sampled_from(["cross", "level"]),
    allow_short=st.booleans(),
    decimals=st.sampled_from([2, 6]),
)
def test_the_fast_engine_makes_the_event_engines_fills(seed, fill, sizing, costs, entry, allow_short, decimals):
    commission = {"none": NoCommission(), "bps": PerNotional(bps=Decimal(5)),
                  "per-share": PerShare(rate=Decimal("0.005"), minimum=Decimal(1), maximum_fraction=Decimal("0.01"))}[costs]
    slippage = 3 if sizing == "all-in" else 0  # fixed fraction with slippage runs in the event engine only
    strategy = MovingAverageCrossover(fast=3, slow=8, entry=entry, allow_short=allow_short)
    fast, event = both(random_bars(seed, 200, decimals=decimals), fill=fill, sizing=sizing, commission=commission,
                       slippage=slippage, strategy=strategy, crypto=False)
    assert len(fast.fills) > 4
    assert_same_fills(fast, event)
    assert len(fast.trades) == len(event.trades) and fast.open_positions == event.open_positions
    assert list(fast.exposure) == list(event.exposure)


def test_crypto_lots_agree_too():
    strategy = MovingAverageCrossover(fast=5, slow=20, entry="cross")
    fast, event = both(random_bars(7, 400, decimals=2), fill=MarketFill.NEXT_OPEN, sizing="all-in",
                       commission=PerNotional(bps=Decimal(60)), slippage=2, strategy=strategy, crypto=True)
    assert_same_fills(fast, event)
    assert len(fast.fills) > 4
    assert all(f.quantity % Decimal("0.001") == 0 for f in fast.fills)


def test_what_the_fast_engine_does_not_model_goes_to_the_event_engine():
    bot = BotSpec(name="bt", instruments={"ABC": Instrument(symbol="ABC", asset_class=AssetClass.EQUITY,
                                                            tick_size=Decimal("0.01"), lot_size=Decimal(1))},
                  strategy=MovingAverageCrossover(), sizing=AllIn(), capital=Decimal(1000))
    config = SimulatedBrokerConfig(max_volume_share=Decimal("0.1"))
    ok, why = fast_backtest_eligible(bots=[bot], broker_config=config, risk_on=True, allocation=None)
    assert not ok and "--risk on" in why and "volume cap" in why
    ok, why = fast_backtest_eligible(bots=[attrs.evolve(bot, sizing=FixedFraction(fraction=Decimal("0.5")))],
                                     broker_config=SimulatedBrokerConfig(max_volume_share=None, slippage_bps=Decimal(2)),
                                     risk_on=False, allocation=None)
    assert not ok and "fixed-fraction sizing with slippage" in why
