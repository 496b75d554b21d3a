"""/metrics figures of the alerting itself, read from the store at scrape time: the open alerts
by level (the ALERT audit trail as application.alerting.lifecycle reads it, the one reading
of it), those of them nobody has acknowledged yet.

Every level is present, 0 included, so a rule or a panel has a series before the first alert.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from application.alerting.lifecycle import open_alerts
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
