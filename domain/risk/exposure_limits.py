"""Portfolio-shape limits: correlated exposure and sector / asset-class concentration.

Like the policies in domain.risk.risk these return a CheckResult (a value, never an exception)
with the figures that decided it. They take their inputs as plain keyword arguments, not
an OrderIntent + RiskContext, because the context does not carry holdings or price history;
the application builds the inputs and can wrap a check as a RiskPolicy.

Money is Decimal. Floats appear only inside the correlation math (a signal, not money).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import attrs
import numpy as np

from domain.accounting.instrument import AssetClass
from domain.risk.risk import CheckResult

# Return series whose standard deviation is below this are treated as constant: a
# correlation computed from rounding noise would be meaningless.
_CONSTANT_STD = 1e-12


def rolling_correlation(a_closes: np.ndarray, b_closes: np.ndarray, window: int) -> float:
    """Pearson correlation of the last `window` simple returns of two close series.

    The series are aligned on their ends (the last close of each is the same bar).
    NaN when either series has fewer than window + 1 closes, holds a non-finite or
    non-positive close in that span, or has (near) constant returns.
    Computed so that swapping a and b gives exactly the same float.
    """
    if window < 2:
        raise ValueError("window must be >= 2")
    a = np.asarray(a_closes, dtype=float)
    b = np.asarray(b_closes, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or len(a) < window + 1 or len(b) < window + 1:
        return math.nan
    a, b = a[-(window + 1):], b[-(window + 1):]
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a > 0) and np.all(b > 0)):
        return math.nan
    ra = a[1:] / a[:-1] - 1.0
    rb = b[1:] / b[:-1] - 1.0
    if np.std(ra) < _CONSTANT_STD or np.std(rb) < _CONSTANT_STD:
        return math.nan
    da, db = ra - ra.mean(), rb - rb.mean()
    denominator = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if denominator == 0.0 or not math.isfinite(denominator):
        return math.nan
    return float(min(1.0, max(-1.0, float(np.dot(da, db)) / denominator)))


def aligned_closes(a_times: np.ndarray, a_closes: np.ndarray, b_times: np.ndarray,
                   b_closes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closes of both series at the bar times they share, in time order.

    A 24/7 crypto series and an equity series do not line up bar for bar (nights and weekends
    exist in one only): correlating them end-aligned would pair unrelated returns. Sampled at
    the common times, a return spans the same interval in both (Friday close to Monday open
    bar for the stock, and BTC over the same weekend)."""
    _, a_index, b_index = np.intersect1d(np.asarray(a_times), np.asarray(b_times), return_indices=True)
    return np.asarray(a_closes)[a_index], np.asarray(b_closes)[b_index]


def _positive_fraction(value: Decimal, *, what: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a positive finite Decimal, got {value!r}")
    return value


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


@attrs.frozen(kw_only=True)
class CorrelationLimit:
    """Caps a group of positions that move together, as a fraction of equity.

    The group is the candidate with the OTHER holdings whose returns correlate with it at or
    above the threshold. A position is not "correlated" with itself: with no other holding in
    the group there is no group and the check passes (the size of one position is what
    max_order_notional and max_gross_exposure cap). When there is a group, what is already held
    in the candidate's own symbol is part of it. Anti-correlated holdings are not netted off:
    they are simply not counted.
    """

    threshold: float = 0.7
    max_correlated_fraction: Decimal = Decimal("0.5")
    window: int = 60
    name = "correlation"

    def __attrs_post_init__(self) -> None:
        if not (isinstance(self.threshold, (int, float)) and -1.0 <= self.threshold <= 1.0):
            raise ValueError(f"correlation threshold must be within [-1, 1], got {self.threshold!r}")
        _positive_fraction(self.max_correlated_fraction, what="max_correlated_fraction")
        if self.window < 2:
            raise ValueError("correlation window must be >= 2")

    def correlated(self, *, candidate: str, held: Mapping[str, Decimal], closes: Mapping[str, np.ndarray],
                   times: Mapping[str, np.ndarray] | None = None) -> tuple[dict[str, float], list[str]]:
        """(symbol -> correlation for the held symbols at or above the threshold, symbols lacking history).

        With bar `times`, two series are aligned on the times they share first (crypto against
        equities); without, they are aligned on their ends (same-session symbols)."""
        hits: dict[str, float] = {}
        short: list[str] = []
        candidate_closes = closes.get(candidate)
        for symbol in sorted(held):
            if symbol == candidate:
                continue  # the candidate's own holding joins a group; it does not make one
            other = closes.get(symbol)
            if candidate_closes is None or other is None:
                corr = math.nan
            elif times is not None and candidate in times and symbol in times:
                mine, theirs = aligned_closes(times[candidate], candidate_closes, times[symbol], other)
                corr = rolling_correlation(mine, theirs, self.window)
            else:
                corr = rolling_correlation(candidate_closes, other, self.window)
            if math.isnan(corr):
                short.append(symbol)
            elif corr >= self.threshold:
                hits[symbol] = corr
        return hits, short

    def check(self, *, candidate: str, candidate_notional: Decimal, held: Mapping[str, Decimal],
              closes: Mapping[str, np.ndarray], equity: Decimal,
              times: Mapping[str, np.ndarray] | None = None) -> CheckResult:
        hits, short = self.correlated(candidate=candidate, held=held, closes=closes, times=times)
        limit = self.max_correlated_fraction * equity
        if not hits:
            detail = (f"no other holding correlates with {candidate} (>= {self.threshold:.2f} over"
                      f" {self.window} returns): no correlated group; limit {_money(limit)}"
                      f" ({self.max_correlated_fraction} x equity {_money(equity)})")
            if short:
                detail += f"; too little history, treated as uncorrelated: {', '.join(short)}"
            return CheckResult(check=self.name, passed=True, detail=detail)
        own = abs(held.get(candidate, Decimal(0)))
        held_part = own + sum((abs(held[s]) for s in hits), Decimal(0))
        exposure = abs(candidate_notional) + held_part
        passed = exposure <= limit
        named = ", ".join(f"{s} corr {c:.2f}" for s, c in hits.items())
        detail = (
            f"correlated exposure {_money(exposure)} (candidate {candidate} {_money(abs(candidate_notional))}"
            f" + held {_money(held_part)}) vs limit {_money(limit)}"
            f" ({self.max_correlated_fraction} x equity {_money(equity)});"
            f" correlated (>= {self.threshold:.2f} over {self.window} returns): {named}"
        )
        if short:
            detail += f"; too little history, treated as uncorrelated: {', '.join(short)}"
        return CheckResult(check=self.name, passed=passed, detail=detail)


def _read_only(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@attrs.frozen(kw_only=True)
class SectorLimits:
    """Caps exposure per sector and per asset class, each as a fraction of equity.

    A symbol missing from `sector_of` is in sector "unknown". A sector without its own
    limit takes the "*" limit when one is given, else it has no sector limit. An asset
    class missing from `max_asset_class_fraction` has no asset-class limit.
    """

    sector_of: Mapping[str, str] = attrs.field(converter=_read_only)
    max_sector_fraction: Mapping[str, Decimal] = attrs.field(converter=_read_only)
    max_asset_class_fraction: Mapping[AssetClass, Decimal] = attrs.field(converter=_read_only)
    name = "sector_exposure"

    def __attrs_post_init__(self) -> None:
        for sector, fraction in self.max_sector_fraction.items():
            _positive_fraction(fraction, what=f"max_sector_fraction[{sector!r}]")
        for asset_class, fraction in self.max_asset_class_fraction.items():
            _positive_fraction(fraction, what=f"max_asset_class_fraction[{asset_class.value}]")

    def sector(self, symbol: str) -> str:
        return self.sector_of.get(symbol, "unknown")

    def sector_limit(self, sector: str) -> Decimal | None:
        return self.max_sector_fraction.get(sector, self.max_sector_fraction.get("*"))

    def check(self, *, candidate: str, candidate_asset_class: AssetClass, candidate_notional: Decimal,
              held: Mapping[str, tuple[AssetClass, Decimal]], equity: Decimal) -> CheckResult:
        added = abs(candidate_notional)
        sector = self.sector(candidate)
        sector_after = added + sum((abs(n) for s, (_, n) in held.items() if self.sector(s) == sector), Decimal(0))
        class_after = added + sum((abs(n) for _, (c, n) in held.items() if c is candidate_asset_class), Decimal(0))
        parts: list[str] = []
        passed = True
        for label, after, fraction in (
            (f"sector {sector}", sector_after, self.sector_limit(sector)),
            (f"asset class {candidate_asset_class.value}", class_after,
             self.max_asset_class_fraction.get(candidate_asset_class)),
        ):
            if fraction is None:
                parts.append(f"{label} {_money(after)} after (no limit)")
                continue
            limit = fraction * equity
            ok = after <= limit
            passed = passed and ok
            parts.append(f"{label} {_money(after)} after vs limit {_money(limit)}"
                         f" ({fraction} x equity {_money(equity)}){'' if ok else ' EXCEEDED'}")
        return CheckResult(check=self.name, passed=passed,
                           detail=f"{candidate} +{_money(added)}: " + "; ".join(parts))
