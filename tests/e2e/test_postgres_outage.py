"""The store goes away under a running paper session (RELIABILITY.md, fault matrix):

- "store down before sending: no order; status degraded"
- "store down while fills arrive: on recovery fills are backfilled from the venue; counts match"

A real `quantshift paper` process trades through a loopback TCP proxy in front of Postgres.
The proxy is cut for ~4 s (every connection dropped, new ones closed at once) while the bot
makes an intent every bar. The simulated venue keeps its own SQLite journal, outside the
store, so it stays reachable: it is the independent witness of what was sent, and when.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from adapters.clock import SystemClock
from adapters.log_notifier import LoggingNotifier
from adapters.postgres import PostgresStore
from adapters.simulated import MarketFill, SimulatedBrokerConfig, build_simulated_broker
from application.trading.paper_session import PaperSession, ProcessInfo, SessionSettings
from domain.accounting.instrument import crypto
from domain.errors import StoreUnavailable
from domain.strategy import Target
from tests.e2e.conftest import QUANTSHIFT
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_cli_safety import USER_STRATEGIES
from tests.e2e.test_postgres_cli import pg, sent_orders
from tests.fakes.builders import always, bar, spec
from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ACCOUNT = "paper"  # the continuous session's account
SYMBOL = "BTC-USD"
OUTAGE_SECONDS = 4.0
AFTER_SECONDS = 5.0
# Record before send: an intent committed just before the cut may still be sent just after
# it (the venue needs no store). That one in-flight submit is all the cut may be followed by.
IN_FLIGHT_SLACK = timedelta(seconds=0.2)
# A statement the server received before the cut may finish a moment after it.
SERVER_SLACK = timedelta(seconds=0.1)
WATCH_EVERY = 0.02  # seconds between two looks at the venue's journal


def wall() -> datetime:
    return datetime.now(timezone.utc)


class JournalWatcher:
    """Polls the venue's journal from outside the bot and notes when each order (and fill)
    first appeared: after `after` (the start of the last read that did not have it) and at
    or before `by` (the end of the first read that did). The journal commits before the
    venue answers, so the venue took the order inside that interval."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path: Path | None = None
        self.orders_seen: dict[str, tuple[datetime, datetime]] = {}  # client_order_id -> (after, by)
        self.fills_seen: dict[str, tuple[datetime, datetime]] = {}  # venue fill id -> (after, by)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-watcher", daemon=True)

    def __enter__(self) -> JournalWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while self.path is None and not self._stop.is_set():
            found = sorted(self.directory.glob("venue-*.db"))
            if found:
                self.path = found[0]
            else:
                time.sleep(WATCH_EVERY)
        if self.path is None:
            return
        connection = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
        try:
            last_read = wall()
            while not self._stop.is_set():
                started = wall()
                try:
                    connection.execute("BEGIN")  # one snapshot of both tables
                    try:
                        orders = connection.execute("SELECT client_order_id FROM orders").fetchall()
                        fills = connection.execute("SELECT fill_id FROM fills").fetchall()
                    finally:
                        connection.execute("COMMIT")
                except sqlite3.Error:  # the venue still creating its tables, or busy: look again
                    time.sleep(WATCH_EVERY)
                    continue
                done = wall()
                for (coid,) in orders:
                    self.orders_seen.setdefault(coid, (last_read, done))
                for (fill_id,) in fills:
                    self.fills_seen.setdefault(fill_id, (last_read, done))
                last_read = started
                time.sleep(WATCH_EVERY)
        finally:
            connection.close()


def read_journal(path: Path) -> tuple[list[dict], list[dict]]:
    connection = sqlite3.connect(path, timeout=5.0)
    connection.row_factory = sqlite3.Row
    try:
        orders = [dict(r) for r in connection.execute("SELECT * FROM orders ORDER BY seq")]
        fills = [dict(r) for r in connection.execute("SELECT * FROM fills ORDER BY seq")]
    finally:
        connection.close()
    return orders, fills


@pytest.fixture
def stack():
    with contextlib.ExitStack() as exits:
        yield exits


def proxy_to(stack: contextlib.ExitStack, url: str) -> tuple[TcpProxy, str]:
    """A proxy in front of the server of `url`, and the same URL through it."""
    direct = urlparse(url)
    proxy = stack.enter_context(TcpProxy(upstream_host=direct.hostname or "127.0.0.1",
                                         upstream_port=direct.port or 5432))
    return proxy, direct._replace(netloc=f"{direct.username or 'postgres'}@127.0.0.1:{proxy.port}").geturl()


def test_store_outage_sends_nothing_while_down_and_loses_nothing(pg_cli, stack):
    strategy = USER_STRATEGIES  # FlipFlop: LONG, FLAT, LONG, ...: an intent on every bar
    config = pg_cli.config('''
[engine]
heartbeat_seconds = 0.3
lease_seconds = 2
market_fill = "next_open"
max_volume_share = 1
''' + NO_ORDER_THROTTLE + flipflop_bot(strategy, symbol=SYMBOL))
    venue_dir = Path(pg_cli.env["QUANTSHIFT_VENUE_DIR"])
    out_path, err_path = pg_cli.tmp / "paper.out", pg_cli.tmp / "paper.err"
    # The proxy stays up to the end: the simulated venue is found by the store's address
    # (host:port/db), so `reconcile` goes through it too, to reach the session's venue.
    proxy, proxied_url = proxy_to(stack, pg_cli.pg_url)
    env = {**pg_cli.env, "QUANTSHIFT_DATABASE_URL": proxied_url}

    with JournalWatcher(venue_dir) as watcher:
        # Files, not pipes: nobody reads a pipe while the outage fills it with log lines.
        with out_path.open("w") as out, err_path.open("w") as err:
            bot = subprocess.Popen([QUANTSHIFT, "paper", "--bar-seconds", "0.1", "--config", str(config)],
                                   env=env, stdout=out, stderr=err, text=True)
        try:
            wait_until(lambda: bot.poll() is not None or sent_orders(pg_cli) >= 5, timeout=60,
                       message="the session trading through the proxy")
            assert bot.poll() is None, f"the session ended before the outage:\n{err_path.read_text()}"

            cut_at = wall()
            dropped = proxy.cut()
            alive_during_outage = []
            while wall() < cut_at + timedelta(seconds=OUTAGE_SECONDS):
                alive_during_outage.append(bot.poll() is None)
                time.sleep(0.1)
            restored_at = wall()
            proxy.restore()

            # After the restore: watch (directly, not through the proxy) for the session's
            # heartbeat to come back while it still runs.
            beat_back = None
            while wall() < restored_at + timedelta(seconds=AFTER_SECONDS):
                if beat_back is None:
                    rows = pg(pg_cli, "SELECT beat_at FROM heartbeats WHERE account = %s AND bot = 'btc' "
                                      "AND run_state = 'running' AND beat_at > %s", ACCOUNT, restored_at)
                    beat_back = rows[0][0] if rows else None
                time.sleep(0.1)

            # (a) The outage did not take the process down.
            assert all(alive_during_outage) and bot.poll() is None, (
                f"the session died during or after the outage (exit {bot.poll()}):\n{err_path.read_text()}")
            bot.send_signal(signal.SIGTERM)
            code = bot.wait(timeout=30)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait(timeout=10)
        stderr = err_path.read_text()
        assert code == 0, f"SIGTERM: exit {code}\n{stderr}"
        time.sleep(5 * WATCH_EVERY)  # a last look at the journal, after the bot's last write

    print(f"\nproxy: {proxy.accepted} connection(s) forwarded, {dropped} dropped by the cut, "
          f"{proxy.refused} refused while cut")
    assert dropped >= 1 and proxy.refused >= 1, "the session never met the outage: this tested nothing"

    assert watcher.path is not None
    assert sorted(venue_dir.glob("venue-*.db")) == [watcher.path], "one venue: the session's"
    venue_orders, venue_fills = read_journal(watcher.path)
    venue_ids = [o["client_order_id"] for o in venue_orders]
    assert set(watcher.orders_seen) == set(venue_ids), "the watcher saw every order the venue has"

    # (b) Record before send, fail closed. Every order the venue has is an intent the store
    # has: its row, and its intent audit line (same transaction; recorded_at is the server's
    # clock_timestamp()) written before the venue had the order.
    stored = dict(pg(pg_cli, "SELECT client_order_id, status FROM orders WHERE account = %s", ACCOUNT))
    intent_at = dict(pg(pg_cli, "SELECT client_order_id, min(recorded_at) FROM audit_log "
                                "WHERE account = %s AND message LIKE 'intent %%' GROUP BY client_order_id", ACCOUNT))
    unknown = [coid for coid in venue_ids if coid not in stored]
    assert not unknown, f"the venue has orders the store never recorded: {unknown}"
    late = [(coid, intent_at.get(coid), watcher.orders_seen[coid][1]) for coid in venue_ids
            if intent_at.get(coid) is None or intent_at[coid] > watcher.orders_seen[coid][1]]
    assert not late, f"sent before the intent was recorded: {late}"
    # Nothing reached the venue while the store was cut off, but the one in-flight submit.
    during = {coid: seen for coid, seen in watcher.orders_seen.items()
              if seen[0] >= cut_at + IN_FLIGHT_SLACK and seen[1] <= restored_at}
    assert not during, f"orders the venue took while the store was down: {during}"
    in_flight = [coid for coid, (after, _) in watcher.orders_seen.items()
                 if cut_at <= after < cut_at + IN_FLIGHT_SLACK]
    assert len(in_flight) <= 1, f"more than one submit after the cut: {in_flight}"
    # The proxy was the session's only way in: the store recorded nothing from it meanwhile.
    written = pg(pg_cli, "SELECT recorded_at, message FROM audit_log WHERE recorded_at > %s AND recorded_at < %s",
                 cut_at + SERVER_SLACK, restored_at)
    assert not written, f"the store was written during the outage: {written}"

    # (c) Nothing lost, and by the session itself (checked before `reconcile`, which would
    # repair the store): every venue fill recorded once, each order's filled quantity and
    # the position equal to the venue's.
    store_fills = [row[0] for row in pg(pg_cli, "SELECT fill_id FROM fills WHERE account = %s", ACCOUNT)]
    assert len(store_fills) == len(set(store_fills))
    missing = sorted({f["fill_id"] for f in venue_fills} - set(store_fills))
    assert not missing, f"{len(missing)} venue fill(s) not in the store: {missing[:5]}"
    assert set(store_fills) == {f["fill_id"] for f in venue_fills}
    filled = dict(pg(pg_cli, "SELECT client_order_id, filled_quantity FROM orders WHERE account = %s", ACCOUNT))
    disagree = [(o["client_order_id"], filled[o["client_order_id"]], o["filled"]) for o in venue_orders
                if filled[o["client_order_id"]] != Decimal(o["filled"])]
    assert not disagree, f"filled quantities (order, store, venue): {disagree}"
    venue_net = sum((Decimal(f["quantity"]) * (1 if f["side"] == "buy" else -1) for f in venue_fills), Decimal(0))
    store_net = pg(pg_cli, "SELECT coalesce(sum(quantity), 0) FROM positions WHERE account = %s AND symbol = %s",
                   ACCOUNT, SYMBOL)[0][0]
    assert store_net == venue_net, f"position: store {store_net}, venue {venue_net}"
    report = subprocess.run([QUANTSHIFT, "reconcile", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert report.returncode == 0, report.stdout + report.stderr
    verdict = json.loads(report.stdout)
    assert verdict["ok"] is True and verdict["mismatches"] == [], verdict
    assert verdict["backfilled_fills"] == 0 and verdict["adopted"] == [], verdict
    figures = verdict["positions"].get(SYMBOL, {"store": "0", "venue": "0"})
    assert Decimal(figures["store"]) == Decimal(figures["venue"]) == venue_net, figures

    # (d) Trading resumed after the restore: heartbeats came back while the session ran,
    # intents were submitted (audit trail, server clock) and reached the venue.
    assert beat_back is not None, f"no heartbeat within {AFTER_SECONDS} s of the restore"
    resumed = pg(pg_cli, "SELECT count(*), min(recorded_at) FROM audit_log WHERE account = %s "
                         "AND message LIKE 'submitted to the venue%%' AND recorded_at > %s", ACCOUNT, restored_at)[0]
    assert resumed[0] >= 3, f"trading did not resume after the restore: {resumed}"
    assert sum(1 for after, _ in watcher.orders_seen.values() if after > restored_at) >= 3
    if "store unavailable: trading paused" in stderr:  # a store call failed (not merely waited) meanwhile
        assert "store back: trading resumed" in stderr
    assert not pg(pg_cli, "SELECT scope, reason FROM control WHERE state = 'halted'"), "nothing halted the bot"
    beats = pg(pg_cli, "SELECT run_state, beat_at FROM heartbeats WHERE account = %s AND bot = 'btc'", ACCOUNT)
    assert beats and beats[0][0] == "stopped" and beats[0][1] > restored_at
    tally = pg(pg_cli, "SELECT data FROM audit_log WHERE account = %s AND message LIKE 'paper session stopped%%' "
                       "ORDER BY id DESC LIMIT 1", ACCOUNT)[0][0]
    fills_while_down = sum(1 for after, by in watcher.fills_seen.values() if after >= cut_at and by <= restored_at)
    print(f"venue: {len(venue_orders)} orders, {len(venue_fills)} fills ({fills_while_down} made while the store "
          f"was down); {len(in_flight)} submit in flight at the cut; heartbeat back "
          f"{(beat_back - restored_at).total_seconds():.2f} s and first submit "
          f"{(resumed[1] - restored_at).total_seconds():.2f} s after the restore; session tally {tally}")


def test_a_clean_stop_after_an_outage_records_the_fills_that_arrived_during_it(pg_cli, stack):
    """In process, to place the outage exactly between a venue fill and its recording (a
    real process hits the same window only by chance): the venue fills while the store is
    cut off, the store comes back, the session is stopped cleanly. Every venue fill must be
    in the store then, without waiting for a reconciliation."""
    proxy, proxied_url = proxy_to(stack, pg_cli.pg_url)
    store = PostgresStore(url=proxied_url, connect_timeout_seconds=1)
    stack.callback(store.close)
    instruments = {SYMBOL: crypto(SYMBOL)}
    # A small volume share: the order fills over many bars, so the venue fills during the outage.
    broker = build_simulated_broker(config=SimulatedBrokerConfig(market_fill=MarketFill.NEXT_OPEN,
                                                                 max_volume_share=Decimal("0.01")),
                                    instruments=instruments)
    session = PaperSession(
        settings=SessionSettings(account=ACCOUNT, mode="paper", heartbeat_seconds=0.3),
        bots=[spec("btc", strategy=always(Target.LONG), instruments=instruments, capital=10000)],
        uow_factory=store, broker=broker, venue=broker, notifier=LoggingNotifier(), wall_clock=SystemClock(),
        process=ProcessInfo(pid=1, host="outage-test"),
    )
    start = wall().replace(microsecond=0) - timedelta(minutes=10)
    series = [bar(SYMBOL, start + timedelta(minutes=i), 100) for i in range(4)]
    session.start(now=series[0].ts)
    for b in series[:3]:
        session.process_bar(b, now=b.end)
    assert session.tally["submitted"] == 1 and not session.degraded
    assert len(broker.fills()) == 2  # the buy has filled on two bars so far, and is still open

    proxy.cut()
    session.process_bar(series[3], now=series[3].end)  # the venue fills again; the store cannot record it
    assert session.degraded and len(broker.fills()) == 3
    proxy.restore()
    wait_until(lambda: _reachable(store), timeout=30, message="the store back for the session")
    session.stop(now=series[3].end, detail="stopped after the outage")

    with psycopg.connect(pg_cli.pg_url) as connection:
        ours = {row[0] for row in connection.execute("SELECT fill_id FROM fills")}
        position = connection.execute("SELECT quantity FROM positions WHERE symbol = %s", (SYMBOL,)).fetchone()
    venue = {f.fill_id for f in broker.fills()}
    assert venue - ours == set(), f"fills the venue made and the stopped session never recorded: {venue - ours}"
    assert position is not None and position[0] == broker.positions()[SYMBOL]


def _reachable(store: PostgresStore) -> bool:
    try:
        with store() as uow:
            uow.heartbeats.list(account=ACCOUNT)
    except StoreUnavailable:
        return False
    return True
