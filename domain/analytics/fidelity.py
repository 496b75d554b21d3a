"""Live-vs-paper fidelity: each live order paired with its shadow's twin, and what they differ by.

The shadow bot (application/golive/shadow.py) runs the live bot's configuration on the simulated
venue, fed the same bars, so each live intent has a shadow twin with the same bot, strategy,
symbol, side and signal bar. Pairing on those keys says how far the real venue's fills are from
the simulation the paper record was earned on:

- price difference in bps, signed so that positive is worse for the bot (paid more on a buy,
  received less on a sell) than the simulated fill: the slippage against the simulation;
- fill rate: of the twins the shadow filled, the share the live venue filled too;
- quantity ratio: live filled quantity over shadow filled quantity, over the pairs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from domain.numbers import ZERO
from domain.orders.order import OrderSide

Key = tuple[str, str, str, str, datetime]  # bot, strategy, symbol, side, signal bar


@attrs.frozen(kw_only=True)
class Execution:
    """One order and what filled of it (volume-weighted)."""

    bot: str
    strategy: str
    symbol: str
    side: OrderSide
    signal_ts: datetime
    ordered: Decimal
    filled: Decimal
    average_price: Decimal | None  # None: nothing filled
    client_order_id: str = ""

    @property
    def key(self) -> Key:
        return (self.bot, self.strategy, self.symbol, self.side.value, self.signal_ts)


def execution(*, bot: str, strategy: str, symbol: str, side: OrderSide, signal_ts: datetime, ordered: Decimal,
              fills: Iterable[tuple[Decimal, Decimal]], client_order_id: str = "") -> Execution:
    """From (quantity, price) fills."""
    quantity, notional = ZERO, ZERO
    for qty, price in fills:
        quantity += qty
        notional += qty * price
    return Execution(bot=bot, strategy=strategy, symbol=symbol, side=side, signal_ts=signal_ts, ordered=ordered,
                     filled=quantity, average_price=(notional / quantity) if quantity > 0 else None,
                     client_order_id=client_order_id)


@attrs.frozen(kw_only=True)
class FillPair:
    live: Execution
    shadow: Execution

    @property
    def price_diff_bps(self) -> float | None:
        """Positive: the live fill was worse for the bot than the simulated one."""
        if self.live.average_price is None or self.shadow.average_price is None:
            return None
        sign = 1 if self.live.side is OrderSide.BUY else -1
        diff = (self.live.average_price - self.shadow.average_price) / self.shadow.average_price
        return float(diff) * 10_000 * sign

    def to_json(self) -> dict[str, object]:
        diff = self.price_diff_bps
        return {"bot": self.live.bot, "strategy": self.live.strategy, "symbol": self.live.symbol,
                "side": self.live.side.value, "signal_ts": self.live.signal_ts.isoformat(),
                "live_client_order_id": self.live.client_order_id,
                "shadow_client_order_id": self.shadow.client_order_id,
                "live_filled": str(self.live.filled), "shadow_filled": str(self.shadow.filled),
                "live_price": None if self.live.average_price is None else str(self.live.average_price),
                "shadow_price": None if self.shadow.average_price is None else str(self.shadow.average_price),
                "price_diff_bps": None if diff is None else round(diff, 4)}


@attrs.frozen(kw_only=True)
class Fidelity:
    pairs: tuple[FillPair, ...]
    live_only: tuple[Execution, ...]  # no shadow twin (the shadow started later, or decided otherwise)
    shadow_only: tuple[Execution, ...]

    @property
    def priced(self) -> list[float]:
        return [d for d in (p.price_diff_bps for p in self.pairs) if d is not None]

    @property
    def mean_bps(self) -> float | None:
        return statistics.fmean(self.priced) if self.priced else None

    @property
    def median_bps(self) -> float | None:
        return statistics.median(self.priced) if self.priced else None

    @property
    def worst_bps(self) -> float | None:
        return max(self.priced) if self.priced else None

    @property
    def fill_rate(self) -> float | None:
        """Of the twins the shadow filled (in part or whole), the share the live venue filled too."""
        shadow_filled = [p for p in self.pairs if p.shadow.filled > 0]
        shadow_filled_alone = [e for e in self.shadow_only if e.filled > 0]
        base = len(shadow_filled) + len(shadow_filled_alone)
        if base == 0:
            return None
        return sum(1 for p in shadow_filled if p.live.filled > 0) / base

    @property
    def quantity_ratio(self) -> float | None:
        shadow = sum((p.shadow.filled for p in self.pairs), ZERO)
        if shadow == 0:
            return None
        return float(sum((p.live.filled for p in self.pairs), ZERO) / shadow)

    def to_json(self, *, with_pairs: bool = True) -> dict[str, object]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        out: dict[str, object] = {
            "paired": len(self.pairs), "priced_pairs": len(self.priced), "live_only": len(self.live_only),
            "shadow_only": len(self.shadow_only), "price_diff_bps_mean": rounded(self.mean_bps),
            "price_diff_bps_median": rounded(self.median_bps), "price_diff_bps_worst": rounded(self.worst_bps),
            "fill_rate": rounded(self.fill_rate), "quantity_ratio": rounded(self.quantity_ratio),
        }
        if with_pairs:
            out["pairs"] = [p.to_json() for p in self.pairs]
        return out


def pair_executions(live: Sequence[Execution], shadow: Sequence[Execution]) -> Fidelity:
    """Twins by (bot, strategy, symbol, side, signal bar); one order per key on each side (the
    client_order_id is built from the same key, so a repeated signal never makes a second one)."""
    by_key = {e.key: e for e in shadow}
    pairs, live_only = [], []
    for order in live:
        twin = by_key.pop(order.key, None)
        if twin is None:
            live_only.append(order)
        else:
            pairs.append(FillPair(live=order, shadow=twin))
    return Fidelity(pairs=tuple(pairs), live_only=tuple(live_only), shadow_only=tuple(by_key.values()))
