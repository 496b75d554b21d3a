"""Array kernels the indicators are built from: rolling sums, extremes and moments, and
first-order linear recurrences (EMA, Wilder smoothing) without a Python loop per bar.

Each rolling kernel returns one value per *full* window: for n inputs and window w,
n - w + 1 values, the first for the window ending at index w - 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

# Block length for the recurrences: each block of 16 inputs is one row of a matrix
# product; the carry between blocks is the same problem, 16x shorter. 16 was fastest
# on 1M bars (32 and 64 cost more multiplications than they save in overhead).
_RECURRENCE_BLOCK = 16
_RECURRENCE_CHUNK = 1 << 18

# Window statistics are built by doubling: the statistic of every span of 1, 2, 4, ...
# values, and each window as a merge of the spans in its length's binary expansion.
# That is log2(window) array passes, and each value passes through at most
# 2*log2(window) additions, so errors stay at the pairwise-summation level: no
# cumulative sum whose rounding grows with the length of the series.
State = tuple[np.ndarray | None, ...]
Merge = Callable[[State, int, State, int], State]

# Windows are computed this many at a time. The doubling makes several temporaries per
# pass; at this size they stay in cache and are reused, where whole-series temporaries
# (8 MB per 1M bars) cost more in fresh-page faults than the arithmetic itself.
_WINDOW_CHUNK = 1 << 15


def _cut(state: State, start: int, stop: int | None) -> State:
    return tuple(None if part is None else part[start:stop] for part in state)


def _combine_windows(leaf: State, window: int, merge: Merge) -> State:
    """The merged state of each full window (len - window + 1 of them), from per-value states."""
    n = len(leaf[0])
    level, span = leaf, 1
    acc: State | None = None
    acc_size = 0
    while True:
        if window & span:
            if acc is None:
                acc, acc_size = level, span
            else:
                length = n - (acc_size + span) + 1
                acc = merge(_cut(acc, 0, length), acc_size, _cut(level, acc_size, acc_size + length), span)
                acc_size += span
        if span * 2 > window:
            break
        level = merge(_cut(level, 0, -span), span, _cut(level, span, None), span)
        span *= 2
    return _cut(acc, 0, n - window + 1)


def _by_chunks(
    leaf: State, window: int, merge: Merge, *, outputs: tuple[int, ...], out: tuple[np.ndarray | None, ...]
) -> tuple[np.ndarray, ...]:
    """_combine_windows over chunks of windows, writing parts `outputs` of the state into `out`."""
    count = len(leaf[0]) - window + 1
    result = tuple(np.empty(max(count, 0)) if target is None else target for target in out)
    step = max(_WINDOW_CHUNK, window)
    for start in range(0, count, step):
        stop = min(start + step, count)
        state = _combine_windows(_cut(leaf, start, stop + window - 1), window, merge)
        for part, target in zip(outputs, result, strict=True):
            value = state[part]
            target[start:stop] = 0.0 if value is None else value
    return result


def _add(a: State, _size_a: int, b: State, _size_b: int) -> State:
    return (a[0] + b[0],)


def rolling_sum(x: np.ndarray, window: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """Sum of each full window (written into `out` when given)."""
    return _by_chunks((x,), window, _add, outputs=(0,), out=(out,))[0]


def _add_weighted(a: State, size_a: int, b: State, _size_b: int) -> State:
    # (plain sum, weighted sum): b's weights continue after a's, so b's weighted sum
    # gains size_a times its plain sum.
    return a[0] + b[0], a[1] + b[1] + size_a * b[0]


def rolling_weighted_sum(x: np.ndarray, window: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """Sum of weight * value over each full window, weights 1 (oldest) .. window (newest)."""
    return _by_chunks((x, x), window, _add_weighted, outputs=(1,), out=(out,))[0]


def _extreme(reduce: np.ufunc) -> Merge:
    # Max/min merge the same way; spans may overlap for them, but exactness is all we need.
    return lambda a, _size_a, b, _size_b: (reduce(a[0], b[0]),)


def rolling_max(x: np.ndarray, window: int, *, out: np.ndarray | None = None) -> np.ndarray:
    return _by_chunks((x,), window, _extreme(np.maximum), outputs=(0,), out=(out,))[0]


def rolling_min(x: np.ndarray, window: int, *, out: np.ndarray | None = None) -> np.ndarray:
    return _by_chunks((x,), window, _extreme(np.minimum), outputs=(0,), out=(out,))[0]


def _merge_moments(a: State, size_a: int, b: State, size_b: int) -> State:
    # Chan, Golub & LeVeque's pairwise update of (mean, sum of squared deviations): no
    # sum of squares, so no cancellation, and two halves of one repeated value give
    # that value as mean and exactly 0.
    (mean_a, m2_a), (mean_b, m2_b) = a, b
    size = size_a + size_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (size_b / size)
    m2 = delta * delta
    m2 *= size_a * size_b / size
    if m2_a is not None:
        m2 += m2_a
    if m2_b is not None:
        m2 += m2_b
    return mean, m2


def rolling_mean_var(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance of each full window.

    A window of identical values gets exactly that value as mean and exactly 0 as
    variance, which the sum-of-squares formula (TA-Lib's BBANDS) cannot promise.
    """
    mean, m2 = _by_chunks((x, None), window, _merge_moments, outputs=(0, 1), out=(None, None))
    m2 /= window
    return mean, m2


# Indicators with several whole-series steps (RSI, ATR) walk the series in pieces of this
# many bars, carrying their state across: the temporaries then stay in cache.
PIECE = 1 << 16


def pieces(start: int, stop: int) -> Iterator[tuple[int, int]]:
    """[begin, end) bounds covering start..stop in PIECE-sized steps."""
    for begin in range(start, stop, PIECE):
        yield begin, min(begin + PIECE, stop)


def linear_recurrence(x: np.ndarray, *, decay: float, gain: float, initial: np.ndarray | float) -> np.ndarray:
    """y[t] = decay * y[t-1] + gain * x[t] with y[-1] = initial, for 0 <= decay < 1.

    x is (n,) or (series, n) with one initial value per series. Blocks of inputs go
    through one matrix product with the lower-triangular matrix gain * decay**(i - j);
    the value carried into each block is the same recurrence over block ends (decay**L),
    solved the same way. Every step is a contraction, so rounding does not build up.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.ndim == 1
    rows = x[None, :] if flat else x
    starts = np.broadcast_to(np.asarray(initial, dtype=np.float64), (rows.shape[0],))
    out = np.empty(rows.shape)
    # One series and one cache-sized chunk at a time: the block matrices of a whole
    # 1M-bar series do not fit in cache, and the products then run several times slower.
    for row, carry in zip(range(rows.shape[0]), starts, strict=True):
        for begin in range(0, rows.shape[1], _RECURRENCE_CHUNK):
            part = _recurrence(rows[row, begin : begin + _RECURRENCE_CHUNK], decay=decay, gain=gain, initial=float(carry))
            out[row, begin : begin + len(part)] = part
            carry = part[-1]
    return out[0] if flat else out


def _recurrence(x: np.ndarray, *, decay: float, gain: float, initial: float) -> np.ndarray:
    n = len(x)
    length = min(_RECURRENCE_BLOCK, n)
    blocks, full = -(-n // length), n // length
    powers = decay ** np.arange(length + 1, dtype=np.float64)
    powers[powers < 1e-300] = 0.0  # keep subnormals out of the matrix product
    lag = np.subtract.outer(np.arange(length), np.arange(length))
    # Column 0 of each row is the value carried in; columns 1.. are the block's inputs.
    # matrix row 0 spreads the carry (decay**(j+1)), rows 1.. are gain * decay**(j - s), s <= j.
    matrix = np.empty((length + 1, length))
    matrix[0] = powers[1:]
    matrix[1:] = np.where(lag >= 0, gain * powers[np.clip(lag, 0, length)], 0.0).T
    rows = np.zeros((blocks, length + 1))
    rows[:full, 1:] = x[: full * length].reshape(full, length)
    if blocks > full:
        rows[full, 1 : 1 + n - full * length] = x[full * length :]
    if blocks > 1:
        # Each block's last value as if it started from 0 (carry column still 0); the
        # recurrence over those ends gives the value each block really starts from.
        ends = _recurrence(rows @ matrix[:, -1], decay=decay**length, gain=1.0, initial=initial)
        rows[1:, 0] = ends[:-1]
    rows[0, 0] = initial
    return (rows @ matrix).reshape(-1)[:n]
