"""The rolling day-trade counter: an optional rule for accounts and brokers that still count.

FINRA retired the pattern-day-trader rule in 2026 and Alpaca dropped its PDT fields, but some
brokers (and some account agreements) still refuse a fourth day trade in five business days
below an equity floor. A day trade is an order that closes, on the same trading session, a
position (or part of one) opened in that session; one closing order counts once however many
partial fills it has.

The rule never blocks an exit: an exit reduces risk, and a position that cannot be closed is
worse than a counted day trade. It refuses new entries once the count has reached the limit,
because any position opened then could only be closed the same day as one more day trade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from domain.orders.fill import Fill
from domain.risk.risk import CheckResult


@attrs.frozen(kw_only=True)
class DayTrade:
    symbol: str
    session: str
    client_order_id: str  # the closing order


def day_trades(fills: Sequence[Fill], *, session_key: Callable[[datetime], str]) -> list[DayTrade]:
    """Every day trade in `fills` (the account's whole fill history, or enough of it to know
    the positions carried into the sessions of interest), in time order."""
    found: dict[tuple[str, str, str], DayTrade] = {}
    position: dict[str, Decimal] = {}
    opened_today: dict[str, tuple[str, Decimal]] = {}  # symbol -> (session, signed quantity opened in it)
    for fill in sorted(fills, key=lambda f: (f.ts, f.fill_id)):
        session = session_key(fill.ts)
        held = position.get(fill.symbol, Decimal(0))
        day, opened = opened_today.get(fill.symbol, (session, Decimal(0)))
        if day != session:
            opened = Decimal(0)
        signed = fill.signed_quantity
        if held == 0 or (held > 0) == (signed > 0):
            opened += signed  # opening or adding: all of it opened in this session
        else:
            closing = min(abs(signed), abs(held))
            closes_today = min(closing, abs(opened)) if (opened > 0) == (held > 0) else Decimal(0)
            if closes_today > 0:
                key = (fill.symbol, session, fill.client_order_id)
                found.setdefault(key, DayTrade(symbol=fill.symbol, session=session,
                                               client_order_id=fill.client_order_id))
                opened -= closes_today if opened > 0 else -closes_today
            flipped = abs(signed) - closing
            if flipped > 0:  # the rest of the order opens the other side, in this session
                opened = flipped if signed > 0 else -flipped
        position[fill.symbol] = held + signed
        opened_today[fill.symbol] = (session, opened)
    return list(found.values())


@attrs.frozen(kw_only=True)
class DayTradeRule:
    """At most `max_day_trades` in the last `window_sessions` sessions while equity is below
    `min_equity` (FINRA's old figures: 3 in 5 business days under $25,000)."""

    max_day_trades: int = 3
    window_sessions: int = 5
    min_equity: Decimal = Decimal(25000)
    name = "day_trades"

    def __attrs_post_init__(self) -> None:
        if self.max_day_trades < 0 or self.window_sessions < 1:
            raise ValueError("max_day_trades must be >= 0 and window_sessions >= 1")
        if not self.min_equity.is_finite() or self.min_equity < 0:
            raise ValueError(f"min_equity must be a finite amount >= 0, got {self.min_equity}")

    def count(self, trades: Sequence[DayTrade], *, window: Sequence[str]) -> int:
        """Day trades in the sessions of `window` (the last `window_sessions` trading sessions,
        from the exchange calendar: weekends and holidays are not business days)."""
        recent = set(window[-self.window_sessions:])
        return sum(1 for t in trades if t.session in recent)

    def check(self, *, trades: Sequence[DayTrade], window: Sequence[str], equity: Decimal,
              reduces_risk: bool) -> CheckResult:
        counted = self.count(trades, window=window)
        figures = (f"{counted} day trade(s) in the last {self.window_sessions} sessions "
                   f"(limit {self.max_day_trades} below equity {self.min_equity:.2f}; equity {equity:.2f})")
        if reduces_risk:
            return CheckResult(check=self.name, passed=True, detail=f"exit never blocked; {figures}")
        if equity >= self.min_equity:
            return CheckResult(check=self.name, passed=True, detail=f"equity above the floor; {figures}")
        passed = counted < self.max_day_trades
        detail = figures if passed else f"{figures}: a new position could not be closed today without one more"
        return CheckResult(check=self.name, passed=passed, detail=detail)
