"""A scripted scenario on the synthetic feed (RegimeSpell): regimes on demand, a crash that gaps."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from adapters.marketdata import Regime, RegimeSpell, SyntheticBarFeed, SyntheticPriceProcess
from domain.accounting.instrument import crypto

MINUTE = timedelta(minutes=1)
START = datetime(2025, 1, 6, tzinfo=timezone.utc)


def test_the_script_sets_the_regimes_and_the_gap_then_the_chain_carries_on() -> None:
    script = (RegimeSpell(regime=Regime.TRENDING_UP, bars=50), RegimeSpell(regime=Regime.CRASH, bars=30, gap_down=0.3))
    scripted = SyntheticPriceProcess(instrument=crypto("BTC-USD"), seed=3, script=script)
    bars, regimes = [], []
    for i in range(400):
        bars.append(scripted.next_bar(ts=START + i * MINUTE, interval=MINUTE))
        regimes.append(scripted.regime)

    assert regimes[:80] == [Regime.TRENDING_UP] * 50 + [Regime.CRASH] * 30
    assert len(set(regimes[80:])) > 1  # the Markov chain again (a crash lasts 15 bars on average)
    # The crash opens 30 % below the last close (give or take the bar-to-bar gap noise), and falls on.
    assert math.isclose(float(bars[50].open / bars[49].close), 0.7, rel_tol=0.01)
    assert bars[79].close < bars[50].open
    # Every other bar opens where the previous one closed, give or take that noise.
    assert all(abs(float(b.open / a.close) - 1) < 0.01 for a, b in zip(bars[:49], bars[1:50]))


def test_a_scripted_feed_is_deterministic_and_the_script_is_checked() -> None:
    def feed(script):
        return SyntheticBarFeed(instruments=[crypto("ETH-USD")], start=date(2025, 1, 6), trading_days=1,
                                interval=timedelta(minutes=15), seed=7, script=script)

    script = (RegimeSpell(regime="CRASH", bars=10, gap_down=0.5),)
    assert list(feed(script).bars()) == list(feed(script).bars())
    assert list(feed(script).bars()) != list(feed(()).bars())
    for bad in ({"bars": 0}, {"gap_down": 1.0}, {"gap_down": -0.1}, {"regime": "BOOM"}):
        with pytest.raises(ValueError):
            RegimeSpell(**{"regime": Regime.CRASH, "bars": 5, **bad})
