"""The dispatcher on a real SQLite store: sent once and recorded with its deliveries, a flapping
condition grouped, repeats until acknowledged, never blocking the caller, the store down."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.clock import SystemClock
from adapters.log_notifier import LoggingNotifier
from adapters.sqlite import SqliteStore
from application.alerting.alert import Alert
from application.alerting.channels import Channel
from application.alerting.dispatcher import AlertDispatcher
from application.alerting.lifecycle import acknowledge, open_alerts
from application.alerting.ports import DeliveryFailed, UrlCheck
from application.alerting.routes import ChannelRoute
from application.ports import AlertLevel
from domain.errors import StoreUnavailable

BREAKER = Alert(key="drawdown_breaker:paper/eq", level=AlertLevel.CRITICAL, title="bot eq halted",
                body="drawdown 12.00%", account="paper", bot="eq")


class Channels:
    """The ChannelSource port: channels the test sets."""

    def __init__(self, *channels: Channel) -> None:
        self.channels = channels

    def current(self) -> tuple[Channel, ...]:
        return self.channels


class Sender:
    """The ChannelSender port: keeps what it sent; sleeps `delay` first; refuses URLs in `failing`."""

    def __init__(self, *, delay: float = 0.0, failing: tuple[str, ...] = ()) -> None:
        self.delay = delay
        self.failing = failing
        self.sent: list[tuple[str, str, AlertLevel]] = []
        self.lock = threading.Lock()

    def send(self, *, url: str, title: str, body: str, level: AlertLevel) -> None:
        time.sleep(self.delay)
        if url in self.failing:
            raise DeliveryFailed("test: refused", service="test")
        with self.lock:
            self.sent.append((url, title, level))

    def check(self, url: str) -> UrlCheck:
        return UrlCheck(service="test", shown=url)

    def titles(self) -> list[str]:
        with self.lock:
            return [title for _, title, _ in self.sent]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(path=tmp_path / "qs.db")


def dispatcher(store, sender: Sender, *, group: float = 60.0, channels: tuple[Channel, ...] | None = None,
               **options) -> AlertDispatcher:
    chosen = channels if channels is not None else (Channel(name="ops", url="json://ops", min_level=AlertLevel.INFO),)
    return AlertDispatcher(uow_factory=store, clock=SystemClock(), log_notifier=LoggingNotifier(),
                           routes=[ChannelRoute(source=Channels(*chosen), sender=sender)],
                           group=timedelta(seconds=group), link=lambda a: f"http://127.0.0.1/dashboard/{a.bot}",
                           **options)


def entries(store) -> list[tuple[str, str, int]]:
    with store() as uow:
        return [(e.data["event"], e.data["key"], e.data["count"]) for e in uow.audit.list(kind="alert")]


def test_an_alert_is_sent_once_recorded_with_its_deliveries_and_its_count_kept(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender, channels=(Channel(name="ops", url="json://ops"),
                                                 Channel(name="dead", url="json://dead"),
                                                 Channel(name="quiet", url="json://quiet", enabled=False)))
    sender.failing = ("json://dead",)
    for _ in range(3):
        alerts.fire(BREAKER)
    alerts.close()
    assert sender.titles() == ["[QuantShift CRITICAL] bot eq halted"]
    assert entries(store) == [("fired", BREAKER.key, 1), ("deduplicated", BREAKER.key, 3)]
    with store() as uow:
        fired = uow.audit.list(kind="alert")[0]
    assert fired.data["deliveries"] == [{"channel": "ops", "delivered": True, "detail": ""},
                                        {"channel": "dead", "delivered": False, "detail": "test: refused"},
                                        {"channel": "quiet", "delivered": False, "detail": "disabled"}]


def test_the_notice_carries_the_figures_and_the_dashboard_link(store) -> None:
    sender = Sender()
    bodies: list[str] = []
    sender.send = lambda *, url, title, body, level: bodies.append(body)  # type: ignore[method-assign]
    alerts = dispatcher(store, sender)
    alerts.fire(Alert(key="drawdown_warning:paper/eq", level=AlertLevel.WARNING, title="bot eq reducing",
                      body="drawdown 6%", account="paper", bot="eq", figures={"drawdown": "6.00%"}))
    alerts.close()
    (body,) = bodies
    assert "drawdown: 6.00%" in body and "account paper, bot eq" in body
    assert "Dashboard: http://127.0.0.1/dashboard/eq" in body


def test_a_flapping_condition_is_one_alert_and_one_resolved(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender, group=0.5)
    for _ in range(3):  # fired, cleared, fired again... within the window
        alerts.fire(BREAKER)
        alerts.resolve(key=BREAKER.key, title="bot eq resumed", body="by ops")
    assert alerts.flush()
    assert sender.titles() == ["[QuantShift CRITICAL] bot eq halted"]  # the resolve is held back
    time.sleep(0.8)  # it stays clear longer than the window
    assert sender.titles() == ["[QuantShift CRITICAL] bot eq halted", "[QuantShift CRITICAL] bot eq resumed"]
    assert entries(store) == [("fired", BREAKER.key, 1), ("resolved", BREAKER.key, 3)]
    with store() as uow:
        assert open_alerts(uow) == []
    alerts.fire(BREAKER)  # after the window: a new alert
    alerts.close()
    assert sender.titles()[-1] == "[QuantShift CRITICAL] bot eq halted" and len(sender.titles()) == 3


def test_resolving_what_is_not_open_says_nothing(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender, group=0.0)
    alerts.resolve(key="halted:paper/eq", title="RESUME (bot paper/eq)")
    alerts.close()
    assert sender.sent == [] and entries(store) == []


def test_close_sends_the_resolves_still_held_back(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender, group=3600)
    alerts.fire(BREAKER)
    alerts.resolve(key=BREAKER.key, title="bot eq resumed")
    alerts.close()
    assert sender.titles()[-1] == "[QuantShift CRITICAL] bot eq resumed"
    assert [e[0] for e in entries(store)] == ["fired", "resolved"]


def test_critical_alerts_repeat_until_acknowledged(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender)
    alerts.fire(BREAKER)
    alerts.fire(Alert(key="drawdown_warning:paper/eq", level=AlertLevel.WARNING, title="bot eq reducing", body=""))
    assert alerts.flush()
    every = timedelta(milliseconds=50)
    time.sleep(0.06)
    assert alerts.repeat_due(every=every) == 1  # the critical one only
    assert alerts.flush()
    assert sender.titles()[-1].startswith("[QuantShift CRITICAL] bot eq halted (repeat 1: unacknowledged since ")
    time.sleep(0.06)
    assert alerts.repeat_due(every=every) == 1
    assert alerts.flush() and "(repeat 2:" in sender.titles()[-1]
    acknowledge(key=BREAKER.key, by="ops@example.com", uow_factory=store, now=SystemClock().now())
    time.sleep(0.06)
    assert alerts.repeat_due(every=every) == 0
    alerts.close()
    assert len(sender.titles()) == 4
    assert [e[0] for e in entries(store) if e[1] == BREAKER.key] == ["fired", "repeated", "repeated", "acked"]


def test_a_repeat_found_due_but_acknowledged_meanwhile_is_not_sent(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender)
    alerts.fire(BREAKER)
    assert alerts.flush()
    with store() as uow:
        (due,) = open_alerts(uow)
    acknowledge(key=BREAKER.key, by="ops", uow_factory=store, now=SystemClock().now())
    alerts.repeat(due)
    alerts.close()
    assert len(sender.sent) == 1


def test_the_caller_never_waits_for_a_slow_channel(store) -> None:
    sender = Sender(delay=0.3)
    alerts = dispatcher(store, sender)
    began = time.monotonic()
    for index in range(5):
        alerts.fire(Alert(key=f"halted:paper/bot{index}", level=AlertLevel.CRITICAL, title=f"bot{index} halted",
                          body=""))
        alerts.notify(level=AlertLevel.WARNING, title=f"notice {index}", body="")
    took = time.monotonic() - began
    assert took < 0.1, f"10 alerts took {took:.3f} s on the caller's thread"
    assert len(sender.sent) < 2  # still being sent in the background
    alerts.close()
    assert len(sender.sent) == 10


def test_close_is_bounded_when_a_channel_hangs(store) -> None:
    alerts = dispatcher(store, Sender(delay=5.0), close_seconds=0.3)
    alerts.fire(BREAKER)
    began = time.monotonic()
    alerts.close()
    assert time.monotonic() - began < 1.0


def test_a_notice_is_keyed_by_its_title_and_sent_once_per_window(store) -> None:
    sender = Sender()
    alerts = dispatcher(store, sender)
    for _ in range(3):
        alerts.notify(level=AlertLevel.WARNING, title="strategy correlation in paper", body="0.91")
    alerts.notify(level=AlertLevel.WARNING, title="another one", body="")
    alerts.close()
    assert sender.titles() == ["[QuantShift WARNING] strategy correlation in paper", "[QuantShift WARNING] another one"]
    assert entries(store)[0] == ("fired", "notice:strategy correlation in paper", 1)


class FlakyStore:
    """The UnitOfWorkFactory port over a real store, unreachable while `down` is set."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.down = True

    def __call__(self):
        if self.down:
            raise StoreUnavailable("test: the store is down")
        return self.store()


def test_the_store_down_delivers_anyway_and_records_once_it_answers(store) -> None:
    flaky = FlakyStore(store)
    sender = Sender()
    alerts = dispatcher(flaky, sender, store_retry_seconds=0.1)
    alerts.fire(BREAKER)
    alerts.fire(BREAKER)  # deduplicated on the states it remembers
    assert alerts.flush()
    assert sender.titles() == ["[QuantShift CRITICAL] bot eq halted"]
    flaky.down = False
    time.sleep(0.3)
    assert [e[0] for e in entries(store)] == ["fired"]
    alerts.close()
    assert entries(store) == [("fired", BREAKER.key, 1), ("deduplicated", BREAKER.key, 2)]


def test_a_store_that_never_answers_is_logged_at_close(store, caplog) -> None:
    flaky = FlakyStore(store)
    alerts = dispatcher(flaky, Sender(), store_retry_seconds=0.05)
    alerts.fire(BREAKER)
    alerts.close()
    assert "alert not recorded (the store is unavailable): fired drawdown_breaker:paper/eq" in caplog.text
