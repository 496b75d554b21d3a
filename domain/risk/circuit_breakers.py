"""Circuit breakers: drawdown from the equity PEAK and a per-session loss limit.

Both return decision values; the application applies them to the stored trading
state. A breaker escalates (ACTIVE -> REDUCING -> HALTED). A HALT is lifted only by an
explicit operator resume (application/safety/halt.py). How REDUCING ends is the breaker's
`reducing_ends`: "resume" (only an operator's resume) or "recovery" (also once the
drawdown is back under the warning level, when the breaker itself set REDUCING).

Drawdowns are measured on returns net of capital flows (time-weighted): capital the
allocator moves in or out scales the peak with the equity (`EquityWatermark.after_flow`),
so a transfer is neither a loss nor a new high.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal

import attrs

from domain import display

from domain.risk.trading_state import TradingState

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def _more_severe(a: TradingState, b: TradingState) -> TradingState:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


@attrs.frozen
class EquityWatermark:
    """The highest equity seen; drawdowns are measured from it, not from the start."""

    peak: Decimal

    def observe(self, equity: Decimal) -> EquityWatermark:
        return self if equity <= self.peak else EquityWatermark(equity)

    def after_flow(self, *, equity_before: Decimal, amount: Decimal) -> EquityWatermark:
        """The peak once `amount` was moved in (or out, negative) while equity was `equity_before`.

        Time-weighted: the peak is scaled by the same factor as the equity, so the drawdown
        (1 - equity / peak) is what it was just before the transfer. Without equity to scale
        by, the transfer is added to the peak instead."""
        if amount == 0:
            return self
        if equity_before > 0:
            return EquityWatermark(self.peak * (equity_before + amount) / equity_before)
        return EquityWatermark(self.peak + amount)

    def drawdown(self, equity: Decimal) -> Decimal:
        """Fraction below the peak (0 at or above it). A non-positive peak gives 0."""
        peak = max(self.peak, equity)
        if peak <= 0:
            return Decimal(0)
        return (peak - equity) / peak


def flow_adjusted_watermark(*, initial: Decimal, points: Sequence[tuple[datetime, Decimal]],
                            flows: Sequence[tuple[datetime, Decimal, Decimal]]) -> EquityWatermark:
    """The peak of a stored equity curve, rebuilt net of capital flows (after a restart).

    `flows` are (ts, equity just before, amount moved in); the point stored at a flow's
    time already holds the money moved, so the flow is applied before that point."""
    mark = EquityWatermark(initial)
    pending = sorted(flows, key=lambda f: f[0])
    index = 0
    for ts, equity in sorted(points, key=lambda p: p[0]):
        while index < len(pending) and pending[index][0] <= ts:
            _, before, amount = pending[index]
            mark = mark.observe(before).after_flow(equity_before=before, amount=amount)
            index += 1
        mark = mark.observe(equity)
    for _, before, amount in pending[index:]:
        mark = mark.observe(before).after_flow(equity_before=before, amount=amount)
    return mark


@attrs.frozen(kw_only=True)
class BreakerDecision:
    state: TradingState  # the state to move to (never less severe than the current one)
    reason: str
    alert: bool  # True when this decision escalates the state
    drawdown: Decimal


REDUCING_ENDS = ("resume", "recovery")


@attrs.frozen
class DrawdownBreaker:
    """REDUCING at drawdown >= warning, HALTED at >= limit. HALTED never lifts by itself;
    REDUCING does only with reducing_ends="recovery", once the drawdown is under the warning."""

    warning: Decimal
    limit: Decimal
    reducing_ends: str = attrs.field(default="resume", kw_only=True)

    def __attrs_post_init__(self) -> None:
        for name in ("warning", "limit"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise ValueError(f"drawdown {name} must be a finite Decimal, got {value!r}")
        if not Decimal(0) < self.warning < self.limit < Decimal(1):
            raise ValueError(f"need 0 < warning < limit < 1, got warning={self.warning} limit={self.limit}")
        if self.reducing_ends not in REDUCING_ENDS:
            raise ValueError(f"drawdown_reducing_ends must be \"resume\" or \"recovery\", got {self.reducing_ends!r}")

    def how_reducing_ends(self) -> str:
        if self.reducing_ends == "recovery":
            return (f"REDUCING ends once the drawdown is back under the warning ({self.warning:.2%}),"
                    " or by an operator's resume")
        return "REDUCING ends only by an operator's resume (drawdown_reducing_ends = \"resume\")"

    def assess(self, *, watermark: EquityWatermark, equity: Decimal, current: TradingState,
               set_by_breaker: bool = False) -> BreakerDecision:
        """`set_by_breaker`: the current REDUCING is this breaker's own (not an operator's),
        so a recovery may end it."""
        dd = watermark.drawdown(equity)
        if dd >= self.limit:
            level = TradingState.HALTED
        elif dd >= self.warning:
            level = TradingState.REDUCING
        else:
            level = TradingState.ACTIVE
        target = _more_severe(current, level)
        recovers = (self.reducing_ends == "recovery" and set_by_breaker and current is TradingState.REDUCING
                    and level is TradingState.ACTIVE)
        if recovers:
            target = TradingState.ACTIVE
        figures = (f"drawdown {dd:.2%} (equity {display.money(equity)} vs peak "
                   f"{display.money(max(watermark.peak, equity))}; "
                   f"warning {self.warning:.2%}, limit {self.limit:.2%})")
        if recovers:
            reason = f"{figures}: recovered under the warning, {current.value} -> {target.value}"
        elif target is not current:
            reason = f"{figures}: {current.value} -> {target.value}"
        elif _SEVERITY[level] < _SEVERITY[current]:
            reason = f"{figures}: stays {current.value} until an explicit resume"
        else:
            reason = f"{figures}: stays {current.value}"
        return BreakerDecision(state=target, reason=reason, alert=target is not current, drawdown=dd)


def crypto_session_key(ts: datetime) -> str:
    """Crypto trades around the clock: a session is a UTC calendar date ("2025-01-02")."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError("crypto_session_key needs a timezone-aware timestamp")
    return ts.astimezone(timezone.utc).date().isoformat()


@attrs.frozen(kw_only=True)
class DailyLossDecision:
    halt: bool
    tripped_session: str | None  # store this; pass it back on the next assess
    loss: Decimal
    reason: str
    alert: bool  # True only on the assess that trips it


@attrs.frozen(kw_only=True)
class DailyLossLimit:
    """Halt for the rest of the session once the loss from the session's start equity reaches the limit.

    The session key is supplied by the caller: `crypto_session_key` for crypto (UTC date);
    for equities the key comes from the exchange calendar (NYSE trading day, half days,
    holidays), which is an adapter concern and stays out of the domain. A new key re-arms.
    With both limits given, the tighter one applies.
    """

    max_loss_amount: Decimal | None = None
    max_loss_percent: Decimal | None = None  # a fraction: 0.03 is 3 %

    def __attrs_post_init__(self) -> None:
        if self.max_loss_amount is None and self.max_loss_percent is None:
            raise ValueError("give max_loss_amount, max_loss_percent or both")
        if self.max_loss_amount is not None and not (self.max_loss_amount.is_finite() and self.max_loss_amount > 0):
            raise ValueError(f"max_loss_amount must be positive, got {self.max_loss_amount}")
        if self.max_loss_percent is not None and not (
                self.max_loss_percent.is_finite() and Decimal(0) < self.max_loss_percent < Decimal(1)):
            raise ValueError(f"max_loss_percent must be a fraction in (0, 1), got {self.max_loss_percent}")

    def limit_for(self, day_start_equity: Decimal) -> Decimal:
        limits = []
        if self.max_loss_amount is not None:
            limits.append(self.max_loss_amount)
        if self.max_loss_percent is not None:
            limits.append(self.max_loss_percent * max(day_start_equity, Decimal(0)))
        return min(limits)

    def assess(self, *, session_key: str, day_start_equity: Decimal, equity: Decimal,
               tripped_session: str | None) -> DailyLossDecision:
        loss = day_start_equity - equity
        limit = self.limit_for(day_start_equity)
        figures = f"session {session_key}: loss {loss} from day start {day_start_equity} vs limit {limit}"
        if tripped_session == session_key:
            return DailyLossDecision(halt=True, tripped_session=session_key, loss=loss, alert=False,
                                     reason=f"{figures}; already tripped, halted for the rest of the session")
        if loss >= limit:
            return DailyLossDecision(halt=True, tripped_session=session_key, loss=loss, alert=True,
                                     reason=f"{figures}; daily loss limit reached, halted for the session")
        return DailyLossDecision(halt=False, tripped_session=None, loss=loss, alert=False,
                                 reason=f"{figures}; within limit")
