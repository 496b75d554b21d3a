"""quantshift_alerts_open{level} and quantshift_alerts_unacknowledged{level}: the open alerts as
the lifecycle reads the ALERT audit trail (resolved ones gone, acknowledged ones still open),
every level present; quantshift_watchdog_last_tick_timestamp_seconds from the tick record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prometheus_client import CollectorRegistry

from application.alerting.alert import Alert, AlertEvent
from application.alerting.lifecycle import acknowledge, alert_entry
from application.monitoring.tick_record import WatchdogTick, record_tick
from application.ports import AlertLevel
from entrypoints.web.metrics_alerts import AlertCollector
from tests.fakes.memory_store import InMemoryStore

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=timezone.utc)


def _alert(key: str, level: AlertLevel) -> Alert:
    return Alert(key=key, level=level, title=key, body="", account="paper", bot="eq")


def _figures(store: InMemoryStore) -> dict[tuple[str, str], float]:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AlertCollector(store=store))
    return {(s.name, s.labels["level"]): s.value for m in registry.collect() for s in m.samples}


def test_open_alerts_by_level_and_those_nobody_acknowledged():
    store = InMemoryStore()
    with store() as uow:
        for i, (key, level) in enumerate([("drawdown_breaker:paper/eq", AlertLevel.CRITICAL),
                                          ("bot_stale:paper/eq", AlertLevel.CRITICAL),
                                          ("venue_errors:alpaca", AlertLevel.WARNING),
                                          ("venue_latency:alpaca", AlertLevel.WARNING)]):
            uow.audit.append(alert_entry(event=AlertEvent.FIRED, state=_alert(key, level), now=T0 + timedelta(seconds=i)))
        uow.audit.append(alert_entry(event=AlertEvent.RESOLVED, state=_alert("venue_latency:alpaca", AlertLevel.WARNING),
                                     now=T0 + timedelta(minutes=1)))
        uow.commit()
    acknowledge(key="bot_stale:paper/eq", by="ops@example.com", uow_factory=store, now=T0 + timedelta(minutes=2))
    assert _figures(store) == {
        ("quantshift_alerts_open", "critical"): 2, ("quantshift_alerts_open", "warning"): 1,
        ("quantshift_alerts_open", "info"): 0,
        ("quantshift_alerts_unacknowledged", "critical"): 1, ("quantshift_alerts_unacknowledged", "warning"): 1,
        ("quantshift_alerts_unacknowledged", "info"): 0,
    }


def test_no_alert_yet_is_zero_at_every_level_and_a_store_down_answers_nothing():
    store = InMemoryStore()
    assert set(_figures(store).values()) == {0} and len(_figures(store)) == 6
    store.available = False
    assert _figures(store) == {}


def test_the_leading_watchdogs_last_tick_once_one_has_led():
    store = InMemoryStore()
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AlertCollector(store=store))
    assert registry.get_sample_value("quantshift_watchdog_last_tick_timestamp_seconds") is None  # none led yet
    with store() as uow:
        record_tick(uow, WatchdogTick(at=T0, holder="12@host", interval_seconds=1.0))
        uow.commit()
    assert registry.get_sample_value("quantshift_watchdog_last_tick_timestamp_seconds") == T0.timestamp()
    assert registry.get_sample_value("quantshift_watchdog_tick_interval_seconds") == 1.0
