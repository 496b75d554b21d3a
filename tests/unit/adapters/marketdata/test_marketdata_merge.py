from datetime import datetime, timedelta, timezone
from decimal import Decimal

from adapters.marketdata.merge import merge_bars
from domain.accounting.market import Bar

T0 = datetime(2025, 1, 2, 14, 30, tzinfo=timezone.utc)


def bar(symbol: str, minute: int) -> Bar:
    p = Decimal(10)
    return Bar(symbol=symbol, ts=T0 + timedelta(minutes=minute), open=p, high=p, low=p, close=p, volume=Decimal(1))


def test_merges_in_time_then_symbol_order():
    merged = list(merge_bars([[bar("SPY", 0), bar("SPY", 2)], [bar("AAPL", 0), bar("AAPL", 1), bar("AAPL", 3)]]))
    assert [(b.symbol, b.ts.minute - 30) for b in merged] == [("AAPL", 0), ("SPY", 0), ("AAPL", 1), ("SPY", 2), ("AAPL", 3)]
