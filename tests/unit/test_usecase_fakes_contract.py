"""The fakes keep the ports' promises (application/ports.py), or the use-case tests prove nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from application.records import (
    AllocationRecord,
    AuditEntry,
    AuditKind,
    EquityPoint,
    Invitation,
    LoginAttempt,
    LoginSession,
    Role,
    SessionRecord,
    User,
    VenueOrderState,
)
from domain.accounting.position import Position
from domain.errors import StoreUnavailable, TransientError
from domain.orders.events import OrderAccepted, OrderCancelled, OrderFilled
from domain.orders.fill import Fill
from domain.orders.order import Order, OrderSide, OrderStatus, OrderType
from tests.fakes.builders import T0
from tests.fakes.clock import FixedClock
from tests.fakes.memory_store import InMemoryStore
from tests.fakes.recording_broker import RecordingBroker


def _order(cid: str = "o1", *, created_at=T0, symbol: str = "SPY", bot: str = "b1", account: str = "a") -> Order:
    return Order(client_order_id=cid, account=account, bot=bot, strategy="s", symbol=symbol, side=OrderSide.BUY,
                 order_type=OrderType.MARKET, quantity=Decimal(10), created_at=created_at, signal_ts=created_at)


def test_add_refuses_an_existing_key_without_writing():
    store = InMemoryStore()
    with store() as uow:
        assert uow.orders.add(_order()) is True
        uow.commit()
    with store() as uow:
        other = _order()
        other.transition(OrderStatus.DENIED, at=T0, reason="x")
        assert uow.orders.add(other) is False
        uow.commit()
    with store() as uow:
        assert uow.orders.get("o1").status is OrderStatus.INITIALIZED
        assert uow.orders.count(account="a") == 1


def test_leaving_without_commit_discards_and_commit_publishes():
    store = InMemoryStore()
    with store() as uow:
        uow.orders.add(_order("kept"))
        uow.commit()
        uow.orders.add(_order("dropped"))  # after commit: a new transaction, never committed
    with pytest.raises(RuntimeError):
        with store() as uow:
            uow.orders.add(_order("lost"))
            raise RuntimeError("boom")
    with store() as uow:
        uow.orders.add(_order("rolled-back"))
        uow.rollback()
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list()] == ["kept"]


def test_orders_are_copied_in_and_out():
    store = InMemoryStore()
    order = _order()
    with store() as uow:
        uow.orders.add(order)
        uow.commit()
    order.transition(OrderStatus.SUBMITTED, at=T0)  # the caller's object, not the store's
    with store() as uow:
        got = uow.orders.get("o1")
        assert got.status is OrderStatus.INITIALIZED
        got.transition(OrderStatus.SUBMITTED, at=T0)
        assert uow.orders.get("o1").status is OrderStatus.INITIALIZED  # until save()
        uow.orders.save(got)
        assert uow.orders.get("o1").status is OrderStatus.SUBMITTED
        with pytest.raises(LookupError):
            uow.orders.save(_order("never-added"))


def test_order_queries_follow_the_port():
    store = InMemoryStore()
    with store() as uow:
        for i, (symbol, status) in enumerate([("SPY", OrderStatus.SUBMITTED), ("QQQ", OrderStatus.SUBMITTED),
                                              ("SPY", OrderStatus.DENIED), ("SPY", OrderStatus.INITIALIZED)]):
            order = _order(f"o{i}", created_at=T0 + timedelta(seconds=i), symbol=symbol)
            if status is not OrderStatus.INITIALIZED:
                order.transition(status, at=T0 + timedelta(seconds=10 * i))
            uow.orders.add(order)
        uow.orders.add(_order("other-bot", bot="b2"))
        uow.commit()
    with store() as uow:
        assert [o.client_order_id for o in uow.orders.list(account="a", bot="b1")] == ["o3", "o2", "o1", "o0"]
        assert [o.client_order_id for o in uow.orders.list(limit=2)] == ["o3", "o2"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="a", bot="b1")] == ["o0", "o1", "o3"]
        assert [o.client_order_id for o in uow.orders.open_orders(account="a", symbol="SPY")] == [
            "o0", "other-bot", "o3"]  # created_at, then insertion order
        assert uow.orders.submission_times(account="a", bot="b1", symbol=None, since=T0) == [
            T0, T0 + timedelta(seconds=10)]
        assert uow.orders.submission_times(account="a", bot="b1", symbol="QQQ", since=T0 + timedelta(seconds=10)) == [
            T0 + timedelta(seconds=10)]
        assert uow.orders.count(account="a", bot="b2") == 1
        assert uow.orders.count_by_status(account="a") == {
            ("b1", OrderStatus.SUBMITTED): 2, ("b1", OrderStatus.DENIED): 1, ("b1", OrderStatus.INITIALIZED): 1,
            ("b2", OrderStatus.INITIALIZED): 1}


def test_fills_positions_accounts_and_trades():
    store = InMemoryStore()
    fill = Fill(fill_id="f1", client_order_id="o1", symbol="SPY", side=OrderSide.BUY, quantity=Decimal(1),
                price=Decimal(10), commission=Decimal(0), ts=T0)
    with store() as uow:
        assert uow.fills.add(fill, account="a", bot="b1") is True
        assert uow.fills.add(fill, account="a", bot="b1") is False
        assert uow.fills.exists("f1") and uow.fills.count(account="a") == 1
        assert uow.positions.get(account="a", bot="b1", symbol="SPY") == Position(bot="b1", symbol="SPY")
        uow.positions.upsert(Position(bot="b1", symbol="SPY", quantity=Decimal(1)), account="a", last_price=Decimal(10))
        uow.positions.upsert(Position(bot="b1", symbol="SPY", quantity=Decimal(2)), account="a")  # keeps the mark
        assert uow.positions.list(account="a") == [("a", Position(bot="b1", symbol="SPY", quantity=Decimal(2)),
                                                     Decimal(10))]
        first = uow.accounts.ensure(account="a", bot="b1", initial_cash=Decimal(100))
        assert uow.accounts.ensure(account="a", bot="b1", initial_cash=Decimal(999)) == first
        uow.accounts.set_cash(account="a", bot="b1", cash=Decimal(50))
        assert uow.accounts.get(account="a", bot="b1").cash == Decimal(50)
        with pytest.raises(LookupError):
            uow.accounts.set_cash(account="a", bot="nobody", cash=Decimal(1))


def test_audit_is_oldest_first_of_the_newest_limit_and_stamped_by_the_store():
    wall = FixedClock(T0 + timedelta(days=1))
    store = InMemoryStore(wall_clock=wall)
    with store() as uow:
        for i in (3, 1, 2):
            uow.audit.append(AuditEntry(ts=T0 + timedelta(seconds=i), kind=AuditKind.ORDER, message=f"m{i}",
                                        account="a", severity="critical" if i == 2 else "info"))
        uow.audit.append(AuditEntry(ts=T0, kind=AuditKind.HALT, message="h", account="b"))
        uow.commit()
    with store() as uow:
        assert [e.message for e in uow.audit.list(account="a")] == ["m1", "m2", "m3"]
        assert [e.message for e in uow.audit.list(account="a", limit=2)] == ["m2", "m3"]
        assert [e.message for e in uow.audit.list(kind="halt")] == ["h"]
        assert [e.message for e in uow.audit.list(since=T0 + timedelta(seconds=2))] == ["m2", "m3"]
        assert uow.audit.count(account="a", severity="critical") == 1
        assert {e.recorded_at for e in uow.audit.list()} == {wall.now()}
        # As the stores: kinds or a data key (audit --kind signal/risk), and an offset (audit --page).
        assert [e.message for e in uow.audit.list(kinds=("halt",), limit=10, offset=0)] == ["h"]
        assert [e.message for e in uow.audit.list(account="a", limit=1, offset=1)] == ["m2"]
        assert uow.audit.list(data_key="signal") == []


def test_sessions_and_equity():
    store = InMemoryStore()
    with store() as uow:
        assert uow.sessions.new_simulation_account() == "sim-0001"
        uow.sessions.start(SessionRecord(account="sim-0001", mode="simulation", seed=1, trading_days=5, started_at=T0))
        assert uow.sessions.new_simulation_account() == "sim-0002"
        uow.sessions.finish(account="sim-0001", finished_at=T0, report={"go_live": False})
        assert uow.sessions.get("sim-0001").report == {"go_live": False}
        uow.equity.add_many(account="a", bot="b2", points=[EquityPoint(ts=T0, equity=Decimal(1))])
        uow.equity.add_many(account="a", bot="b1", points=[EquityPoint(ts=T0, equity=Decimal(2)),
                                                           EquityPoint(ts=T0, equity=Decimal(3))])
        assert [(b, p.equity) for b, p in uow.equity.list(account="a")] == [("b1", Decimal(3)), ("b2", Decimal(1))]


def test_allocations_are_appended_listed_oldest_first_and_rolled_back():
    def record(bot: str, seconds: int, reason: str, **metrics: object) -> AllocationRecord:
        return AllocationRecord(account="a", bot=bot, ts=T0 + timedelta(seconds=seconds), weight=Decimal("0.5"),
                                equity=Decimal("100"), transfer=Decimal("-1.25"), reason=reason, metrics=metrics)

    store = InMemoryStore()
    metrics = {"nested": {"x": 1.5, "none": None}}
    with store() as uow:
        uow.allocations.add(record("b1", 10, "late"))
        uow.allocations.add(record("b2", 5, "tie-1", **metrics))
        uow.allocations.add(record("b1", 5, "tie-2"))
        uow.allocations.add(AllocationRecord(account="other", bot="b1", ts=T0, weight=Decimal(1), equity=Decimal(1),
                                             transfer=Decimal(0), reason="elsewhere"))
        uow.commit()
    metrics["nested"]["x"] = 99.0  # the caller's mapping, not the store's
    with store() as uow:
        uow.allocations.add(record("b1", 0, "rolled back"))
    with store() as uow:
        listed = uow.allocations.list(account="a")
        assert [r.reason for r in listed] == ["tie-1", "tie-2", "late"]  # by ts, then insertion order
        assert listed[0].metrics == {"nested": {"x": 1.5, "none": None}}
        listed[0].metrics["nested"]["x"] = 0.0
        assert uow.allocations.list(account="a")[0].metrics == {"nested": {"x": 1.5, "none": None}}
        assert [r.reason for r in uow.allocations.list(account="a", bot="b1")] == ["tie-2", "late"]
        assert uow.allocations.list(account="nobody") == []


def test_users_sessions_invitations_and_login_attempts():
    def user(uid: str, email: str, **changes) -> User:
        return User(**{"user_id": uid, "email": email, "role": Role.VIEWER, "password_hash": "h",
                       "email_verified": False, "created_at": T0, **changes})

    def login(sid: str, minutes: int, **changes) -> LoginSession:
        return LoginSession(**{"session_id": sid, "user_id": "u1", "created_at": T0 + timedelta(minutes=minutes),
                               "expires_at": T0 + timedelta(days=1), **changes})

    now = T0 + timedelta(hours=1)
    store = InMemoryStore()
    with store() as uow:
        assert uow.users.add(user("u1", "ann@example.com")) is True
        assert uow.users.add(user("u2", "ANN@Example.com")) is False  # case-insensitive
        assert uow.users.add(user("u1", "other@example.com")) is False
        assert uow.users.add(user("u0", "bob@example.com", created_at=T0 - timedelta(days=1))) is True
        assert uow.users.by_email("Ann@EXAMPLE.COM").user_id == "u1" and uow.users.get("u2") is None
        uow.users.save(user("u1", "changed@example.com", role=Role.ADMIN, disabled=True))
        assert uow.users.get("u1") == user("u1", "ann@example.com", role=Role.ADMIN, disabled=True)
        with pytest.raises(LookupError):
            uow.users.save(user("nobody", "x@example.com"))
        assert [u.user_id for u in uow.users.list()] == ["u0", "u1"]
        assert [uow.login_sessions.open(login(f"s{n}", n), max_live=3, now=now) for n in range(4)] == [
            [], [], [], ["s0"]]
        assert uow.login_sessions.get("s0").revoked_reason == "session limit: oldest revoked"
        uow.login_sessions.open(login("old", 9, expires_at=now), max_live=9, now=T0)  # expired at `now`
        assert [s.session_id for s in uow.login_sessions.live("u1", now=now)] == ["s1", "s2", "s3"]
        assert uow.login_sessions.revoke("s1", at=now, reason="logout") is True
        assert uow.login_sessions.revoke("s1", at=now, reason="logout") is False
        assert uow.login_sessions.revoke("old", at=now, reason="logout") is False
        assert uow.login_sessions.revoke_all("u1", at=now, reason="reset") == 2
        assert uow.login_sessions.live("u1", now=now) == []
        with pytest.raises(LookupError):
            uow.login_sessions.open(login("x", 0, user_id="nobody"), max_live=3, now=now)
        uow.invitations.add(Invitation(invitation_id="i1", email="new@example.com", role=Role.VIEWER,
                                       invited_by="u1", created_at=T0, expires_at=now))
        uow.invitations.add(Invitation(invitation_id="i2", email="n2@example.com", role=Role.ADMIN,
                                       invited_by="u1", created_at=T0, expires_at=now))
        assert [i.invitation_id for i in uow.invitations.list()] == ["i2", "i1"]  # newest (then latest) first
        assert uow.invitations.accept("i1", at=now) is True
        assert uow.invitations.accept("i1", at=now) is False and uow.invitations.get("i1").accepted_at == now
        for minutes, succeeded in ((0, False), (1, False), (2, True)):
            uow.login_attempts.add(LoginAttempt(ts=T0 + timedelta(minutes=minutes), email="ann@example.com",
                                                address="10.0.0.1", succeeded=succeeded))
        assert uow.login_attempts.failures_since(since=T0 + timedelta(minutes=1), email="ann@example.com") == 1
        assert uow.login_attempts.failures_since(since=T0, address="10.0.0.1") == 2
        assert uow.login_attempts.failures_since(since=T0, address="10.0.0.9") == 0
    with store() as uow:  # never committed
        assert uow.users.list() == [] and uow.invitations.list() == []


def test_the_store_can_be_made_unavailable_and_refuses_nesting_and_read_only_writes():
    store = InMemoryStore()
    store.fail_next = 2
    for _ in range(2):
        with pytest.raises(StoreUnavailable):
            with store():
                pass
    with store():
        pass
    store.fail_after(2)
    for expected in (None, None, StoreUnavailable, None):
        if expected is None:
            with store():
                pass
        else:
            with pytest.raises(expected):
                with store():
                    pass
    store.available = False
    with pytest.raises(StoreUnavailable):
        store().__enter__()
    store.available = True
    with store():
        with pytest.raises(RuntimeError):
            with store():
                pass
    with store.unit_of_work(read_only=True) as uow:
        with pytest.raises(RuntimeError):
            uow.orders.add(_order())


def test_the_broker_is_idempotent_on_client_order_id_and_scripts_fills():
    broker = RecordingBroker(clock=FixedClock(T0))
    events = broker.submit(_order())
    assert events == [OrderAccepted(client_order_id="o1", venue_order_id="V000001", ts=T0)]
    assert broker.submit(_order()) == []
    assert len(broker.submits) == 2 and broker.created == ["o1"]
    broker.fill("o1", 4, 100, T0, fill_id="x")
    [filled] = broker.poll_events()
    assert isinstance(filled, OrderFilled) and filled.fill.fill_id == "x" and filled.fill.quantity == 4
    assert broker.poll_events() == []
    assert broker.find_order("o1") == VenueOrderState(client_order_id="o1", venue_order_id="V000001",
                                                      status=OrderStatus.PARTIALLY_FILLED, filled_quantity=Decimal(4))
    assert broker.find_order("nope") is None
    assert [s.client_order_id for s in broker.open_orders()] == ["o1"]
    assert broker.cancel("o1") == [OrderCancelled(client_order_id="o1", reason="cancelled on request", ts=T0)]
    assert broker.cancel("o1") == [] and broker.open_orders() == []
    broker.fail_next_cancel()
    with pytest.raises(TransientError):
        broker.cancel("o1")
    with pytest.raises(ValueError):
        broker.fill("o1", 1, 100, T0)


def test_the_broker_can_time_out_after_creating_the_order():
    broker = RecordingBroker(clock=FixedClock(T0))
    broker.fail_next_submit(created_anyway=True)
    with pytest.raises(TransientError):
        broker.submit(_order())
    assert broker.created == ["o1"]
    assert broker.poll_events() == [OrderAccepted(client_order_id="o1", venue_order_id="V000001", ts=T0)]
    broker.fail_next_submit()
    with pytest.raises(TransientError):
        broker.submit(_order("o2"))
    assert broker.created == ["o1"] and broker.find_order("o2") is None


def test_the_clock_moves_only_forward_and_on_request():
    clock = FixedClock(T0)
    assert clock.now() == clock() == T0
    assert clock.advance(timedelta(seconds=5)) == T0 + timedelta(seconds=5)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
