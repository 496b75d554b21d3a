"""/metrics in the Prometheus text format.

HTTP figures are counted as requests pass (route template, not the raw path, so ids do not
explode the label space; unmatched paths share one label). Store figures (bots by liveness,
orders, fills, risk denials; per bot in metrics_bots.py, per venue in metrics_venues.py) are
read at scrape time by custom collectors, so they are right even when the bots run in other
processes.

Each app has its own registry (no global state, nothing at import). With more than one
uvicorn worker each worker answers with its own HTTP counts; the store figures agree.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterator

from litestar import Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from application.ports import Clock
from application.reports.status import BotLiveness, bot_statuses
from entrypoints.web.deps import Store

log = logging.getLogger("quantshift.api")
_STARTED = "quantshift_started"


class StoreCollector(Collector):
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        up = GaugeMetricFamily("quantshift_store_up", "1 when the store answered this scrape")
        try:
            figures = self._read()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the store does not
            log.warning("metrics: the store did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _read(self) -> list[CounterMetricFamily | GaugeMetricFamily]:
        bots = GaugeMetricFamily("quantshift_bots", "Bots by liveness (from the heartbeat's age)", labels=["liveness"])
        orders = CounterMetricFamily("quantshift_orders", "Orders recorded (denied ones included)", labels=["account"])
        fills = CounterMetricFamily("quantshift_fills", "Fills recorded", labels=["account"])
        denials = CounterMetricFamily("quantshift_risk_denials", "Order intents the risk engine denied",
                                      labels=["account"])
        with self._store.unit_of_work(read_only=True) as uow:
            statuses = bot_statuses(uow, now=self._clock.now())
            by_liveness = Tally(s.liveness for s in statuses)
            for state in BotLiveness:
                bots.add_metric([state.value], by_liveness[state])
            for account in sorted({ledger.account for ledger in uow.accounts.list()}):
                orders.add_metric([account], uow.orders.count(account=account))
                fills.add_metric([account], uow.fills.count(account=account))
                # The store counts audit entries by severity only; denials are the risk entries
                # that say DENIED (a count by kind in the store would spare reading them).
                denied = sum(1 for e in uow.audit.list(account=account, kind="risk", limit=1_000_000)
                             if "DENIED" in e.message)
                denials.add_metric([account], denied)
        return [bots, orders, fills, denials]


class HttpMetrics:
    """The request counter and latency histogram of one app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("quantshift_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("quantshift_http_request_duration_seconds", "HTTP request latency by route",
                                 ["method", "route"], registry=registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Marks when a routed request started (a route-level middleware: 404/405 never reach it)."""
        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("state", {})[_STARTED] = time.perf_counter()
            await app(scope, receive, send)
        return timed

    async def before_send(self, message: Message, scope: Scope) -> None:
        """Counts every response, routing errors included, when its status goes out."""
        if message["type"] != "http.response.start" or scope.get("type") != "http":
            return
        route = scope.get("path_template") or "unmatched"
        method = scope.get("method", "")
        self.requests.labels(method=method, route=route, status=str(message["status"])).inc()
        started = scope.get("state", {}).get(_STARTED)
        if started is not None:
            self.latency.labels(method=method, route=route).observe(time.perf_counter() - started)


# media_type: so the OpenAPI document says text/plain (Litestar assumes JSON otherwise).
@get("/metrics", opt={"public": True}, security=[], sync_to_thread=True, include_in_schema=True, tags=["operations"],
     media_type=CONTENT_TYPE_LATEST)
def metrics(request: Request) -> Response[bytes]:
    """Prometheus text exposition (no auth: keep it on a private network or behind the proxy)."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
