"""The capital allocator: bounds, cool-down, the performance tilt, inverse volatility,
correlated sleeves capped as one bet, and returns with transfers taken out."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analytics.allocation import AllocationMethod, AllocationPolicy, SleeveHistory, annualised_sharpe
from domain.analytics.performance import drawdown_of_returns, flow_adjusted_daily_returns

NOW = datetime(2025, 6, 2, 21, 0, tzinfo=timezone.utc)


def sleeve(name, returns, *, weight="0.25", changed=None):
    return SleeveHistory(name=name, daily_returns=np.asarray(returns, dtype=float), weight=Decimal(weight),
                         last_change=changed)


def noise(seed, n=60, mean=0.0, vol=0.01):
    return np.random.default_rng(seed).normal(mean, vol, n)


def test_fixed_weights_are_normalised_and_need_no_history():
    policy = AllocationPolicy(weights={"a": Decimal(3), "b": Decimal(1)}, performance_tilt=0, max_weight=Decimal(1),
                              min_weight=Decimal(0))
    decision = policy.decide(sleeves=[sleeve("a", []), sleeve("b", [])], now=NOW)
    assert decision.weights == {"a": Decimal("0.75"), "b": Decimal("0.25")}
    assert decision.reasons["a"] == "fixed weight 3"


def test_inverse_volatility_gives_the_calmer_sleeve_more():
    policy = AllocationPolicy(method=AllocationMethod.INVERSE_VOLATILITY, performance_tilt=0, max_weight=Decimal(1),
                              min_weight=Decimal(0))
    calm, wild = noise(1, vol=0.01), noise(2, vol=0.03)
    decision = policy.decide(sleeves=[sleeve("calm", calm), sleeve("wild", wild)], now=NOW)
    v1, v2 = np.std(calm, ddof=1), np.std(wild, ddof=1)
    expected = (1 / v1) / (1 / v1 + 1 / v2)
    assert float(decision.weights["calm"]) == pytest.approx(expected, abs=2e-6)
    assert "1 / daily volatility" in decision.reasons["wild"]


def test_the_tilt_moves_capital_towards_the_better_sharpe_within_bounds():
    policy = AllocationPolicy(performance_tilt=0.5, min_weight=Decimal("0.2"), max_weight=Decimal("0.7"))
    good, bad = noise(3, mean=0.004), noise(4, mean=-0.004)
    decision = policy.decide(sleeves=[sleeve("good", good), sleeve("bad", bad)], now=NOW)
    s_good, s_bad = annualised_sharpe(good), annualised_sharpe(bad)
    raw_good, raw_bad = math.exp(0.5 * min(3, s_good)), math.exp(0.5 * max(-3, s_bad))
    unbounded = raw_good / (raw_good + raw_bad)
    assert float(decision.weights["good"]) == pytest.approx(min(0.7, max(0.3, unbounded)), abs=2e-6)
    assert decision.weights["good"] > decision.weights["bad"] >= Decimal("0.2")
    assert sum(decision.weights.values()) == 1
    assert "tilt x" in decision.reasons["good"]


def test_a_sleeve_in_its_cool_down_keeps_its_weight_and_the_others_share_the_rest():
    policy = AllocationPolicy(performance_tilt=1.0, cooldown=timedelta(days=10), min_weight=Decimal(0),
                              max_weight=Decimal(1))
    sleeves = [sleeve("held", noise(5, mean=0.01), weight="0.2", changed=NOW - timedelta(days=3)),
               sleeve("b", noise(6)), sleeve("c", noise(7))]
    decision = policy.decide(sleeves=sleeves, now=NOW)
    assert decision.weights["held"] == Decimal("0.2")
    assert "cool-down" in decision.reasons["held"]
    assert decision.weights["b"] + decision.weights["c"] == Decimal("0.8")
    after = policy.decide(sleeves=[sleeve("held", noise(5, mean=0.01), weight="0.2", changed=NOW - timedelta(days=11)),
                                   *sleeves[1:]], now=NOW)
    assert after.weights["held"] > Decimal("0.2")  # free again: the tilt favours it


def test_two_sleeves_that_are_the_same_bet_are_capped_together_and_warned_about():
    base = noise(8, vol=0.02)
    twin = base + noise(9, vol=0.001)
    policy = AllocationPolicy(performance_tilt=0, max_weight=Decimal("0.5"), min_weight=Decimal("0.05"),
                              correlation_threshold=0.8)
    decision = policy.decide(sleeves=[sleeve("a", base), sleeve("a2", twin), sleeve("other", noise(10)),
                                      sleeve("more", noise(11))], now=NOW)
    assert decision.weights["a"] + decision.weights["a2"] <= Decimal("0.5")
    assert decision.weights["a"] <= Decimal("0.25")
    [warning] = decision.warnings
    assert "a and a2 are the same bet" in warning and "return correlation 1.00 >= 0.80" in warning
    assert decision.correlations[("a", "a2")] > 0.99


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 6),
    seed=st.integers(0, 10_000),
    tilt=st.floats(0, 3),
    low=st.sampled_from(["0", "0.02", "0.05", "0.1"]),
    high=st.sampled_from(["0.5", "0.6", "0.8", "1"]),
    frozen=st.integers(0, 2),
    method=st.sampled_from(list(AllocationMethod)),
)
def test_weights_stay_within_bounds_sum_to_one_and_respect_the_cool_down(n, seed, tilt, low, high, frozen, method):
    rng = np.random.default_rng(seed)
    policy = AllocationPolicy(method=method, performance_tilt=tilt, min_weight=Decimal(low), max_weight=Decimal(high),
                              correlation_threshold=0.95)
    sleeves = []
    for i in range(n):
        length = int(rng.integers(0, 80))
        returns = rng.normal(rng.normal(0, 0.003), rng.uniform(0.001, 0.05), length)
        changed = NOW - timedelta(days=2) if i < min(frozen, n - 1) else None
        sleeves.append(sleeve(f"s{i}", returns, weight=str(Decimal(1) / (n * 2) if changed else "0"), changed=changed))
    decision = policy.decide(sleeves=sleeves, now=NOW)
    weights = decision.weights
    assert abs(sum(weights.values()) - 1) <= Decimal("0.00001")
    for s in sleeves:
        if s.last_change is not None:
            assert weights[s.name] == s.weight  # held through its cool-down
    free = [s.name for s in sleeves if s.last_change is None]
    feasible = len(free) * float(high) >= 1 - sum(float(s.weight) for s in sleeves if s.last_change) and not decision.warnings
    for name in free:
        assert weights[name] >= 0
        if feasible:
            assert Decimal(low) - Decimal("0.000002") <= weights[name] <= Decimal(high) + Decimal("0.000002")


def test_bad_policy_values_name_the_setting():
    with pytest.raises(ValueError, match="min_weight 0.7 is above max_weight 0.5"):
        AllocationPolicy(min_weight=Decimal("0.7"), max_weight=Decimal("0.5"))
    with pytest.raises(ValueError, match="weights.x must be positive"):
        AllocationPolicy(weights={"x": Decimal(0)})
    with pytest.raises(ValueError, match="performance_tilt"):
        AllocationPolicy(performance_tilt=-1)


def day(d, hour=21):
    return datetime(2025, 3, d, hour, tzinfo=timezone.utc)


def test_transfers_are_taken_out_of_returns():
    # 100 -> 110 (+10 %), then 5,000 moved in and the day closes at 5,115: only +5 was earned.
    points = [(day(3), Decimal(100)), (day(4, 15), Decimal(105)), (day(4), Decimal(110)), (day(5), Decimal(5115))]
    flows = [(day(5, 12), Decimal(5000))]
    returns = flow_adjusted_daily_returns(points, flows)
    assert returns == pytest.approx([0.10, 5 / 110])
    assert drawdown_of_returns(np.asarray([0.1, -0.5, 0.2])) == pytest.approx(0.5)
    assert len(flow_adjusted_daily_returns(points[:1], [])) == 0
