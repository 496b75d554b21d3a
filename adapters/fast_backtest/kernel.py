"""The compiled loop: per-bar targets -> market orders -> fills -> cash, position, equity.

Everything here is numba `@njit(cache=True)` over plain float64/int arrays; engine.py is the
Python face (checks, enums, result objects). reference.py states the same rules in plain
Python, and the tests hold the two equal on random data. The rules, exactly:

Targets (int8 per bar): 1 LONG, 0 FLAT, -1 SHORT (FLAT unless allow_short), 2 KEEP; any other
code is KEEP. A target equal to the side already held does nothing (no pyramiding).

When: fill_at 0 = next open (the target decided on bar t's close fills at bar t+1's open, so
a target on the last bar never fills); 1 = this close (at bar t's close).

Price: p * (1 + side * slippage_bps / 1e4), side +1 buy / -1 sell, then onto the tick when
tick > 0: a buy rounds up, a sell down (never below one tick), as the simulated venue does.
A price within 1e-9 ticks of a tick counts as on it (float noise, not a move).

One order per decision. E = cash + position * px (the equity marked at the fill price px).
- FLAT: sell (or buy back) the whole position.
- LONG / SHORT: close the opposite position, if any, and open the new side IN THE SAME ORDER of
  (closed + new) units, the new leg q sized after the close's cash effect:
  - sizing 0, all-in: q is the largest multiple of `lot` with
        E - q * u - fee(closed + q) >= 0,
    u = px for a buy, max(px, the quoted price) for a sell (a short's units are valued at the
    quote, as the event engine's buying-power check values them),
    so the one order's fee (with its minimum, on the whole quantity) is paid from the cash
    too; for a buy from flat that is "q * px + fee(q) <= cash". Search: with f the least fee
    per unit (px * bps / 1e4 per notional; min(rate, max_fraction * px) or rate per share; 0
    without fees) start at floor((E - closed * f) / unit / lot) lots, unit = px * (1 + bps /
    1e4) per notional, px + f otherwise (no larger q can fit; for a buy from flat that is the
    plain floor(cash / (px * (1 + bps / 1e4)) / lot)), and step down one lot while over
    (after 8 steps, bisect: the cost is monotone in q, so the answer is the same, just found
    in O(log q)).
  - sizing 1, fixed fraction: q = floor(fraction * E / px / lot) lots, fees on top (as
    domain.risk.sizing.FixedFraction, with the fill price); nothing when E <= 0.
  A new leg of 0 leaves only the close (or no order at all).
- Cash after the order: E - side * (q * px) - fee (the close at px is already in E); a short's
  proceeds add to cash. Position after: side * q.

Fees: kind 0 none; 1 per share: max(rate * Q, minimum), then at most max_fraction * Q * px
when max_fraction > 0 (the cap wins over the minimum); 2 per notional: Q * px * rate / 1e4
(rate in bps; for maker/taker venues pass the taker rate: market orders take).

Records: each fill (bar, side, quantity, price, fee). Each round trip (side, entry bar, exit
bar, quantity, entry price, exit price, pnl): pnl = side * (exit - entry) * quantity - the
entry's fee - the exit's fee, where a flip order's fee is split between its two legs in
proportion to their quantities. A position still open after the last bar is the last round
trip, with exit bar -1, marked at the last close and without an exit fee. So the number of
round trips = the number of positions opened = (long-only) the buys that filled, which is
what the peer engines call trades.

Equity per bar = cash + position * close, after that bar's fill. Max drawdown = the largest
(peak - equity) / peak over the bars, peak = the highest equity so far (starting cash included).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

KEEP = 2
_SNAP = 1e-9  # within this many ticks of a tick counts as on it
_BISECT_AFTER = 8
_MAX_LOTS = 2.0**62


@njit(cache=True)
def fee_of(quantity, price, fee_kind, fee_rate, fee_minimum, fee_max_fraction):
    if fee_kind == 1:
        fee = max(fee_rate * quantity, fee_minimum)
        if fee_max_fraction > 0.0:
            fee = min(fee, fee_max_fraction * quantity * price)
        return fee
    if fee_kind == 2:
        return quantity * price * fee_rate / 1e4
    return 0.0


@njit(cache=True)
def fill_price(price, side, slippage_bps, tick):
    moved = price * (1.0 + side * slippage_bps / 1e4)
    if tick <= 0.0:
        return moved
    ticks = moved / tick
    nearest = math.floor(ticks + 0.5)
    if abs(ticks - nearest) <= _SNAP * max(1.0, nearest):
        steps = nearest
    elif side > 0:
        steps = math.ceil(ticks)
    else:
        steps = math.floor(ticks)
    if side < 0 and steps < 1.0:
        steps = 1.0  # a sell never rounds to a price of zero
    # Decimal ticks (0.01, 1e-8) as steps / 100, not steps * 0.01: 10012 / 100 is the double
    # nearest 100.12, where 10012 * 0.01 may be one ulp off.
    per_unit = 1.0 / tick
    whole = math.floor(per_unit + 0.5)
    if tick < 1.0 and abs(per_unit - whole) <= _SNAP * whole:
        return steps / whole
    return steps * tick


@njit(cache=True)
def _room(lots, budget, closing, px, unit_px, lot, fee_kind, fee_rate, fee_minimum, fee_max_fraction):
    """What is left of the budget after a new leg of `lots` lots (>= 0 means it fits)."""
    q = lots * lot
    return budget - q * unit_px - fee_of(closing + q, px, fee_kind, fee_rate, fee_minimum, fee_max_fraction)


@njit(cache=True)
def new_leg_lots(budget, closing, px, unit_px, lot, fee_kind, fee_rate, fee_minimum, fee_max_fraction):
    """The largest whole number of lots for the new leg (rules in the module docstring)."""
    if fee_kind == 2:
        unit_fee = px * fee_rate / 1e4
    elif fee_kind == 1:
        unit_fee = min(fee_rate, fee_max_fraction * px) if fee_max_fraction > 0.0 else fee_rate
    else:
        unit_fee = 0.0
    unit = unit_px + unit_fee
    free = budget - closing * unit_fee
    if not free > 0.0:
        return 0
    lots = np.int64(math.floor(min(free / unit / lot, _MAX_LOTS)))
    steps = 0
    while lots > 0 and _room(lots, budget, closing, px, unit_px, lot, fee_kind, fee_rate, fee_minimum, fee_max_fraction) < 0.0:
        steps += 1
        if steps > _BISECT_AFTER:
            low, high = np.int64(0), lots  # answer in [low, high): high does not fit, 0 is the floor
            while high - low > 1:
                middle = (low + high) // 2
                if _room(middle, budget, closing, px, unit_px, lot, fee_kind, fee_rate, fee_minimum, fee_max_fraction) < 0.0:
                    high = middle
                else:
                    low = middle
            return low
        lots -= 1
    return lots


@njit(cache=True)
def fill_capacity(targets, allow_short):
    """An upper bound on the fills of one run: at most two per run of equal targets (a flip
    whose new leg is 0 lots closes, and a later bar of the same run may open)."""
    runs = 0
    last = 99
    for t in range(targets.shape[0]):
        code = targets[t]
        if code < -1 or code > 1:
            continue
        if code == -1 and not allow_short:
            code = 0
        if code != last:
            runs += 1
            last = code
    return 2 * runs


@njit(cache=True)
def simulate(
    open_, close, targets, cash, fill_at, sizing, fraction, lot, tick, slippage_bps,
    fee_kind, fee_rate, fee_minimum, fee_max_fraction, allow_short,
    equity, fill_bar, fill_side, fill_qty, fill_price_out, fill_fee,
    trip_side, trip_entry_bar, trip_exit_bar, trip_qty, trip_entry_price, trip_exit_price, trip_pnl,
):
    """Run one backtest. Output arrays of length 0 are not written (the sweep needs only the
    totals); otherwise `equity` has one slot per bar and the fill and trip arrays at least
    fill_capacity(targets, allow_short) slots. Returns (fills, round trips, cash, position,
    max drawdown); the round trips include a position still open at the end."""
    n = close.shape[0]
    keep_equity = equity.shape[0] == n
    keep_fills = fill_bar.shape[0] > 0
    position = 0.0
    fills = 0
    trips = 0
    entry_bar = -1
    entry_price = 0.0
    entry_fee = 0.0
    peak = cash
    max_drawdown = 0.0
    for t in range(n):
        if fill_at == 0:
            code = targets[t - 1] if t > 0 else KEEP
            price = open_[t]
        else:
            code = targets[t]
            price = close[t]
        if -1 <= code <= 1:
            wanted = 0 if (code == -1 and not allow_short) else code
            held = 1 if position > 0.0 else (-1 if position < 0.0 else 0)
            if wanted != held:
                side = wanted if wanted != 0 else -held
                px = fill_price(price, float(side), slippage_bps, tick)
                marked = cash + position * px
                closing = abs(position)
                new = 0.0
                if wanted != 0:
                    if sizing == 0:
                        # A short's units count at the higher of the fill and the quoted price:
                        # the venue's buying-power check values them at the quote.
                        unit_px = px if side > 0 else max(px, price)
                        new = new_leg_lots(marked, closing, px, unit_px, lot, fee_kind, fee_rate, fee_minimum,
                                           fee_max_fraction) * lot
                    elif marked > 0.0:
                        new = np.int64(math.floor(min(fraction * marked / px / lot, _MAX_LOTS))) * lot
                quantity = closing + new
                if quantity > 0.0:
                    fee = fee_of(quantity, px, fee_kind, fee_rate, fee_minimum, fee_max_fraction)
                    cash = marked - wanted * (new * px) - fee
                    if keep_fills:
                        # numba does not check bounds: refuse rather than corrupt (trips <= fills always)
                        if fills >= fill_bar.shape[0]:
                            raise IndexError("more fills than fill_capacity() allowed for")
                        fill_bar[fills] = t
                        fill_side[fills] = side
                        fill_qty[fills] = quantity
                        fill_price_out[fills] = px
                        fill_fee[fills] = fee
                    fills += 1
                    if closing > 0.0:
                        exit_fee = fee if new == 0.0 else fee * (closing / quantity)
                        if keep_fills:
                            trip_side[trips] = held
                            trip_entry_bar[trips] = entry_bar
                            trip_exit_bar[trips] = t
                            trip_qty[trips] = closing
                            trip_entry_price[trips] = entry_price
                            trip_exit_price[trips] = px
                            trip_pnl[trips] = held * (px - entry_price) * closing - entry_fee - exit_fee
                        trips += 1
                    if new > 0.0:
                        entry_bar = t
                        entry_price = px
                        entry_fee = fee if closing == 0.0 else fee * (new / quantity)
                    position = wanted * new
        value = cash + position * close[t]
        if keep_equity:
            equity[t] = value
        if value > peak:
            peak = value
        elif peak > 0.0 and (peak - value) / peak > max_drawdown:
            max_drawdown = (peak - value) / peak
    if position != 0.0:
        held = 1 if position > 0.0 else -1
        if keep_fills:
            last = close[n - 1]
            trip_side[trips] = held
            trip_entry_bar[trips] = entry_bar
            trip_exit_bar[trips] = -1
            trip_qty[trips] = abs(position)
            trip_entry_price[trips] = entry_price
            trip_exit_price[trips] = last
            trip_pnl[trips] = held * (last - entry_price) * abs(position) - entry_fee
        trips += 1
    return fills, trips, cash, position, max_drawdown


@njit(cache=True, parallel=True)
def simulate_many(
    open_, close, targets, cash, fill_at, sizing, fraction, lot, tick, slippage_bps,
    fee_kind, fee_rate, fee_minimum, fee_max_fraction, allow_short,
    trades_out, final_equity_out, max_drawdown_out,
):
    """simulate() for each row of a 2-D targets array (one parameter set per row), in
    parallel over rows, keeping only the totals."""
    n = close.shape[0]
    no_floats = np.empty(0, dtype=np.float64)
    no_ints = np.empty(0, dtype=np.int64)
    no_sides = np.empty(0, dtype=np.int8)
    for row in prange(targets.shape[0]):
        fills, trips, cash_end, position, max_drawdown = simulate(
            open_, close, targets[row], cash, fill_at, sizing, fraction, lot, tick, slippage_bps,
            fee_kind, fee_rate, fee_minimum, fee_max_fraction, allow_short,
            no_floats, no_ints, no_sides, no_floats, no_floats, no_floats,
            no_sides, no_ints, no_ints, no_floats, no_floats, no_floats, no_floats,
        )
        trades_out[row] = trips
        final_equity_out[row] = cash_end + position * close[n - 1]
        max_drawdown_out[row] = max_drawdown
