"""The trading cycle with fakes: record before send, deterministic ids, one order per
intent, the runaway stopped by the throttle, one pending order per symbol, risk
denials recorded, and a failing strategy contained."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from application.ports import AlertLevel
from application.records import AuditKind
from application.trading.trading_cycle import CycleResult
from domain.accounting.instrument import equity
from domain.accounting.position import Position
from domain.errors import StoreUnavailable
from domain.orders.intent import OrderIntent
from domain.orders.order import OrderSide, OrderStatus, OrderType, client_order_id_for
from domain.risk.risk import Approved, Denied, RiskContext, RiskEngine, RiskLimits
from domain.risk.trading_state import TradingState
from domain.strategies.ma_crossover import MovingAverageCrossover
from domain.strategy import Target
from tests.fakes.builders import ACCOUNT, T0, ScriptedStrategy, always, bar, bars, spec
from tests.fakes.harness import Harness

ALL_CHECKS = [
    "trading_state", "daily_loss", "order_rate_symbol", "order_rate_bot", "pending_order", "fresh_data",
    "max_order_quantity", "max_order_notional", "price_collar", "buying_power", "gross_exposure",
]


def test_ma_crossover_buys_then_sells_and_records_each_intent_before_it_is_sent():
    h = Harness()
    seen_in_store = []

    def look_into_the_store(order):
        # The broker is being called: the intent must already be committed.
        with h.store.unit_of_work(read_only=True) as uow:
            stored = uow.orders.get(order.client_order_id)
            approvals = [e for e in uow.audit.list(kind="order") if e.client_order_id == order.client_order_id]
        seen_in_store.append((stored.status if stored else None, stored.quantity if stored else None,
                              [e.message for e in approvals]))

    h.broker.on_submit = look_into_the_store
    bot = h.bot(spec(strategy=MovingAverageCrossover(fast=2, slow=4, entry="level"), fraction="0.5", capital=100_000))
    closes = [100, 100, 100, 100, 101, 104, 108, 112, 109, 105, 103]
    results = []
    for b in bars("SPY", closes):
        results.append(h.cycle.on_bar(bot, b, now=b.end)[0])
        for cid, venue in h.broker.orders.items():  # the venue fills each order at that bar's close
            if venue.status is OrderStatus.ACCEPTED:
                h.broker.fill(cid, venue.order.quantity, b.close, b.end)
        h.settle(bot)

    S, N, X = CycleResult.SUBMITTED, CycleResult.NOTHING_TO_DO, CycleResult.NO_SIGNAL
    assert results == [X, X, X, N, S, N, N, N, N, S, N]

    buy_bar, sell_bar = T0 + timedelta(minutes=4), T0 + timedelta(minutes=9)
    expected_ids = [
        client_order_id_for(account=ACCOUNT, bot="bot1", strategy="ma_crossover", symbol="SPY",
                            side=OrderSide.BUY, signal_ts=buy_bar),
        client_order_id_for(account=ACCOUNT, bot="bot1", strategy="ma_crossover", symbol="SPY",
                            side=OrderSide.SELL, signal_ts=sell_bar),
    ]
    assert h.broker.submitted_ids() == expected_ids
    assert [(o.side, o.quantity, o.order_type) for o in h.broker.submits] == [
        (OrderSide.BUY, Decimal(495), OrderType.MARKET),  # 100000 x 0.5 / 101 = 495.05 -> 495
        (OrderSide.SELL, Decimal(495), OrderType.MARKET),
    ]
    # At the moment of sending, each intent was in the store (INITIALIZED) with its approval.
    assert [(status, qty) for status, qty, _ in seen_in_store] == [
        (OrderStatus.INITIALIZED, Decimal(495)), (OrderStatus.INITIALIZED, Decimal(495))]
    assert seen_in_store[0][2] == ["intent buy 495 SPY: approved"]
    assert seen_in_store[1][2] == ["intent sell 495 SPY: approved"]

    orders = h.orders()
    assert [(o.client_order_id, o.status, o.filled_quantity, o.average_fill_price) for o in orders] == [
        (expected_ids[0], OrderStatus.FILLED, Decimal(495), Decimal(101)),
        (expected_ids[1], OrderStatus.FILLED, Decimal(495), Decimal(105)),
    ]
    assert orders[0].submitted_at == buy_bar + timedelta(minutes=1)
    # 100000 - 495 x 101 + 495 x 105 = 101980; the round trip made 495 x 4 = 1980.
    assert bot.portfolio.cash == Decimal(101_980)
    assert bot.portfolio.position("SPY").quantity == 0
    with h.store() as uow:
        trips = uow.trades.list(account=ACCOUNT)
        fills = uow.fills.list(account=ACCOUNT)
    assert [(t.gross_pnl, t.entry_price, t.exit_price, t.quantity) for _, t in trips] == [
        (Decimal(1980), Decimal(101), Decimal(105), Decimal(495))]
    assert len(fills) == 2

    # The audit entry of the approved BUY says why: the signal, the sizing, every check.
    approval = next(e for e in h.audit(AuditKind.ORDER) if e.client_order_id == expected_ids[0]
                    and "approved" in e.message)
    assert approval.data["signal"]["target"] == "long"
    assert approval.data["signal"]["fast_sma"] == 100.5 and approval.data["signal"]["slow_sma"] == 100.25
    assert "100000.00 equity x 0.5 / 101 price" in approval.data["sizing"]
    assert [c["check"] for c in approval.data["checks"]] == ALL_CHECKS
    assert all(c["passed"] for c in approval.data["checks"])


def test_the_same_buy_signal_evaluated_500_times_reaches_the_venue_once():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    results = h.cycle.on_bar(bot, bar("SPY", T0, 100), now=T0 + timedelta(minutes=1), evaluations=500)

    assert Counter(results) == {CycleResult.SUBMITTED: 1, CycleResult.DUPLICATE: 499}
    assert len(h.broker.submits) == 1
    assert len(h.broker.orders) == 1
    orders = h.orders()
    assert len(orders) == 1 and orders[0].quantity == Decimal(500)
    assert orders[0].status is OrderStatus.ACCEPTED


def test_a_flip_flopping_strategy_is_halted_by_the_order_rate_throttle():
    """1,000 signals one second apart: at most one order per id, and the per-symbol
    throttle (10 a minute) HALTS the bot at the 11th intent; nothing is sent after."""
    h = Harness()
    h.broker.fill_on_submit = lambda order: Decimal(100)  # every order fills at once
    flip = ScriptedStrategy(decide=lambda _s, n: Target.LONG if n % 2 else Target.FLAT, name="flip")
    limits = RiskLimits(max_orders_per_symbol_per_minute=10, max_orders_per_bot_per_minute=30)
    bot = h.bot(spec(strategy=flip, limits=limits))
    second = timedelta(seconds=1)
    results = []
    for b in bars("SPY", [100] * 1000, interval=second):
        results.extend(h.cycle.on_bar(bot, b, now=b.end, evaluations=3))
    assert b.end - T0 == timedelta(seconds=1000)  # within ~17 minutes

    counts = Counter(h.broker.submitted_ids())
    assert set(counts.values()) == {1}  # one order per client_order_id
    assert len(h.broker.submits) == 10 <= limits.max_orders_per_symbol_per_minute + 1
    assert [o.side for o in h.broker.submits] == [OrderSide.BUY, OrderSide.SELL] * 5
    # Bars 0..9 each submit once (filled at once, the re-evaluations find nothing to do);
    # bar 10 is denied and halts.
    assert results[:30] == [CycleResult.SUBMITTED, CycleResult.NOTHING_TO_DO, CycleResult.NOTHING_TO_DO] * 10
    assert results[30] == CycleResult.HALTED
    assert set(results[31:]) == {CycleResult.HALTED}
    assert flip.calls == 31  # a halted bot does not even evaluate

    control = h.control("paper-test/bot1")
    assert control is not None and control.state is TradingState.HALTED and control.actor == "risk-engine"
    assert control.reason.startswith("risk order_rate_symbol: 10 orders in the last 0:01:00")
    denied = [o for o in h.orders() if o.status is OrderStatus.DENIED]
    assert len(denied) == 1 and denied[0].reason.startswith("order_rate_symbol:")
    assert denied[0].signal_ts == T0 + 10 * second
    halts = h.audit(AuditKind.HALT, severity="critical", account=ACCOUNT)
    assert [e.message for e in halts] == [f"halted (bot paper-test/bot1): {control.reason} (by risk-engine)"]
    assert AlertLevel.CRITICAL in {a.level for a in h.notifier.sent}
    assert bot.portfolio.position("SPY").quantity == 0  # 5 buys and 5 sells of 500


def test_no_new_order_for_a_symbol_while_one_is_pending():
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG)))
    results = []
    for b in bars("SPY", [100, 100, 101, 102, 103]):
        results.append(h.cycle.on_bar(bot, b, now=b.end)[0])
        h.settle(bot)  # nothing fills: the venue never reports a fill

    assert results == [CycleResult.SUBMITTED] + [CycleResult.DENIED] * 4
    assert len(h.broker.submits) == 1
    orders = h.orders()
    assert [o.status for o in orders] == [OrderStatus.ACCEPTED] + [OrderStatus.DENIED] * 4
    assert [o.reason for o in orders[1:]] == ["pending_order: 1 open order(s) for SPY"] * 4
    assert len({o.client_order_id for o in orders}) == 5
    denials = h.audit(AuditKind.RISK)
    assert len(denials) == 4
    assert all(e.severity == "warning" and "DENIED by pending_order" in e.message for e in denials)


def _deny_one(limits: RiskLimits, **spec_args):
    h = Harness()
    bot = h.bot(spec(strategy=always(Target.LONG), limits=limits, **spec_args))
    result = h.cycle.on_bar(bot, bar("SPY", T0, 101), now=T0 + timedelta(minutes=1))
    return h, result


def _checks(entry):
    return {c["check"]: (c["passed"], c["detail"]) for c in entry.data["checks"]}


def test_an_order_over_the_quantity_limit_is_denied_before_sending():
    h, result = _deny_one(RiskLimits(max_order_quantity=Decimal(100)))
    assert result == [CycleResult.DENIED]
    assert h.broker.submits == []
    [order] = h.orders()
    assert order.status is OrderStatus.DENIED and order.submitted_at is None
    assert order.reason == "max_order_quantity: quantity 495 vs limit 100"
    [entry] = h.audit(AuditKind.RISK)
    assert entry.client_order_id == order.client_order_id and entry.severity == "warning"
    assert _checks(entry)["max_order_quantity"] == (False, "quantity 495 vs limit 100")
    assert [c["check"] for c in entry.data["checks"]] == ALL_CHECKS


def test_an_order_over_the_notional_limit_is_denied_before_sending():
    h, result = _deny_one(RiskLimits(max_order_notional=Decimal(10_000)))
    assert result == [CycleResult.DENIED] and h.broker.submits == []
    [order] = h.orders()
    assert order.reason == "max_order_notional: notional 49995.00 vs limit 10000"  # 495 x 101
    assert _checks(h.audit(AuditKind.RISK)[0])["max_order_notional"] == (False, "notional 49995.00 vs limit 10000")


def test_an_order_over_buying_power_is_denied_before_sending():
    """Cash 1,000 plus 100 QQQ worth 10,000: half the equity (5,500) is more than the cash."""
    h = Harness()
    with h.store() as uow:
        uow.accounts.ensure(account=ACCOUNT, bot="bot1", initial_cash=Decimal(11_000))
        uow.accounts.set_cash(account=ACCOUNT, bot="bot1", cash=Decimal(1_000))
        uow.positions.upsert(Position(bot="bot1", symbol="QQQ", quantity=Decimal(100), cost_basis=Decimal(10_000),
                                      updated_at=T0), account=ACCOUNT, last_price=Decimal(100))
        uow.commit()
    bot = h.bot(spec(strategy=always(Target.LONG), symbols=("SPY", "QQQ"), capital=11_000))
    assert bot.equity() == Decimal(11_000)
    result = h.cycle.on_bar(bot, bar("SPY", T0, 100), now=T0 + timedelta(minutes=1))
    assert result == [CycleResult.DENIED] and h.broker.submits == []
    [order] = h.orders()
    assert order.quantity == Decimal(55)
    assert order.reason == "buying_power: new leg 5500.00 vs cash 1000.00"
    checks = _checks(h.audit(AuditKind.RISK)[0])
    assert checks["buying_power"] == (False, "new leg 5500.00 vs cash 1000.00")
    assert checks["gross_exposure"] == (False, "gross exposure after 15500.00 vs cap 11000.00")


def _intent(**overrides) -> OrderIntent:
    fields = dict(account=ACCOUNT, bot="bot1", strategy="s", instrument=equity("SPY"), side=OrderSide.BUY,
                  quantity=Decimal(10), order_type=OrderType.LIMIT, signal_ts=T0, reference_price=Decimal(100),
                  reduces_risk=False, limit_price=Decimal(100))
    fields.update(overrides)
    return OrderIntent(**fields)


def _context(**overrides) -> RiskContext:
    fields = dict(now=T0, trading_state=TradingState.ACTIVE, last_price=Decimal(100), last_price_at=T0,
                  open_orders_for_symbol=0, recent_submissions_symbol=(), recent_submissions_bot=(),
                  equity=Decimal(100_000), cash=Decimal(100_000), gross_exposure=Decimal(0),
                  position_quantity=Decimal(0))
    fields.update(overrides)
    return RiskContext(**fields)


@pytest.mark.parametrize(
    ("limit_price", "approved", "detail"),
    [
        (Decimal("105.00"), True, "price 105.00 is 5.0000% from last 100 (band 5.00%)"),
        (Decimal("105.01"), False, "price 105.01 is 5.0100% from last 100 (band 5.00%)"),
        (Decimal("94.99"), False, "price 94.99 is 5.0100% from last 100 (band 5.00%)"),
    ],
)
def test_a_limit_price_outside_the_collar_is_denied(limit_price, approved, detail):
    engine = RiskEngine.standard(RiskLimits())
    decision = engine.evaluate(_intent(limit_price=limit_price), _context())
    assert isinstance(decision, Approved if approved else Denied)
    collar = next(c for c in decision.checks if c.check == "price_collar")
    assert (collar.passed, collar.detail) == (approved, detail)
    if not approved:
        assert (decision.check, decision.reason, decision.halt) == ("price_collar", detail, False)


def test_no_reference_price_means_no_order():
    decision = RiskEngine.standard(RiskLimits()).evaluate(_intent(), _context(last_price=None, last_price_at=None))
    assert isinstance(decision, Denied)
    assert (decision.check, decision.reason) == ("fresh_data", "no market data yet")
    assert next(c for c in decision.checks if c.check == "price_collar").detail == "no reference price"


def test_a_strategy_that_raises_is_disabled_for_that_symbol_and_the_rest_trades_on():
    h = Harness()

    def explode_on_spy(symbol, _n):
        if symbol == "SPY":
            raise ZeroDivisionError("division by zero in user code")
        return Target.LONG

    fragile = ScriptedStrategy(decide=explode_on_spy, name="fragile")
    bot1 = h.bot(spec("bot1", strategy=fragile, symbols=("SPY", "QQQ")))
    bot2 = h.bot(spec("bot2", strategy=always(Target.LONG)))

    first = [h.cycle.on_bar(bot1, bar("SPY", T0, 100), now=T0 + timedelta(minutes=1)),
             h.cycle.on_bar(bot1, bar("QQQ", T0, 50), now=T0 + timedelta(minutes=1)),
             h.cycle.on_bar(bot2, bar("SPY", T0, 100), now=T0 + timedelta(minutes=1))]
    assert first == [[CycleResult.STRATEGY_FAILED], [CycleResult.SUBMITTED], [CycleResult.SUBMITTED]]
    assert bot1.disabled == {"SPY": "ZeroDivisionError: division by zero in user code"}
    assert [(o.bot, o.symbol) for o in h.broker.submits] == [("bot1", "QQQ"), ("bot2", "SPY")]

    errors = h.audit(AuditKind.ERROR, severity="critical")
    assert [(e.bot, e.symbol, e.message) for e in errors] == [
        ("bot1", "SPY", "strategy fragile disabled: ZeroDivisionError: division by zero in user code")]
    assert [(a.level, a.title) for a in h.notifier.sent] == [
        (AlertLevel.CRITICAL, "strategy disabled on bot1/SPY")]

    # The next bar: the disabled strategy is not called again for SPY; everything else goes on.
    calls = fragile.calls
    t1 = T0 + timedelta(minutes=1)
    assert h.cycle.on_bar(bot1, bar("SPY", t1, 101), now=t1 + timedelta(minutes=1)) == [CycleResult.STRATEGY_FAILED]
    assert fragile.calls == calls
    assert h.cycle.on_bar(bot1, bar("QQQ", t1, 51), now=t1 + timedelta(minutes=1)) == [CycleResult.DENIED]  # pending
    assert fragile.calls == calls + 1
    assert len(h.audit(AuditKind.ERROR, severity="critical")) == 1
    assert h.control("paper-test/bot1") is None  # a strategy failure is not a halt


def test_a_strategy_disabled_while_the_store_is_down_is_still_alerted():
    h = Harness()

    def explode(_symbol, _n):
        raise RuntimeError("bad user code")

    bot = h.bot(spec(strategy=ScriptedStrategy(decide=explode, name="fragile")))
    h.store.available = False
    b0 = bar("SPY", T0, 100)
    with pytest.raises(StoreUnavailable):
        h.cycle.on_bar(bot, b0, now=b0.end)
    assert bot.disabled == {"SPY": "RuntimeError: bad user code"}  # switched off for the rest of the session...
    h.store.available = True
    # ...and a person must hear of it, even though the audit write failed.
    assert [(a.level, a.title) for a in h.notifier.sent] == [(AlertLevel.CRITICAL, "strategy disabled on bot1/SPY")]


def test_a_replayed_bar_is_refused_by_the_venue_and_recorded_never_a_crash():
    from adapters.simulated import SimulatedBrokerConfig, build_simulated_broker
    from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
    from domain.accounting.instrument import equity

    h = Harness()
    broker = build_simulated_broker(config=SimulatedBrokerConfig(), instruments={"SPY": equity("SPY")})
    session = PaperSession(settings=SessionSettings(account=h.account, mode="simulation"),
                           bots=[spec(strategy=always(Target.FLAT))], uow_factory=h.store, broker=broker,
                           venue=broker, notifier=h.notifier, wall_clock=h.wall, process=ProcessInfo(pid=1, host="h"))
    session.start(now=T0)
    first, second = bars("SPY", [100, 101])
    session.process_bar(second, now=second.end)
    session.process_bar(first, now=second.end)  # out of order
    assert session.tally["bad_data"] == 1
    assert any("bar rejected" in e.message for e in h.audit())
