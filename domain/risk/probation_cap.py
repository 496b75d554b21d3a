"""The probation cap: a bot newly live trades a fraction of its size until its record earns the rest.

Staged deployment (docs/golive.md, "Probation and the shadow bot"): for its first trading days
live, an entry may be at most `fraction` of the per-order notional limit, and the bot's positions
after it at most `fraction` of its capital. An entry beyond either is RESIZED down to fit (whole
lots), not denied: the bot's sizing is the one that was certified on paper, so denying would keep
it from trading at all and its live record (the point of probation) would never form. An entry
of which not one lot fits is denied, and so is every entry once the bot was demoted; the check
is named "probation" in the audit trail either way. Exits are never capped: getting out of a
position must not depend on how big it was allowed to be.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from domain.numbers import ZERO
from domain.orders.intent import OrderIntent
from domain.risk.risk import CheckResult

CHECK = "probation"


def _fraction(_i: object, _a: attrs.Attribute, value: Decimal) -> None:
    if not (value.is_finite() and ZERO <= value <= 1):
        raise ValueError(f"probation fraction must be in [0, 1], got {value}")


def percent(fraction: Decimal) -> str:
    """0.1 -> "10 %", 0.125 -> "12.5 %" (as the README writes ratios)."""
    return f"{(fraction * 100).normalize():f} %"


@attrs.frozen(kw_only=True)
class ProbationCap:
    fraction: Decimal = attrs.field(validator=_fraction)
    label: str = ""  # for people: "probation since 2026-12-01, 10 trading days"
    # Set when the bot was demoted: why its live entries stopped (exits keep working).
    entries_stopped: str = ""

    def check(self, intent: OrderIntent, *, max_order_notional: Decimal, capital: Decimal,
              gross_exposure: Decimal) -> tuple[OrderIntent, CheckResult]:
        """The intent as it may go (maybe resized) and the check's figures."""
        if intent.reduces_risk:
            return intent, CheckResult(check=CHECK, passed=True, detail="risk-reducing order: not capped")
        about = f" ({self.label})" if self.label else ""
        if self.entries_stopped:
            return intent, CheckResult(check=CHECK, passed=False,
                                       detail=f"demoted: {self.entries_stopped}; live entries stopped{about}")
        price = intent.limit_price or intent.stop_price or intent.reference_price
        order_cap = (max_order_notional * self.fraction).quantize(Decimal("0.01"))
        capital_cap = (capital * self.fraction).quantize(Decimal("0.01"))
        room = max(capital_cap - gross_exposure, ZERO)
        budget = min(order_cap, room)
        share = percent(self.fraction)
        figures = (f"order cap {order_cap} ({share} of {max_order_notional}), positions cap "
                   f"{capital_cap} ({share} of capital {capital}), held {gross_exposure:.2f}")
        notional = (intent.quantity * price).quantize(Decimal("0.01"))
        if notional <= budget:
            return intent, CheckResult(check=CHECK, passed=True,
                                       detail=f"notional {notional} within {budget:.2f}: {figures}{about}")
        allowed = intent.instrument.round_quantity_down(budget / price) if price > 0 else ZERO
        if allowed <= ZERO:
            return intent, CheckResult(check=CHECK, passed=False,
                                       detail=f"notional {notional} and not one lot fits in {budget:.2f}: "
                                              f"{figures}{about}")
        resized = attrs.evolve(intent, quantity=allowed)
        return resized, CheckResult(check=CHECK, passed=True,
                                    detail=f"resized from {intent.quantity} to {allowed} (notional {notional} > "
                                           f"{budget:.2f}): {figures}{about}")
