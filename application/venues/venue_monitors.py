"""Watching a real venue's account between bars: buying power and margin, and perpetual
funding rates. Findings are values; the monitors alert when the level changes, so a lasting
condition is told once (and again when it clears), not on every supervision.

FINRA retired the pattern-day-trader rule in 2026 and Alpaca dropped its PDT fields: what
still limits an account intraday is its buying power and margin, read from the venue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from application.ports import AlertLevel, Notifier
from application.venues.ports import AccountSnapshot, FundingRate, FundingRates, FundingUnsupported, VenueAccount
from domain.errors import QuantShiftError

log = logging.getLogger(__name__)


class VenueMonitor(Protocol):
    def tick(self, *, now: datetime) -> None:
        """Look again if it is time; alert on a change. Never raises."""
        ...


@attrs.frozen(kw_only=True)
class Assessment:
    level: AlertLevel  # INFO = nothing to report
    findings: tuple[str, ...]

    @property
    def summary(self) -> str:
        return "; ".join(self.findings) or "ok"


@attrs.frozen(kw_only=True)
class BuyingPowerThresholds:
    min_buying_power_fraction: Decimal = Decimal("0.05")  # of equity: below it, warn
    margin_warning_fraction: Decimal = Decimal("0.8")  # maintenance margin / equity: above it, warn


def assess_account(snapshot: AccountSnapshot, *, thresholds: BuyingPowerThresholds = BuyingPowerThresholds()) -> Assessment:
    critical: list[str] = []
    warnings: list[str] = []
    venue = snapshot.venue
    if not snapshot.is_active:
        critical.append(f"{venue}: account {snapshot.status}{' (trading blocked)' if snapshot.trading_blocked else ''}"
                        ": no order can be placed")
    margin = snapshot.maintenance_margin
    if margin is not None and margin > 0:
        if snapshot.equity <= margin:
            critical.append(f"{venue}: margin call: equity {snapshot.equity:.2f} at or below the maintenance "
                            f"margin {margin:.2f}")
        elif margin >= thresholds.margin_warning_fraction * snapshot.equity:
            warnings.append(f"{venue}: maintenance margin {margin:.2f} is {margin / snapshot.equity:.0%} of equity "
                            f"{snapshot.equity:.2f}")
    if snapshot.buying_power <= 0:
        warnings.append(f"{venue}: no buying power left (equity {snapshot.equity:.2f})")
    elif snapshot.equity > 0 and snapshot.buying_power < thresholds.min_buying_power_fraction * snapshot.equity:
        warnings.append(f"{venue}: buying power {snapshot.buying_power:.2f} is below "
                        f"{thresholds.min_buying_power_fraction:.0%} of equity {snapshot.equity:.2f}")
    if snapshot.daytrading_buying_power is not None and snapshot.daytrading_buying_power <= 0 < snapshot.buying_power:
        warnings.append(f"{venue}: no intraday (day-trading) buying power left")
    level = AlertLevel.CRITICAL if critical else AlertLevel.WARNING if warnings else AlertLevel.INFO
    return Assessment(level=level, findings=tuple(critical + warnings))


def assess_funding(rates: Sequence[FundingRate], *, warn_rate: Decimal = Decimal("0.0005")) -> Assessment:
    """A funding rate beyond `warn_rate` per interval (0.05 %) makes holding the perpetual costly."""
    findings = []
    for rate in rates:
        if abs(rate.rate) >= warn_rate:
            payer = "longs pay shorts" if rate.rate > 0 else "shorts pay longs"
            hours = rate.interval.total_seconds() / 3600
            findings.append(f"{rate.symbol} funding {rate.rate:.4%} per {hours:g}h: {payer}")
    return Assessment(level=AlertLevel.WARNING if findings else AlertLevel.INFO, findings=tuple(findings))


class _Periodic:
    def __init__(self, *, every_seconds: float, monotonic: Callable[[], float]) -> None:
        self._every = every_seconds
        self._monotonic = monotonic
        self._last: float | None = None

    def due(self) -> bool:
        now = self._monotonic()
        if self._last is not None and now - self._last < self._every:
            return False
        self._last = now
        return True


class AccountMonitor:
    """Buying power and margin from the venue's account, every `every_seconds`."""

    def __init__(self, *, account: VenueAccount, notifier: Notifier, every_seconds: float = 60.0,
                 thresholds: BuyingPowerThresholds = BuyingPowerThresholds(),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._account = account
        self._notifier = notifier
        self._thresholds = thresholds
        self._periodic = _Periodic(every_seconds=every_seconds, monotonic=monotonic)
        self.last: Assessment | None = None

    def tick(self, *, now: datetime) -> None:
        if not self._periodic.due():
            return
        try:
            assessment = assess_account(self._account.account(), thresholds=self._thresholds)
        except QuantShiftError as exc:  # the venue did not answer: the venue health figures show it
            log.warning("%s account check failed: %s", self._account.name, exc)
            return
        previous, self.last = self.last, assessment
        if previous is None and assessment.level is AlertLevel.INFO:
            return
        if previous is None or previous.findings != assessment.findings:
            title = (f"{self._account.name} account: {assessment.level.value}" if assessment.findings
                     else f"{self._account.name} account: back to normal")
            self._notifier.notify(level=assessment.level, title=title, body=assessment.summary)


class FundingMonitor:
    """Funding rates of the perpetuals the bots trade; says once when the venue has none."""

    def __init__(self, *, funding: FundingRates, symbols: Sequence[str], notifier: Notifier, venue: str,
                 every_seconds: float = 300.0, warn_rate: Decimal = Decimal("0.0005"),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._funding = funding
        self._symbols = list(symbols)
        self._notifier = notifier
        self._venue = venue
        self._warn_rate = warn_rate
        self._periodic = _Periodic(every_seconds=every_seconds, monotonic=monotonic)
        self.unsupported: str = ""
        self.last: Assessment | None = None

    def tick(self, *, now: datetime) -> None:
        if self.unsupported or not self._periodic.due():
            return
        try:
            rates = self._funding.funding_rates(self._symbols)
        except FundingUnsupported as exc:
            self.unsupported = str(exc)
            log.info("%s: funding rates not monitored: %s", self._venue, exc)
            return
        except QuantShiftError as exc:
            log.warning("%s funding check failed: %s", self._venue, exc)
            return
        assessment = assess_funding(rates, warn_rate=self._warn_rate)
        previous, self.last = self.last, assessment
        if (previous is None and assessment.findings) or (previous is not None and previous.findings != assessment.findings):
            self._notifier.notify(level=assessment.level, title=f"{self._venue} funding rates",
                                  body=assessment.summary if assessment.findings else "funding back within range")
