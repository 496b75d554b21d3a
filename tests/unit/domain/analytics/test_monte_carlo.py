"""Monte Carlo of trades: reproducible, ordered percentiles, what permutation keeps and what it changes."""

from __future__ import annotations

import numpy as np
import pytest

from domain.analytics.monte_carlo import MonteCarloResult, Resampling, simulate_trades

PNLS = np.array([120.0, -80.0, 45.0, -200.0, 310.0, -60.0, 15.0, 90.0, -140.0, 75.0] * 5)


def run(**overrides) -> MonteCarloResult:
    arguments = dict(initial_equity=10_000.0, n_sims=2_000, resampling="bootstrap", pnls=PNLS, seed=42)
    arguments.update(overrides)
    return simulate_trades(**arguments)


@pytest.mark.parametrize("resampling", ["permutation", "bootstrap"])
def test_the_same_seed_gives_the_same_numbers(resampling):
    first, second = run(resampling=resampling), run(resampling=resampling)
    np.testing.assert_array_equal(first.final_equity, second.final_equity)
    np.testing.assert_array_equal(first.max_drawdown, second.max_drawdown)
    assert first.final_equity_percentiles == second.final_equity_percentiles
    other = run(resampling=resampling, seed=43)
    assert not np.array_equal(first.max_drawdown, other.max_drawdown)
    # A Generator passed in is the same stream as its seed.
    given = run(resampling=resampling, seed=None, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(first.max_drawdown, given.max_drawdown)


@pytest.mark.parametrize("resampling", list(Resampling))
@pytest.mark.parametrize("trades", ["pnls", "returns"])
def test_percentiles_are_ordered_and_probabilities_are_shares(resampling, trades):
    given = {"pnls": PNLS} if trades == "pnls" else {"pnls": None, "returns": PNLS / 10_000}
    result = run(resampling=resampling, **given)
    for spread in (result.final_equity_percentiles, result.max_drawdown_percentiles):
        assert spread.p5 <= spread.p25 <= spread.p50 <= spread.p75 <= spread.p95
    assert result.n_sims == 2_000
    assert 0 <= result.probability_of_loss <= 1
    assert result.probability_of_loss == pytest.approx(np.mean(result.final_equity < 10_000))
    assert result.probability_of_drawdown_beyond == pytest.approx(result.probability_of_drawdown_over(0.2))
    assert np.all(result.max_drawdown >= 0)


def test_permutation_keeps_the_final_equity_and_moves_the_drawdown():
    additive = run(resampling="permutation")
    np.testing.assert_allclose(additive.final_equity, 10_000 + PNLS.sum())  # a sum ignores order
    assert additive.observed_final_equity == pytest.approx(10_000 + PNLS.sum())
    assert additive.max_drawdown.std() > 0
    equity = 10_000 + np.cumsum(PNLS)
    peaks = np.maximum.accumulate(np.concatenate([[10_000.0], equity]))[1:]
    assert additive.observed_max_drawdown == pytest.approx(((peaks - equity) / peaks).max())  # the order as traded
    compounded = run(resampling="permutation", pnls=None, returns=PNLS / 10_000)
    np.testing.assert_allclose(compounded.final_equity, 10_000 * np.prod(1 + PNLS / 10_000))  # so does a product
    assert compounded.max_drawdown.std() > 0


def test_bootstrap_moves_the_final_equity_and_may_draw_more_trades():
    result = run(resampling="bootstrap")
    assert result.final_equity.std() > 0
    assert result.final_equity_percentiles.p5 < 10_000 + PNLS.sum() < result.final_equity_percentiles.p95
    longer = run(resampling="bootstrap", n_trades=4 * len(PNLS))
    assert longer.final_equity.std() > result.final_equity.std()  # more trades, wider spread


def test_winners_only_never_lose_and_never_draw_down():
    result = run(pnls=np.array([10.0, 5.0, 1.0]))
    assert result.probability_of_loss == 0.0
    assert result.max_drawdown_percentiles.p95 == 0.0
    assert result.probability_of_drawdown_beyond == 0.0


def test_the_drawdown_is_measured_from_the_running_peak_including_the_start():
    result = run(resampling="permutation", pnls=np.array([-1_000.0]), n_sims=3)
    np.testing.assert_allclose(result.max_drawdown, 0.1)
    np.testing.assert_allclose(result.final_equity, 9_000.0)
    assert result.probability_of_loss == 1.0


def test_ten_thousand_paths_of_a_thousand_trades():
    # Sized as in use; timing belongs to benchmarks/, this checks the blocked simulation adds up.
    pnls = np.random.default_rng(0).normal(10, 100, 1_000)
    result = simulate_trades(initial_equity=100_000.0, n_sims=10_000, resampling="permutation", pnls=pnls, seed=1)
    assert result.final_equity.shape == result.max_drawdown.shape == (10_000,)
    np.testing.assert_allclose(result.final_equity, 100_000 + pnls.sum())
    assert len(np.unique(result.max_drawdown)) > 9_000  # every block got its own permutations


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (dict(returns=PNLS / 10_000), "exactly one of pnls"),
        (dict(pnls=None), "exactly one of pnls"),
        (dict(pnls=[]), "pnls must be a non-empty"),
        (dict(pnls=[1.0, float("nan")]), "pnls must all be finite"),
        (dict(pnls=None, returns=[0.1, -1.5]), "returns must be >= -1"),
        (dict(initial_equity=0.0), "initial_equity"),
        (dict(n_sims=0), "n_sims"),
        (dict(n_sims=True), "n_sims"),
        (dict(seed=None), "exactly one of seed or rng"),
        (dict(rng=np.random.default_rng(1)), "exactly one of seed or rng"),
        (dict(resampling="shuffle"), "shuffle"),
        (dict(resampling="permutation", n_trades=10), "n_trades"),
        (dict(n_trades=0), "n_trades"),
        (dict(drawdown_threshold=0), "drawdown_threshold"),
    ],
)
def test_bad_arguments_are_named(overrides, named):
    with pytest.raises(ValueError, match=named):
        run(**overrides)
