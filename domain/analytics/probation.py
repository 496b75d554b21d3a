"""The probation band: what a bot's paper record predicts its first live days should look like.

A bot newly live trades a fraction of its size (domain/risk/probation_cap.py) for a number of
trading days. Each evaluation compares its live record with the band its paper epoch predicts:

- win rate: at least the paper win rate minus `win_rate_tolerance` (judged once the live record
  has `min_round_trips` round trips: two trades say nothing about a rate);
- slippage: the mean adverse difference between the live fills and the shadow bot's simulated
  fills of the same intents at most `max_slippage_bps` (judged once a pair exists);
- drawdown: the live drawdown, measured on the capital at risk (the probation fraction of the
  sleeve), at most the paper max drawdown times `drawdown_factor` (never below `drawdown_floor`,
  so a paper record without a fall does not make any live fall a breach).

Out of the band at any evaluation: demote. Within it after `days` trading days and with enough
round trips to judge the win rate: promote. Otherwise the probation goes on.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from decimal import Decimal

import attrs

from domain.numbers import ZERO


def _fraction(_i: object, a: attrs.Attribute, value: Decimal) -> None:
    if not (value.is_finite() and ZERO < value <= 1):
        raise ValueError(f"golive.probation_{a.name} must be in (0, 1], got {value}")


def _non_negative(_i: object, a: attrs.Attribute, value: float | int) -> None:
    if not value >= 0:
        raise ValueError(f"golive.probation_{a.name} must be >= 0, got {value}")


@attrs.frozen(kw_only=True)
class ProbationBand:
    win_rate_tolerance: float = attrs.field(default=0.10, validator=_non_negative)
    drawdown_factor: float = attrs.field(default=1.5, validator=_non_negative)
    drawdown_floor: float = attrs.field(default=0.02, validator=_non_negative)
    max_slippage_bps: float = attrs.field(default=25.0, validator=_non_negative)
    min_round_trips: int = attrs.field(default=3, validator=_non_negative)


@attrs.frozen(kw_only=True)
class ProbationPolicy:
    fraction: Decimal = attrs.field(default=Decimal("0.10"), validator=_fraction)
    days: int = attrs.field(default=10, validator=_non_negative)
    band: ProbationBand = attrs.field(factory=ProbationBand)


@attrs.frozen(kw_only=True)
class PaperRecord:
    """What the paper epoch showed (or, without one, what the certificate required)."""

    win_rate: float
    max_drawdown: float
    round_trips: int
    source: str  # "paper epoch 3 on paper since 2026-10-01" | "go-live criteria"


@attrs.frozen(kw_only=True)
class LiveRecord:
    round_trips: int
    win_rate: float
    max_drawdown: float  # on the capital at risk (probation_drawdown)
    slippage_bps: float | None  # mean adverse live-vs-shadow fill difference; None: no pair yet
    paired_fills: int = 0


@attrs.frozen(kw_only=True)
class BandCheck:
    name: str  # "win_rate", "slippage_bps", "max_drawdown"
    requirement: str
    value: float | None
    judged: bool  # False: not enough live record yet to say (never a breach)
    within: bool

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "requirement": self.requirement,
                "value": None if self.value is None else round(self.value, 6), "judged": self.judged,
                "within": self.within}


@attrs.frozen(kw_only=True)
class BandVerdict:
    checks: tuple[BandCheck, ...]

    @property
    def breaches(self) -> tuple[BandCheck, ...]:
        return tuple(c for c in self.checks if c.judged and not c.within)

    @property
    def within(self) -> bool:
        return not self.breaches

    def describe_breaches(self) -> str:
        return "; ".join(f"{c.name} {_figure(c)} outside the band ({c.requirement})" for c in self.breaches)


def _figure(check: BandCheck) -> str:
    if check.value is None:
        return "n/a"
    return f"{check.value:.1f} bps" if check.name == "slippage_bps" else f"{check.value:.2%}"


def evaluate_band(band: ProbationBand, *, paper: PaperRecord, live: LiveRecord) -> BandVerdict:
    floor_rate = paper.win_rate - band.win_rate_tolerance
    rate_judged = live.round_trips >= max(band.min_round_trips, 1)
    drawdown_limit = max(paper.max_drawdown * band.drawdown_factor, band.drawdown_floor)
    slip_judged = live.slippage_bps is not None
    return BandVerdict(checks=(
        BandCheck(name="win_rate", requirement=f">= {floor_rate:.2%} (paper {paper.win_rate:.2%} - "
                                               f"{band.win_rate_tolerance:.2%}) over >= {band.min_round_trips} trips",
                  value=live.win_rate if rate_judged else None, judged=rate_judged,
                  within=not rate_judged or live.win_rate >= floor_rate - 1e-12),
        BandCheck(name="slippage_bps", requirement=f"<= {band.max_slippage_bps:g} bps against the shadow's fills",
                  value=live.slippage_bps, judged=slip_judged,
                  within=not slip_judged or (live.slippage_bps or 0.0) <= band.max_slippage_bps + 1e-12),
        BandCheck(name="max_drawdown", requirement=f"<= {drawdown_limit:.2%} (paper {paper.max_drawdown:.2%} x "
                                                   f"{band.drawdown_factor:g})",
                  value=live.max_drawdown, judged=True, within=live.max_drawdown <= drawdown_limit + 1e-12),
    ))


def probation_drawdown(equity: Sequence[Decimal], *, fraction: Decimal) -> float:
    """The largest fall from a running peak as a share of the capital at risk (fraction x peak):
    a sleeve trading a tenth of its size falls a tenth as far, and is judged as if at full size."""
    if not equity or fraction <= 0:
        return 0.0
    peak = equity[0]
    worst = ZERO
    for value in equity:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / (peak * fraction))
    return float(worst)


class Step(enum.Enum):
    CONTINUE = "continue"
    PROMOTE = "promote"
    DEMOTE = "demote"


@attrs.frozen(kw_only=True)
class ProbationStep:
    step: Step
    reason: str


def next_step(policy: ProbationPolicy, *, verdict: BandVerdict, trading_days: int, live: LiveRecord) -> ProbationStep:
    """The probation's state machine for one evaluation (trading_days: sessions since it started)."""
    if not verdict.within:
        return ProbationStep(step=Step.DEMOTE, reason=verdict.describe_breaches())
    if trading_days < policy.days:
        return ProbationStep(step=Step.CONTINUE,
                             reason=f"within the band; {trading_days} of {policy.days} trading days")
    if live.round_trips < policy.band.min_round_trips:
        return ProbationStep(step=Step.CONTINUE,
                             reason=f"{trading_days} trading days, but only {live.round_trips} of "
                                    f"{policy.band.min_round_trips} round trips to judge the win rate: extended")
    return ProbationStep(step=Step.PROMOTE,
                         reason=f"within the band for {trading_days} trading days ({live.round_trips} round trips)")
