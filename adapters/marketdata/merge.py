"""Merge per-symbol bar streams into one (ts, symbol)-ordered stream, lazily."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from domain.accounting.market import Bar


def merge_bars(streams: Iterable[Iterable[Bar]]) -> Iterator[Bar]:
    return heapq.merge(*streams, key=lambda bar: (bar.ts, bar.symbol))
