"""/metrics figures of the alerting itself, read from the store at scrape time: the open alerts
by level (the ALERT audit trail as application.alerting.lifecycle reads it, the one reading
of it), those of them nobody has acknowledged yet, and the leading watchdog's last tick.

Every level is present, 0 included, so a rule or a panel has a series before the first alert.
The tick is absent until a watchdog has led on this store (nothing to be late yet).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from application.alerting.lifecycle import open_alerts
from application.monitoring.tick_record import last_tick
from application.ports import AlertLevel
from entrypoints.web.deps import Store

log = logging.getLogger("quantshift.api")


class AlertCollector(Collector):
    def __init__(self, *, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._store.unit_of_work(read_only=True) as uow:
                alerts = open_alerts(uow)
                tick = last_tick(uow)
        except Exception:  # noqa: BLE001 - the store collector says quantshift_store_up 0; stay quiet here
            log.warning("metrics: open alerts not read", exc_info=True)
            return
        opened = GaugeMetricFamily("quantshift_alerts_open", "Open alerts by level (acknowledged or not)",
                                   labels=["level"])
        waiting = GaugeMetricFamily("quantshift_alerts_unacknowledged", "Open alerts nobody has acknowledged, by level",
                                    labels=["level"])
        by_level = Counter(a.level for a in alerts)
        unacked = Counter(a.level for a in alerts if not a.acked)
        for level in AlertLevel:
            opened.add_metric([level.value], by_level[level])
            waiting.add_metric([level.value], unacked[level])
        yield from (opened, waiting)
        if tick is not None:
            yield GaugeMetricFamily("quantshift_watchdog_last_tick_timestamp_seconds",
                                    "Unix time of the leading watchdog's last tick", value=tick.at.timestamp())
            yield GaugeMetricFamily("quantshift_watchdog_tick_interval_seconds",
                                    "The leading watchdog's tick interval", value=tick.interval_seconds)
