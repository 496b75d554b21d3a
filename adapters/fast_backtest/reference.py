"""The kernel's rules in plain, slow Python: the yardstick the tests hold kernel.py to.

Written for reading, one decision at a time; kernel.py's docstring states the rules. The
arithmetic is the same, expression for expression, so results agree to the bit. The one
difference is the size search: here it only ever steps down one lot at a time, which is
obviously right but slow when a per-share minimum fee meets a tiny lot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

KEEP = 2


@attrs.frozen(kw_only=True)
class Costs:
    slippage_bps: float = 0.0
    tick: float = 0.0
    fee_kind: int = 0  # 0 none, 1 per share, 2 per notional (bps)
    fee_rate: float = 0.0
    fee_minimum: float = 0.0
    fee_max_fraction: float = 0.0  # 0: no cap

    def fee(self, quantity: float, price: float) -> float:
        if self.fee_kind == 1:
            fee = max(self.fee_rate * quantity, self.fee_minimum)
            if self.fee_max_fraction > 0.0:
                fee = min(fee, self.fee_max_fraction * quantity * price)
            return fee
        if self.fee_kind == 2:
            return quantity * price * self.fee_rate / 1e4
        return 0.0

    def price(self, price: float, side: int) -> float:
        moved = price * (1.0 + float(side) * self.slippage_bps / 1e4)
        if self.tick <= 0.0:
            return moved
        ticks = moved / self.tick
        nearest = math.floor(ticks + 0.5)
        if abs(ticks - nearest) <= 1e-9 * max(1.0, nearest):
            steps = float(nearest)
        else:
            steps = float(math.ceil(ticks) if side > 0 else math.floor(ticks))
        if side < 0 and steps < 1.0:
            steps = 1.0
        per_unit = 1.0 / self.tick
        whole = float(math.floor(per_unit + 0.5))
        if self.tick < 1.0 and abs(per_unit - whole) <= 1e-9 * whole:
            return steps / whole
        return steps * self.tick


@attrs.frozen
class Fill:
    bar: int
    side: int
    quantity: float
    price: float
    fee: float


@attrs.frozen
class RoundTrip:
    side: int
    entry_bar: int
    exit_bar: int  # -1: still open after the last bar, marked at the last close
    quantity: float
    entry_price: float
    exit_price: float
    pnl: float


@attrs.frozen
class Outcome:
    fills: list[Fill]
    round_trips: list[RoundTrip]
    equity: list[float]
    cash: float
    position: float
    max_drawdown: float


def new_leg_size(*, budget: float, closing: float, px: float, unit_px: float, lot: float, costs: Costs) -> float:
    # The least fee per unit: no larger size can fit in the budget, so the search starts there.
    if costs.fee_kind == 2:
        unit_fee = px * costs.fee_rate / 1e4
    elif costs.fee_kind == 1:
        unit_fee = min(costs.fee_rate, costs.fee_max_fraction * px) if costs.fee_max_fraction > 0.0 else costs.fee_rate
    else:
        unit_fee = 0.0
    unit = unit_px + unit_fee
    free = budget - closing * unit_fee
    if not free > 0.0:
        return 0.0
    lots = math.floor(min(free / unit / lot, 2.0**62))
    while lots > 0 and budget - (lots * lot) * unit_px - costs.fee(closing + lots * lot, px) < 0.0:
        lots -= 1
    return lots * lot


def simulate(
    *, open_: Sequence[float], close: Sequence[float], targets: Sequence[int], cash: float,
    fill_at: int = 0, sizing: int = 0, fraction: float = 1.0, lot: float = 1.0,
    costs: Costs = Costs(), allow_short: bool = False,
) -> Outcome:
    fills: list[Fill] = []
    trips: list[RoundTrip] = []
    equity: list[float] = []
    position = 0.0
    entry_bar, entry_price, entry_fee = -1, 0.0, 0.0
    peak, max_drawdown = cash, 0.0
    for t in range(len(close)):
        # Which decision fills on this bar, and at what price.
        if fill_at == 0:
            code, price = (int(targets[t - 1]) if t > 0 else KEEP), open_[t]
        else:
            code, price = int(targets[t]), close[t]
        wanted = None if code not in (-1, 0, 1) else (0 if code == -1 and not allow_short else code)
        held = 1 if position > 0.0 else (-1 if position < 0.0 else 0)
        if wanted is not None and wanted != held:
            side = wanted if wanted != 0 else -held
            px = costs.price(price, side)
            marked = cash + position * px  # equity if the held position closed at px
            closing = abs(position)
            new = 0.0
            if wanted != 0 and sizing == 0:  # all-in: the most the marked equity pays for, fees included
                unit_px = px if side > 0 else max(px, price)  # a short's units at the quote
                new = new_leg_size(budget=marked, closing=closing, px=px, unit_px=unit_px, lot=lot, costs=costs)
            elif wanted != 0 and marked > 0.0:  # a fraction of the marked equity, fees on top
                new = math.floor(min(fraction * marked / px / lot, 2.0**62)) * lot
            quantity = closing + new
            if quantity > 0.0:
                fee = costs.fee(quantity, px)
                cash = marked - wanted * (new * px) - fee
                fills.append(Fill(t, side, quantity, px, fee))
                if closing > 0.0:
                    exit_fee = fee if new == 0.0 else fee * (closing / quantity)
                    pnl = held * (px - entry_price) * closing - entry_fee - exit_fee
                    trips.append(RoundTrip(held, entry_bar, t, closing, entry_price, px, pnl))
                if new > 0.0:
                    entry_bar, entry_price = t, px
                    entry_fee = fee if closing == 0.0 else fee * (new / quantity)
                position = wanted * new
        value = cash + position * close[t]
        equity.append(value)
        if value > peak:
            peak = value
        elif peak > 0.0 and (peak - value) / peak > max_drawdown:
            max_drawdown = (peak - value) / peak
    if position != 0.0:
        held = 1 if position > 0.0 else -1
        last = close[-1]
        pnl = held * (last - entry_price) * abs(position) - entry_fee
        trips.append(RoundTrip(held, entry_bar, -1, abs(position), entry_price, last, pnl))
    return Outcome(fills, trips, equity, cash, position, max_drawdown)
