"""Pairing live orders with their shadow twins, and the fidelity figures (domain/analytics/fidelity.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.analytics.fidelity import execution, pair_executions
from domain.orders.order import OrderSide

T = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


def order(*, side: OrderSide = OrderSide.BUY, at: int = 0, fills: list[tuple[str, str]] | None = None,
          ordered: str = "10", symbol: str = "SPY", strategy: str = "ma") -> object:
    return execution(bot="equity", strategy=strategy, symbol=symbol, side=side, signal_ts=T + timedelta(minutes=at),
                     ordered=Decimal(ordered), fills=[(Decimal(q), Decimal(p)) for q, p in (fills or [])])


def test_twins_pair_on_bot_strategy_symbol_side_and_bar() -> None:
    live = [order(at=0, fills=[("10", "100.10")]), order(at=1, side=OrderSide.SELL, fills=[("10", "99.90")]),
            order(at=2, symbol="AAPL", fills=[("1", "200")])]
    shadow = [order(at=0, fills=[("4", "100"), ("6", "100")]), order(at=1, side=OrderSide.SELL, fills=[("10", "100")]),
              order(at=2, symbol="AAPL", strategy="stop:atr", fills=[("1", "200")])]
    figures = pair_executions(live, shadow)  # type: ignore[arg-type]
    assert len(figures.pairs) == 2
    assert len(figures.live_only) == 1 and len(figures.shadow_only) == 1  # another strategy is another intent
    # Paid 10 bps more on the buy, received 10 bps less on the sell: both worse, both +10.
    assert [p.price_diff_bps for p in figures.pairs] == pytest.approx([10.0, 10.0])
    assert figures.mean_bps == pytest.approx(10.0) and figures.worst_bps == pytest.approx(10.0)


def test_a_better_live_fill_is_negative_slippage() -> None:
    figures = pair_executions([order(fills=[("10", "99.95")])], [order(fills=[("10", "100")])])  # type: ignore[list-item]
    assert figures.mean_bps == pytest.approx(-5.0)


def test_fill_rate_counts_what_the_shadow_filled_and_live_did_not() -> None:
    live = [order(at=0, fills=[("5", "100")]), order(at=1)]
    shadow = [order(at=0, fills=[("10", "100")]), order(at=1, fills=[("10", "100")]), order(at=2, fills=[("10", "1")])]
    figures = pair_executions(live, shadow)  # type: ignore[arg-type]
    assert figures.fill_rate == pytest.approx(1 / 3)
    assert figures.quantity_ratio == pytest.approx(5 / 20)
    assert figures.priced == [0.0]  # the unfilled live twin has no price difference
    data = figures.to_json()
    assert data["paired"] == 2 and data["shadow_only"] == 1 and data["fill_rate"] == pytest.approx(0.3333)


def test_nothing_to_pair() -> None:
    figures = pair_executions([], [])
    assert figures.mean_bps is None and figures.fill_rate is None and figures.quantity_ratio is None
