"""The probation band and its state machine (domain/analytics/probation.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.analytics.probation import (
    LiveRecord,
    PaperRecord,
    ProbationBand,
    ProbationPolicy,
    Step,
    evaluate_band,
    next_step,
    probation_drawdown,
)

PAPER = PaperRecord(win_rate=0.55, max_drawdown=0.08, round_trips=20, source="paper epoch 1")
BAND = ProbationBand(win_rate_tolerance=0.10, drawdown_factor=1.5, max_slippage_bps=25, min_round_trips=3)
POLICY = ProbationPolicy(fraction=Decimal("0.1"), days=10, band=BAND)


def live(*, trips: int = 5, win_rate: float = 0.6, drawdown: float = 0.05, slippage: float | None = 4.0) -> LiveRecord:
    return LiveRecord(round_trips=trips, win_rate=win_rate, max_drawdown=drawdown, slippage_bps=slippage,
                      paired_fills=0 if slippage is None else trips)


def test_within_the_band_on_every_figure() -> None:
    verdict = evaluate_band(BAND, paper=PAPER, live=live())
    assert verdict.within and not verdict.breaches
    assert [c.name for c in verdict.checks] == ["win_rate", "slippage_bps", "max_drawdown"]


@pytest.mark.parametrize(("record", "breach"), [
    (live(win_rate=0.44), "win_rate"),  # below 55 % - 10 %
    (live(slippage=25.5), "slippage_bps"),
    (live(drawdown=0.121), "max_drawdown"),  # beyond 8 % x 1.5
])
def test_each_figure_out_of_the_band_is_a_breach(record: LiveRecord, breach: str) -> None:
    verdict = evaluate_band(BAND, paper=PAPER, live=record)
    assert [c.name for c in verdict.breaches] == [breach]
    assert breach in verdict.describe_breaches()


def test_the_edges_of_the_band_are_inside() -> None:
    verdict = evaluate_band(BAND, paper=PAPER, live=live(win_rate=0.45, slippage=25.0, drawdown=0.12))
    assert verdict.within, verdict.describe_breaches()


def test_a_win_rate_over_too_few_trips_and_no_pair_yet_are_not_judged() -> None:
    verdict = evaluate_band(BAND, paper=PAPER, live=live(trips=2, win_rate=0.0, slippage=None))
    rate, slip, _ = verdict.checks
    assert not rate.judged and not slip.judged and verdict.within


def test_a_paper_record_without_a_fall_still_allows_the_floor() -> None:
    flat = PaperRecord(win_rate=0.6, max_drawdown=0.0, round_trips=12, source="paper")
    assert evaluate_band(BAND, paper=flat, live=live(drawdown=0.019)).within
    assert not evaluate_band(BAND, paper=flat, live=live(drawdown=0.021)).within


def test_the_drawdown_is_measured_on_the_capital_at_risk() -> None:
    # A sleeve of 100 000 trading a tenth of its size falls 1 000: 10 % of what it had at risk.
    curve = [Decimal(v) for v in (100_000, 100_500, 99_500, 100_200)]
    assert probation_drawdown(curve, fraction=Decimal("0.1")) == pytest.approx(1_000 / 10_050)
    assert probation_drawdown(curve, fraction=Decimal("1")) == pytest.approx(1_000 / 100_500)
    assert probation_drawdown([], fraction=Decimal("0.1")) == 0.0


@pytest.mark.parametrize(("days", "record", "step"), [
    (3, live(), Step.CONTINUE),  # within, days to go
    (10, live(), Step.PROMOTE),  # within after the days
    (12, live(trips=2), Step.CONTINUE),  # too few trips to judge the win rate: extended
    (1, live(drawdown=0.5), Step.DEMOTE),  # a breach demotes at once, whatever the days
    (10, live(win_rate=0.1), Step.DEMOTE),
])
def test_the_state_machine(days: int, record: LiveRecord, step: Step) -> None:
    verdict = evaluate_band(BAND, paper=PAPER, live=record)
    decided = next_step(POLICY, verdict=verdict, trading_days=days, live=record)
    assert decided.step is step, decided.reason
    if step is Step.CONTINUE and record.round_trips < 3:
        assert "extended" in decided.reason


def test_bad_settings_are_refused_with_their_key() -> None:
    with pytest.raises(ValueError, match="probation_fraction"):
        ProbationPolicy(fraction=Decimal("1.5"))
    with pytest.raises(ValueError, match="probation_max_slippage_bps"):
        ProbationBand(max_slippage_bps=-1)
