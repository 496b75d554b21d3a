"""The go/no-go report over a crafted paper-trading record, with figures worked out by hand."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest

from application.records import AuditEntry, AuditKind, EquityPoint
from application.reports.validation_report import build_validation_report
from domain.accounting.position import Direction, RoundTrip
from domain.analytics.golive import GoLiveCriteria
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.fakes.builders import T0
from tests.fakes.memory_store import InMemoryStore

ACCOUNT = "sim-0001"
DAY = timedelta(days=1)


def _trip(i: int, gross: str, commission: str = "0", bot: str = "b1") -> RoundTrip:
    return RoundTrip(bot=bot, symbol="SPY", direction=Direction.LONG, quantity=Decimal(10), entry_price=Decimal(100),
                     exit_price=Decimal(100) + Decimal(gross) / 10, opened_at=T0 + i * DAY,
                     closed_at=T0 + i * DAY + timedelta(hours=1), gross_pnl=Decimal(gross),
                     commission=Decimal(commission), closing_fill_id=f"close-{bot}-{i}")


def _order(cid: str, status: OrderStatus, *, sent: bool = True) -> Order:
    order = Order(client_order_id=cid, account=ACCOUNT, bot="b1", strategy="s", symbol="SPY", side=OrderSide.BUY,
                  order_type=OrderType.MARKET, quantity=Decimal(10), created_at=T0, signal_ts=T0)
    if status is OrderStatus.DENIED:
        order.transition(OrderStatus.DENIED, at=T0, reason="max_order_quantity: ...")
    elif status is not OrderStatus.INITIALIZED:
        if sent:
            order.transition(OrderStatus.SUBMITTED, at=T0)
        order.transition(status, at=T0)
    return order


def _store(*, trips, curve, bots=(("b1", Decimal(10_000)),), critical: int = 0) -> InMemoryStore:
    store = InMemoryStore()
    with store() as uow:
        for bot, cash in bots:
            uow.accounts.ensure(account=ACCOUNT, bot=bot, initial_cash=cash)
        for trip in trips:
            assert uow.trades.add(trip, account=ACCOUNT)
        for bot, day, equity in curve:
            uow.equity.add_many(account=ACCOUNT, bot=bot, points=[EquityPoint(ts=T0 + day * DAY, equity=Decimal(equity))])
        for i in range(critical):
            uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ERROR, message=f"boom {i}", account=ACCOUNT,
                                        severity="critical"))
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ERROR, message="another account", account="sim-0002",
                                    severity="critical"))
        uow.commit()
    return store


FOUR_TRIPS = [_trip(1, "310", "10"), _trip(2, "-95", "5"), _trip(3, "200"), _trip(4, "-50")]  # net +300 -100 +200 -50
# Peak 12,000 then trough 9,000: 25 % from the peak (10 % from the 10,000 start).
PEAK_TO_TROUGH = [("b1", 1, "10500"), ("b1", 2, "12000"), ("b1", 3, "9000"), ("b1", 4, "11000")]


def test_figures_of_a_record_that_fails_the_go_live_criteria():
    store = _store(trips=FOUR_TRIPS, curve=PEAK_TO_TROUGH)
    with store() as uow:
        for order in (_order("o1", OrderStatus.FILLED), _order("o2", OrderStatus.FILLED),
                      _order("o3", OrderStatus.ACCEPTED), _order("o4", OrderStatus.DENIED),
                      _order("o5", OrderStatus.DENIED), _order("o6", OrderStatus.INITIALIZED)):
            uow.orders.add(order)
        for i in range(2):
            uow.fills.add(Fill(fill_id=f"f{i}", client_order_id=f"o{i + 1}", symbol="SPY", side=OrderSide.BUY,
                               quantity=Decimal(10), price=Decimal(100), commission=Decimal(0), ts=T0),
                          account=ACCOUNT, bot="b1")
        report = build_validation_report(uow, account=ACCOUNT, trading_days=30)

    assert (report.orders, report.orders_denied, report.fills, report.round_trips) == (3, 2, 2, 4)
    assert report.win_rate == 0.5
    assert report.profit_factor == pytest.approx(500 / 150)
    assert report.max_drawdown == pytest.approx(0.25)  # from the PEAK, not from the start (0.10)
    assert (report.equity_start, report.equity_end) == (Decimal(10_000), Decimal(11_000))
    assert report.critical_errors == 0  # the other account's critical entry is not ours
    assert math.isfinite(report.sharpe)
    assert {c.name: c.passed for c in report.criteria} == {
        "trading_days": True, "round_trips": False, "win_rate": True, "max_drawdown": False,
        "critical_errors": True}
    assert report.go_live is False
    [bot] = report.bots
    assert (bot.bot, bot.round_trips, bot.net_pnl, bot.equity_start, bot.equity_end) == (
        "b1", 4, Decimal(350), Decimal(10_000), Decimal(11_000))

    as_json = report.to_json()
    assert as_json["go_live"] is False
    assert (as_json["equity_end"], as_json["profit_factor"], as_json["max_drawdown"]) == ("11000.00", 3.333333, 0.25)
    assert as_json["bots"][0]["net_pnl"] == "350.00"


def _passing_trips():
    # 6 wins of +100 and 4 losses of -50: win rate 60 %, profit factor 600 / 200 = 3.
    return [_trip(i, "100") for i in range(6)] + [_trip(6 + i, "-50") for i in range(4)]


GENTLE_CURVE = [("b1", 1, "10400"), ("b1", 2, "10800"), ("b1", 3, "9800"), ("b1", 4, "10400")]  # 1000/10800


def test_a_record_that_meets_every_criterion_is_a_go():
    store = _store(trips=_passing_trips(), curve=GENTLE_CURVE)
    with store() as uow:
        report = build_validation_report(uow, account=ACCOUNT, trading_days=30)
    assert report.round_trips == 10 and report.win_rate == 0.6
    assert report.profit_factor == 3.0
    assert report.max_drawdown == pytest.approx(1000 / 10800)
    assert all(c.passed for c in report.criteria)
    assert report.go_live is True


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"trading_days": 29}, "trading_days"),
        ({"critical": 1}, "critical_errors"),
        ({"trips": _passing_trips()[:9]}, "round_trips"),
        ({"trips": [_trip(i, "100") for i in range(4)] + [_trip(4 + i, "-10") for i in range(6)]}, "win_rate"),
        ({"curve": [("b1", 1, "12500"), ("b1", 2, "10000")]}, "max_drawdown"),  # exactly 20 %: not < 20 %
    ],
)
def test_one_failing_criterion_is_a_no_go(change, failing):
    store = _store(trips=change.get("trips", _passing_trips()), curve=change.get("curve", GENTLE_CURVE),
                   critical=change.get("critical", 0))
    with store() as uow:
        report = build_validation_report(uow, account=ACCOUNT, trading_days=change.get("trading_days", 30))
    assert [c.name for c in report.criteria if not c.passed] == [failing]
    assert report.go_live is False


def test_the_account_curve_sums_each_bots_last_known_equity():
    """b2 reports at other times than b1: its last figure (or its capital) is carried."""
    curve = [("b1", 1, "10500"), ("b2", 2, "6000"), ("b1", 3, "11000"), ("b2", 3, "3000"), ("b1", 4, "12000")]
    store = _store(trips=[], curve=curve, bots=(("b1", Decimal(10_000)), ("b2", Decimal(5_000))))
    with store() as uow:
        report = build_validation_report(uow, account=ACCOUNT, trading_days=1)
    # Totals: start 15000; day1 15500; day2 16500 (peak); day3 14000 (trough); day4 15000.
    assert report.equity_start == Decimal(15_000) and report.equity_end == Decimal(15_000)
    assert report.max_drawdown == pytest.approx(2500 / 16500)
    assert report.profit_factor is None and report.win_rate == 0.0
    assert [(b.bot, b.equity_start, b.equity_end) for b in report.bots] == [
        ("b1", Decimal(10_000), Decimal(12_000)), ("b2", Decimal(5_000), Decimal(3_000))]


def test_custom_criteria_are_applied():
    store = _store(trips=FOUR_TRIPS, curve=PEAK_TO_TROUGH)
    lenient = GoLiveCriteria(min_trading_days=5, min_trades=4, min_win_rate=0.5, max_drawdown=0.26)
    with store() as uow:
        assert build_validation_report(uow, account=ACCOUNT, trading_days=5, criteria=lenient).go_live is True


def test_intents_cancelled_before_sending_are_not_counted_as_sent():
    store = _store(trips=[], curve=[])
    with store() as uow:
        uow.orders.add(_order("sent", OrderStatus.FILLED))
        uow.orders.add(_order("never-sent", OrderStatus.CANCELLED, sent=False))  # halt or restart cancelled it
        report = build_validation_report(uow, account=ACCOUNT, trading_days=1)
    assert report.orders == 1


def test_an_alert_about_a_critical_event_is_not_a_second_critical_event():
    store = _store(trips=FOUR_TRIPS, curve=PEAK_TO_TROUGH, critical=1)
    with store() as uow:
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.ALERT, message="bot b1 halted", account=ACCOUNT, bot="b1",
                                    severity="critical", data={"event": "fired", "key": "halted:sim-0001/b1"}))
        uow.commit()
        assert build_validation_report(uow, account=ACCOUNT, trading_days=30).critical_errors == 1
