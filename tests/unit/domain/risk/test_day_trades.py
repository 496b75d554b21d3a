"""The optional rolling day-trade counter: what counts as a day trade, the 5-session window,
and the rule in the cycle (no new entries at the limit; exits are never blocked)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from adapters.marketdata.calendar import nyse_recent_session_keys
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.orders.fill import Fill
from domain.orders.order import OrderSide, OrderStatus
from domain.risk.circuit_breakers import crypto_session_key
from domain.risk.day_trades import DayTradeRule, day_trades
from domain.strategy import Target
from tests.fakes.builders import ScriptedStrategy, spec
from tests.fakes.harness import Harness
from tests.fakes.sim_session import crypto_sim_session

BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY1 = datetime(2025, 3, 3, 15, 0, tzinfo=timezone.utc)  # a Monday


def fill(n: int, side: OrderSide, qty, *, at: datetime, order: str | None = None, symbol="AAPL") -> Fill:
    return Fill(fill_id=f"f{n}", client_order_id=order or f"o{n}", symbol=symbol, side=side, quantity=Decimal(qty),
                price=Decimal(100), commission=Decimal(0), ts=at)


def count(fills) -> list[tuple[str, str, str]]:
    return [(t.symbol, t.session, t.client_order_id) for t in day_trades(fills, session_key=crypto_session_key)]


def test_a_buy_and_a_sale_the_same_day_is_one_day_trade_even_in_several_fills():
    fills = [fill(1, BUY, 10, at=DAY1), fill(2, SELL, 4, at=DAY1 + timedelta(hours=1), order="close"),
             fill(3, SELL, 6, at=DAY1 + timedelta(hours=2), order="close")]
    assert count(fills) == [("AAPL", "2025-03-03", "close")]


def test_closing_a_position_carried_overnight_is_not_a_day_trade():
    fills = [fill(1, BUY, 10, at=DAY1), fill(2, SELL, 10, at=DAY1 + timedelta(days=1))]
    assert count(fills) == []


def test_only_the_part_opened_today_makes_a_day_trade_and_a_flip_opens_the_other_side():
    carried = fill(1, BUY, 10, at=DAY1)
    day2 = DAY1 + timedelta(days=1)
    # Sell the 10 carried (no day trade), then 5 more (a short opened today), then cover it.
    fills = [carried, fill(2, SELL, 15, at=day2, order="flip"), fill(3, BUY, 5, at=day2 + timedelta(hours=1),
                                                                     order="cover")]
    assert count(fills) == [("AAPL", "2025-03-04", "cover")]
    # Adding to a carried position and trimming the same day is a day trade; other symbols are apart.
    fills = [carried, fill(4, BUY, 5, at=day2), fill(5, SELL, 3, at=day2 + timedelta(hours=1), order="trim"),
             fill(6, BUY, 1, at=day2, symbol="MSFT")]
    assert count(fills) == [("AAPL", "2025-03-04", "trim")]


def test_the_rule_counts_the_last_business_sessions_and_never_blocks_an_exit():
    rule = DayTradeRule(max_day_trades=3, window_sessions=5, min_equity=Decimal(25000))
    fills = []
    for n, day in enumerate(["2025-11-21", "2025-11-24", "2025-11-26"]):  # Fri, Mon, Wed
        at = datetime.fromisoformat(day + "T15:00:00+00:00")
        fills += [fill(2 * n, BUY, 1, at=at), fill(2 * n + 1, SELL, 1, at=at + timedelta(hours=1))]
    trades = day_trades(fills, session_key=crypto_session_key)
    # Monday 1 December: Thanksgiving (27th) is not a business day, so the window reaches back
    # to the 24th and holds 2 of the 3; a window of 6 sessions reaches the Friday.
    window = nyse_recent_session_keys(datetime(2025, 12, 1, 15, 0, tzinfo=timezone.utc), count=6)
    assert window == ["2025-11-21", "2025-11-24", "2025-11-25", "2025-11-26", "2025-11-28", "2025-12-01"]
    assert rule.count(trades, window=window) == 2
    assert rule.check(trades=trades, window=window, equity=Decimal(10000), reduces_risk=False).passed
    six = attrs.evolve(rule, window_sessions=6)
    entry = six.check(trades=trades, window=window, equity=Decimal(10000), reduces_risk=False)
    assert not entry.passed and "3 day trade(s) in the last 6 sessions" in entry.detail
    assert six.check(trades=trades, window=window, equity=Decimal(10000), reduces_risk=True).passed
    assert six.check(trades=trades, window=window, equity=Decimal(30000), reduces_risk=False).passed


def test_in_the_cycle_the_fourth_entry_of_the_window_is_denied_and_exits_still_go():
    btc = crypto("BTC-USD")
    start = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)
    # In on odd bars, out on even ones, all within one UTC day: each exit is a day trade.
    strategy = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n % 2 == 1 else Target.FLAT, name="flipper")
    bot_spec = attrs.evolve(spec("pdt", strategy=strategy, instruments={"BTC-USD": btc}, fraction="0.5",
                                 capital=10_000),
                            session_key=crypto_session_key,
                            day_trades=DayTradeRule(max_day_trades=3, window_sessions=5, min_equity=Decimal(25000)),
                            recent_sessions=lambda at, n: [(at - timedelta(days=k)).date().isoformat()
                                                           for k in reversed(range(n))])
    h = Harness()
    session, _ = crypto_sim_session(h, bot_spec, instruments={"BTC-USD": btc}, start=start)
    for i in range(10):
        ts = start + timedelta(minutes=15 * i)
        c = Decimal(100 + i)
        session.process_bar(Bar(symbol="BTC-USD", ts=ts, open=c, high=c, low=c, close=c, volume=Decimal(10**6),
                                interval=timedelta(minutes=15)), now=ts + timedelta(minutes=15))
    with h.store() as uow:
        orders = sorted(uow.orders.list(account=session.states[0].account), key=lambda o: o.created_at)
    filled = [o for o in orders if o.status is OrderStatus.FILLED]
    denied = [o for o in orders if o.status is OrderStatus.DENIED]
    # Three round trips (3 day trades), then every later entry is refused by the counter.
    assert [o.side for o in filled] == [BUY, SELL] * 3
    assert denied and all(o.side is BUY and o.reason.startswith("day_trades:") for o in denied)
