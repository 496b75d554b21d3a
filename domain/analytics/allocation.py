"""Capital allocation across strategy sleeves (the bots of one account).

An allocation is a weight per sleeve, a fraction of the account's capital, decided from
what each sleeve has done, within bounds:

1. base weights: fixed (the configured weights, normalised) or equal risk (inverse
   volatility of each sleeve's daily returns);
2. a performance tilt: each base weight times exp(tilt x Sharpe), Sharpe clipped to
   [-3, 3] so one lucky month cannot take everything; sleeves with too little history
   keep their base weight;
3. correlation: two sleeves whose returns correlate above the threshold are the same
   bet, so together they may hold no more than one sleeve's maximum (each member's
   maximum is divided by the size of its correlated group), and a warning names them;
4. cool-down: a sleeve whose weight changed less than `cooldown` ago keeps it; the
   others share what is left;
5. bounds: every weight within [min_weight, max_weight] (after the correlation cap),
   summing to 1, found by scaling the raw weights and clipping (a monotone search).

Pure: returns are handed in (the application removes capital transfers from them),
and the decision is a value with the reason for every weight.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import attrs
import numpy as np

_PLACES = Decimal("0.000001")
_SHARPE_CLIP = 3.0
_TRADING_DAYS = 252


class AllocationMethod(enum.Enum):
    FIXED = "fixed"
    INVERSE_VOLATILITY = "inverse_volatility"


@attrs.frozen(kw_only=True)
class SleeveHistory:
    """What the allocator knows about one sleeve."""

    name: str
    daily_returns: np.ndarray = attrs.field(eq=False)  # capital transfers already taken out
    weight: Decimal  # its weight now
    last_change: datetime | None  # when its weight last changed (None: never allocated)


@attrs.frozen(kw_only=True)
class AllocationDecision:
    weights: Mapping[str, Decimal]  # sums to 1
    reasons: Mapping[str, str]
    warnings: tuple[str, ...]
    correlations: Mapping[tuple[str, str], float]  # sleeve pairs with enough common history

    def changed(self, name: str, previous: Decimal) -> bool:
        return self.weights[name] != previous


def _fraction(value: Decimal, *, what: str, allow_zero: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0 or (value == 0 and not allow_zero) or value > 1:
        raise ValueError(f"{what} must be a fraction in {'[0' if allow_zero else '(0'}, 1], got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class AllocationPolicy:
    method: AllocationMethod = AllocationMethod.FIXED
    weights: Mapping[str, Decimal] = attrs.field(factory=dict)  # fixed weights; missing sleeves get 1 share
    performance_tilt: float = 0.5  # 0 = no tilt towards what works
    min_weight: Decimal = Decimal("0.05")
    max_weight: Decimal = Decimal("0.6")
    cooldown: timedelta = timedelta(days=10)
    min_history: int = 10  # daily returns needed before volatility, Sharpe and correlation count
    lookback: int = 60  # daily returns looked at
    correlation_threshold: float = 0.8

    def __attrs_post_init__(self) -> None:
        _fraction(self.min_weight, what="min_weight", allow_zero=True)
        _fraction(self.max_weight, what="max_weight")
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} is above max_weight {self.max_weight}")
        for name, weight in self.weights.items():
            if not isinstance(weight, Decimal) or not weight.is_finite() or weight <= 0:
                raise ValueError(f"weights.{name} must be positive, got {weight!r}")
        if not (math.isfinite(self.performance_tilt) and 0 <= self.performance_tilt <= 5):
            raise ValueError(f"performance_tilt must be in [0, 5], got {self.performance_tilt}")
        if self.cooldown < timedelta(0):
            raise ValueError(f"cooldown must not be negative, got {self.cooldown}")
        if self.min_history < 2 or self.lookback < self.min_history:
            raise ValueError(f"need 2 <= min_history ({self.min_history}) <= lookback ({self.lookback})")
        if not -1 < self.correlation_threshold <= 1:
            raise ValueError(f"correlation_threshold must be in (-1, 1], got {self.correlation_threshold}")

    def decide(self, *, sleeves: Sequence[SleeveHistory], now: datetime) -> AllocationDecision:
        if not sleeves:
            raise ValueError("no sleeves to allocate")
        names = [s.name for s in sleeves]
        if len(set(names)) != len(names):
            raise ValueError(f"sleeve names must be unique, got {names}")
        recent = {s.name: np.asarray(s.daily_returns, dtype=float)[-self.lookback:] for s in sleeves}
        enough = {n: len(r) >= self.min_history and bool(np.all(np.isfinite(r))) for n, r in recent.items()}
        raw, reasons = self._base(sleeves, recent, enough)
        if self.performance_tilt > 0:
            for name in names:
                if enough[name]:
                    sharpe = annualised_sharpe(recent[name])
                    factor = math.exp(self.performance_tilt * max(-_SHARPE_CLIP, min(_SHARPE_CLIP, sharpe)))
                    raw[name] *= factor
                    reasons[name] += f"; tilt x{factor:.3f} for Sharpe {sharpe:.2f}"
        correlations = self._correlations(names, recent, enough)
        groups = _correlated_groups(names, correlations, self.correlation_threshold)
        warnings = tuple(
            f"strategies {a} and {b} are the same bet: return correlation {c:.2f} >= {self.correlation_threshold:.2f}; "
            f"together capped at {self.max_weight}"
            for (a, b), c in sorted(correlations.items()) if c >= self.correlation_threshold
        )
        high = {n: float(self.max_weight) / len(groups[n]) for n in names}
        low = {n: min(float(self.min_weight), high[n]) for n in names}
        frozen = {s.name: s.weight for s in sleeves
                  if s.last_change is not None and now - s.last_change < self.cooldown}
        free = [n for n in names if n not in frozen]
        left = 1.0 - float(sum(frozen.values(), Decimal(0)))
        solved = _bounded({n: raw[n] for n in free}, low=low, high=high, total=max(left, 0.0)) if free else {}
        weights = {n: frozen[n] if n in frozen else Decimal(repr(solved[n])).quantize(_PLACES) for n in names}
        for name in frozen:
            reasons[name] = f"held at {frozen[name]} (cool-down {self.cooldown} since its last change)"
        for name in free:
            if len(groups[name]) > 1:
                reasons[name] += f"; max {Decimal(repr(high[name])).quantize(_PLACES)} as one of {len(groups[name])} correlated"
        _make_whole(weights, free)
        if free and sum(high[n] for n in free) < left - 1e-9:
            warnings += (f"the maxima of {', '.join(free)} cannot hold {left:.4f} of the capital; relaxed in proportion",)
        return AllocationDecision(weights=weights, reasons=reasons, warnings=warnings, correlations=correlations)

    def _base(self, sleeves: Sequence[SleeveHistory], recent: Mapping[str, np.ndarray],
              enough: Mapping[str, bool]) -> tuple[dict[str, float], dict[str, str]]:
        names = [s.name for s in sleeves]
        if self.method is AllocationMethod.FIXED:
            raw = {n: float(self.weights.get(n, Decimal(1))) for n in names}
            return raw, {n: f"fixed weight {raw[n]:g}" for n in names}
        vols = {n: float(np.std(recent[n], ddof=1)) for n in names if enough[n]}
        known = [v for v in vols.values() if v > 0]
        # Too little history: assume the typical volatility of the others (equal risk to them).
        typical = float(np.median(known)) if known else 1.0
        raw, reasons = {}, {}
        for n in names:
            vol = vols.get(n, 0.0)
            if vol > 0:
                raw[n], reasons[n] = 1.0 / vol, f"1 / daily volatility {vol:.4%}"
            else:
                raw[n], reasons[n] = 1.0 / typical, "too little history: the typical volatility of the others"
        return raw, reasons

    def _correlations(self, names: Sequence[str], recent: Mapping[str, np.ndarray],
                      enough: Mapping[str, bool]) -> dict[tuple[str, str], float]:
        out = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if not (enough[a] and enough[b]):
                    continue
                n = min(len(recent[a]), len(recent[b]))
                c = correlation(recent[a][-n:], recent[b][-n:])
                if math.isfinite(c):
                    out[(a, b)] = c
        return out


def annualised_sharpe(daily_returns: np.ndarray, *, periods_per_year: int = _TRADING_DAYS) -> float:
    """Mean over sample standard deviation of daily returns, x sqrt(periods); 0 when undefined."""
    r = np.asarray(daily_returns, dtype=float)
    if len(r) < 2:
        return 0.0
    std = float(np.std(r, ddof=1))
    if not math.isfinite(std) or std < 1e-12:
        return 0.0
    return float(np.mean(r) / std * math.sqrt(periods_per_year))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally long return series; NaN when either is constant."""
    if len(a) != len(b) or len(a) < 2:
        return math.nan
    da, db = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if denominator < 1e-18:
        return math.nan
    return max(-1.0, min(1.0, float(np.dot(da, db)) / denominator))


def _correlated_groups(names: Sequence[str], correlations: Mapping[tuple[str, str], float],
                       threshold: float) -> dict[str, frozenset[str]]:
    """Connected groups of sleeves linked by correlations at or above the threshold."""
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for (a, b), c in correlations.items():
        if c >= threshold:
            parent[root(a)] = root(b)
    members: dict[str, set[str]] = {}
    for n in names:
        members.setdefault(root(n), set()).add(n)
    return {n: frozenset(members[root(n)]) for n in names}


def _bounded(raw: Mapping[str, float], *, low: Mapping[str, float], high: Mapping[str, float],
             total: float) -> dict[str, float]:
    """w_i = clip(c x raw_i, low_i, high_i) with sum(w) = total, c found by bisection (the
    sum grows with c). When the bounds cannot reach the total they are scaled to it."""
    names = list(raw)
    if sum(low[n] for n in names) >= total:
        scale = total / sum(low[n] for n in names) if sum(low[n] for n in names) > 0 else 0.0
        return {n: low[n] * scale for n in names}
    if sum(high[n] for n in names) <= total:
        # The maxima cannot hold all the capital (few sleeves, or a correlated group):
        # relax them in proportion rather than leave capital with no sleeve.
        scale = total / sum(high[n] for n in names)
        return {n: high[n] * scale for n in names}
    positive = {n: max(raw[n], 1e-12) for n in names}

    def total_at(c: float) -> float:
        return sum(min(high[n], max(low[n], c * positive[n])) for n in names)

    lo, hi = 0.0, 1.0
    while total_at(hi) < total:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if total_at(mid) < total:
            lo = mid
        else:
            hi = mid
    return {n: min(high[n], max(low[n], hi * positive[n])) for n in names}


def _make_whole(weights: dict[str, Decimal], free: Sequence[str]) -> None:
    """Rounding leaves a few millionths: give them to the largest free weight so the sum is 1."""
    gap = Decimal(1) - sum(weights.values(), Decimal(0))
    if gap and free and abs(gap) <= Decimal("0.0001"):
        largest = max(free, key=lambda n: weights[n])
        weights[largest] += gap
