"""Several strategies side by side in one account: capital allocated and rebalanced on a
schedule (cash moved between the sleeves' ledgers, never counted as P&L), the cool-down,
the per-strategy report, conflicting signals netted at the venue, and a crashing strategy
beside a healthy one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import attrs

from application.records import AuditKind
from application.reports.strategy_report import strategy_report
from application.trading.allocation import AllocationSchedule
from application.trading.reconcile import reconcile
from domain.accounting.instrument import crypto
from domain.accounting.market import Bar
from domain.analytics.allocation import AllocationMethod, AllocationPolicy
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, ScriptedStrategy, always, spec
from tests.fakes.harness import Harness
from tests.fakes.sim_session import crypto_sim_session

BTC, ETH = crypto("BTC-USD"), crypto("ETH-USD")
START = datetime(2025, 1, 6, 0, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def daily(symbol, closes, *, first=0):
    return [Bar(symbol=symbol, ts=START + (first + i) * DAY, open=Decimal(c), high=Decimal(c), low=Decimal(c),
                close=Decimal(c), volume=Decimal(10_000_000), interval=DAY) for i, c in enumerate(closes)]


def interleave(*series):
    return [bar for group in zip(*series) for bar in group]


def sleeve(name, strategy, symbol, instrument, capital=10_000):
    return spec(name, strategy=strategy, instruments={symbol: instrument}, fraction="0.9", capital=capital)


def test_fixed_weights_move_cash_between_the_sleeves_at_the_first_bar_and_keep_the_total():
    h = Harness()
    policy = AllocationPolicy(weights={"a": Decimal(3), "b": Decimal(1)}, performance_tilt=0,
                              min_weight=Decimal(0), max_weight=Decimal(1))
    bots = [sleeve("a", always(Target.FLAT), "BTC-USD", BTC), sleeve("b", always(Target.FLAT), "ETH-USD", ETH)]
    s, _ = crypto_sim_session(h, bots, instruments={"BTC-USD": BTC, "ETH-USD": ETH}, start=START,
                              allocation=AllocationSchedule(policy=policy, every=timedelta(days=5)))
    s.process_bar(daily("BTC-USD", [100])[0], now=START + DAY)
    with h.store() as uow:
        cash = {a.bot: a.cash for a in uow.accounts.list(account=ACCOUNT)}
        records = uow.allocations.list(account=ACCOUNT)
    assert cash == {"a": Decimal(15_000), "b": Decimal(5_000)}
    assert [(r.bot, r.weight, r.transfer) for r in records] == [("a", Decimal("0.75"), Decimal(5000)),
                                                                ("b", Decimal("0.25"), Decimal(-5000))]
    [entry] = h.audit(AuditKind.ALLOCATION)
    assert "a 75.00% (+5000.00), b 25.00% (-5000.00)" in entry.message and entry.data["reasons"]["a"] == "fixed weight 3"
    # Moving capital is not profit: neither sleeve shows P&L.
    with h.store() as uow:
        report = strategy_report(uow, account=ACCOUNT)
    assert {x.bot: x.net_pnl for x in report.sleeves} == {"a": 0, "b": 0}


def test_rebalancing_follows_the_schedule_tilts_towards_what_works_and_holds_through_the_cool_down():
    h = Harness()
    policy = AllocationPolicy(performance_tilt=1.0, min_weight=Decimal("0.1"), max_weight=Decimal("0.9"),
                              cooldown=timedelta(days=10), min_history=3, lookback=30)
    bots = [sleeve("winner", always(Target.LONG), "BTC-USD", BTC), sleeve("loser", always(Target.LONG), "ETH-USD", ETH)]
    s, _ = crypto_sim_session(h, bots, instruments={"BTC-USD": BTC, "ETH-USD": ETH}, start=START,
                              allocation=AllocationSchedule(policy=policy, every=timedelta(days=5)))
    up = [100 * (1.01 ** i) + (i % 2) for i in range(30)]
    down = [100 * (0.99 ** i) - (i % 2) for i in range(30)]
    for bar in interleave(daily("BTC-USD", [f"{x:.2f}" for x in up]), daily("ETH-USD", [f"{x:.2f}" for x in down])):
        s.process_bar(bar, now=bar.end)
    with h.store() as uow:
        records = uow.allocations.list(account=ACCOUNT, bot="winner")
        total = sum((a.cash for a in uow.accounts.list(account=ACCOUNT)), Decimal(0))
    days = [(r.ts - records[0].ts).days for r in records]
    assert days == [0, 5, 10, 15, 20, 25]  # every 5 days of session time
    changes = [r.ts for prev, r in zip(records, records[1:]) if r.weight != prev.weight]
    assert all((b - a) >= timedelta(days=10) for a, b in zip(changes, changes[1:]))  # the cool-down
    assert records[-1].weight > Decimal("0.5")  # capital went towards the winner
    assert total > 0
    with h.store() as uow:
        report = strategy_report(uow, account=ACCOUNT)
    by_bot = {x.bot: x for x in report.sleeves}
    assert by_bot["winner"].sharpe > 0 > by_bot["loser"].sharpe
    assert by_bot["winner"].net_pnl > 0 > by_bot["loser"].net_pnl


def test_conflicting_signals_on_one_symbol_net_at_the_venue_and_each_strategy_keeps_its_own_book():
    h = Harness()
    long_bot = sleeve("bull", always(Target.LONG), "BTC-USD", BTC)
    short_bot = sleeve("bear", always(Target.SHORT), "BTC-USD", BTC)
    s, venue = crypto_sim_session(h, [long_bot, short_bot], instruments={"BTC-USD": BTC}, start=START)
    for bar in daily("BTC-USD", [100, 110, 121]):
        s.process_bar(bar, now=bar.end)
    bull, bear = s.states
    q_bull = bull.portfolio.position("BTC-USD").quantity
    q_bear = bear.portfolio.position("BTC-USD").quantity
    assert q_bull == Decimal(90) and q_bear == Decimal(-90)  # 0.9 x 10,000 / 100 each way
    assert venue.positions().get("BTC-USD", Decimal(0)) == q_bull + q_bear == 0  # netted in one account
    assert reconcile(account=ACCOUNT, broker=venue, uow_factory=h.store, now=START + 4 * DAY).ok
    marks = {"BTC-USD": Decimal(121)}
    assert bull.portfolio.equity(marks) - 10_000 == Decimal(90) * 21  # the long made what the short lost
    assert bear.portfolio.equity(marks) - 10_000 == Decimal(-90) * 21


def test_a_crashing_strategy_is_switched_off_beside_a_healthy_one_which_carries_on():
    h = Harness()

    def crash(_symbol, n):
        if n >= 3:
            raise ZeroDivisionError("bad math in a user strategy")
        return Target.LONG

    bots = [sleeve("fragile", ScriptedStrategy(decide=crash, name="fragile"), "BTC-USD", BTC),
            sleeve("steady", ScriptedStrategy(decide=lambda _s, n: Target.LONG if n % 2 else Target.FLAT,
                                              name="steady"), "ETH-USD", ETH)]
    s, _ = crypto_sim_session(h, bots, instruments={"BTC-USD": BTC, "ETH-USD": ETH}, start=START)
    for bar in interleave(daily("BTC-USD", [100] * 6), daily("ETH-USD", [50] * 6)):
        s.process_bar(bar, now=bar.end)
    fragile, steady = s.states
    assert "ZeroDivisionError: bad math" in fragile.disabled["BTC-USD"]
    assert not steady.disabled
    assert len([o for o in h.orders("steady")]) == 6  # it kept trading on every bar
    assert fragile.portfolio.position("BTC-USD").quantity > 0  # its position stays (not dumped by the crash)
    assert any("strategy disabled on fragile/BTC-USD" in n.title for n in h.notifier.sent)
    with h.store() as uow:
        report = strategy_report(uow, account=ACCOUNT)
    assert report.disabled and report.disabled[0].startswith("fragile/BTC-USD")


def test_capital_moved_out_of_a_sleeve_is_no_drawdown_nor_daily_loss_also_after_a_restart():
    """Issue 13, point 10: the allocator takes half of sleeve b's cash; b made no trade, so its
    drawdown and its loss of the day are zero (time-weighted, net of flows), before and after
    a restart that rebuilds the peak from the store."""
    from domain.risk.circuit_breakers import DailyLossLimit, DrawdownBreaker
    from domain.risk.trading_state import TradingState

    h = Harness()
    policy = AllocationPolicy(weights={"a": Decimal(3), "b": Decimal(1)}, performance_tilt=0,
                              min_weight=Decimal(0), max_weight=Decimal(1))
    breakers = {"drawdown": DrawdownBreaker(warning=Decimal("0.10"), limit=Decimal("0.20")),
                "daily_loss": DailyLossLimit(max_loss_percent=Decimal("0.05"))}
    bots = [attrs.evolve(sleeve("a", always(Target.FLAT), "BTC-USD", BTC), **breakers),
            attrs.evolve(sleeve("b", always(Target.FLAT), "ETH-USD", ETH), **breakers)]
    schedule = AllocationSchedule(policy=policy, every=timedelta(days=5))
    s, _ = crypto_sim_session(h, bots, instruments={"BTC-USD": BTC, "ETH-USD": ETH}, start=START, allocation=schedule)
    for bar in interleave(daily("BTC-USD", [100, 100, 100]), daily("ETH-USD", [50, 50, 50])):
        s.process_bar(bar, now=bar.end)
    with h.store() as uow:
        assert {a.bot: a.cash for a in uow.accounts.list(account=ACCOUNT)} == {"a": Decimal(15_000), "b": Decimal(5_000)}
    assert {st.name: st.trading_state for st in s.states} == {"a": TradingState.ACTIVE, "b": TradingState.ACTIVE}
    assert all(not st.daily_loss_stop for st in s.states)
    assert not [e for e in h.audit() if e.severity == "critical"], [e.message for e in h.audit()]
    assert not h.audit(AuditKind.HALT)
    # `quantshift risk` (and the dashboard, from the same figures) read it as the breaker does.
    from application.reports.risk_report import risk_report

    with h.store() as uow:
        rows = {r.bot: r for r in risk_report(uow, account=ACCOUNT, bots=bots, now=START + 3 * DAY)}
    assert (rows["b"].equity, rows["b"].peak, rows["b"].drawdown) == (Decimal(5_000), Decimal(5_000), 0)
    assert rows["b"].daily_pnl == 0 and rows["a"].daily_pnl == 0
    s.stop(now=START + 4 * DAY)
    # A restart rebuilds b's peak from its stored curve and the transfer: still no drawdown.
    again, _ = crypto_sim_session(h, bots, instruments={"BTC-USD": BTC, "ETH-USD": ETH}, start=START + 4 * DAY,
                                  allocation=schedule)
    b = next(st for st in again.states if st.name == "b")
    assert b.watermark is not None and b.watermark.drawdown(b.equity()) == 0
    for bar in interleave(daily("BTC-USD", [100], first=4), daily("ETH-USD", [50], first=4)):
        again.process_bar(bar, now=bar.end)
    assert {st.name: st.trading_state for st in again.states} == {"a": TradingState.ACTIVE, "b": TradingState.ACTIVE}
    assert not h.audit(AuditKind.HALT)
