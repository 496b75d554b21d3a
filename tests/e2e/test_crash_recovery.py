"""Crash drills with real processes: the continuous `quantshift paper` session is SIGKILLed
at each named point of the order path (entrypoints/faults.py, application/ports.py
CRASH_POINTS), restarted, and the store is then compared with the durable simulated
venue's journal: nothing sent twice, nothing lost, positions and cash exact.

Default: 1 run per crash point (the suite's time budget). A soak: QUANTSHIFT_CRASH_RUNS=30 pytest -n 2 tests/e2e/test_crash_recovery.py
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from application.trading.ports import CRASH_POINTS
from tests.e2e.test_cli_safety import USER_STRATEGIES
from tests.support.configs import NO_ORDER_THROTTLE, flipflop_bot
from tests.e2e.conftest import QUANTSHIFT

pytestmark = pytest.mark.e2e

RUNS = int(os.environ.get("QUANTSHIFT_CRASH_RUNS", "1"))
HEARTBEAT = 0.3
BAR_SECONDS = "0.1"
CAPITAL = Decimal(10_000)
CRASH_TIMEOUT = 60.0  # "cycle" at p=0.02 needs up to ~150 bars (15 s) for the seeds below 30
ACCOUNT = "paper"

def crash_spec(point: str, run: int) -> str:
    return f"cycle:p=0.02:seed={run}" if point == "cycle" else f"{point}:{run + 2}"


def write_config(tmp: Path) -> Path:
    strategy = USER_STRATEGIES
    config = tmp / "bots.toml"
    # position_fraction 0.05 (about 0.008 BTC): most orders fill whole on the next bar, some
    # take two or more bars (0.1 s bars have little volume), so partial fills are exercised too.
    config.write_text(f'''
[engine]
heartbeat_seconds = {HEARTBEAT}
market_fill = "next_open"
max_volume_share = 1
''' + NO_ORDER_THROTTLE + flipflop_bot(strategy, capital=CAPITAL, position_fraction=0.05))
    return config


def read(path: Path, sql: str, *params: object) -> list[tuple]:
    connection = sqlite3.connect(path, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def signed(side: str, quantity: str) -> Decimal:
    return Decimal(quantity) if side == "buy" else -Decimal(quantity)


def venue_journal(tmp: Path) -> Path:
    journals = sorted((tmp / "venue").glob("venue-*.db"))
    assert len(journals) == 1, f"expected one venue journal, found {journals}"
    return journals[0]


class Snapshot:
    """The store and the venue journal, read while no process runs."""

    def __init__(self, db: Path, journal: Path) -> None:
        self.orders = {row[0]: row[1:] for row in read(
            db, "SELECT client_order_id, status, venue_order_id, filled_quantity, reason FROM orders WHERE account=?",
            ACCOUNT)}
        self.fills = {row[0]: row[1:] for row in read(
            db, "SELECT fill_id, client_order_id, side, quantity, price, commission FROM fills WHERE account=?",
            ACCOUNT)}
        self.venue_orders = {row[0]: row[1:] for row in read(
            journal, "SELECT client_order_id, venue_order_id, status, filled, fills, account FROM orders")}
        self.venue_fills = {row[0]: row[1:] for row in read(
            journal, "SELECT fill_id, client_order_id, side, quantity, price, commission FROM fills")}
        self.venue_log = read(journal, "SELECT seq, action, client_order_id, status FROM log ORDER BY seq")

    def in_status(self, status: str) -> list[str]:
        return [coid for coid, row in self.orders.items() if row[0] == status]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_sigkill_then_restart_neither_duplicates_nor_loses(cli, point: str, run: int) -> None:
    tmp = cli.tmp
    config = write_config(tmp)
    cli.env.pop("QUANTSHIFT_CRASH_AT", None)

    # --- run 1: trade until the drill kills the process at `point` ----------------------------
    spec = crash_spec(point, run)
    run1_log = tmp / "run1.log"
    with run1_log.open("w") as out:
        bot = subprocess.Popen([QUANTSHIFT, "paper", "--bar-seconds", BAR_SECONDS, "--config", str(config)],
                               env={**cli.env, "QUANTSHIFT_CRASH_AT": spec}, stdout=out, stderr=subprocess.STDOUT)
    try:
        returncode = bot.wait(timeout=CRASH_TIMEOUT)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.wait(timeout=10)
        pytest.fail(f"QUANTSHIFT_CRASH_AT={spec}: the session did not die within {CRASH_TIMEOUT:g}s\n{log_tail(run1_log)}")
    died_at = time.monotonic()
    assert returncode == -signal.SIGKILL, (
        f"QUANTSHIFT_CRASH_AT={spec}: exited {returncode}, expected death by SIGKILL\n{log_tail(run1_log)}")

    journal = venue_journal(tmp)
    before = Snapshot(cli.db, journal)
    missed_fills = set(before.venue_fills) - set(before.fills)
    if point == "after_intent_commit":
        # The intent is stored; the venue never heard of it.
        unsent = before.in_status("initialized")
        assert len(unsent) == 1, f"expected the one intent in flight, found {unsent}"
        pending = unsent[0]
        assert pending not in before.venue_orders
    elif point == "after_submit_before_ack":
        # The venue has the order; the store has not recorded that it was sent.
        unacked = before.in_status("initialized")
        assert len(unacked) == 1, f"expected the one order in flight, found {unacked}"
        pending = unacked[0]
        assert pending in before.venue_orders and before.venue_orders[pending][1] == "accepted"
    elif point == "after_fill_before_record":
        assert missed_fills, "killed after a fill but before recording it: the venue should have a fill we lack"

    # --- restart, once the dead process's heartbeat is stale ----------------------------------
    time.sleep(max(0.0, died_at + 2 * HEARTBEAT + 0.1 - time.monotonic()))
    for beat_at, interval, run_state in read(
            cli.db, "SELECT beat_at, interval_seconds, run_state FROM heartbeats WHERE account=?", ACCOUNT):
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(beat_at)).total_seconds()
        assert run_state == "running" and age > 2 * interval, (beat_at, interval, run_state, age)
    restart = cli.run("paper", "--bar-seconds", BAR_SECONDS, "--duration", "3", "--config", str(config),
                      check=False, timeout=60)
    assert restart.returncode == 0, f"restart exited {restart.returncode}\n{restart.stdout}\n{restart.stderr}"

    # Start-up reconciliation passed: nothing halted, by reconciliation or anyone else.
    assert read(cli.db, "SELECT scope, state, actor, reason FROM control WHERE state='halted'") == []
    status = cli.json("status", "--config", str(config))
    assert status["halt"] is None, status["halt"]
    assert [(b["bot"], b["state"], b["trading_state"], b["halt_reason"]) for b in status["bots"]] == [
        ("btc", "stopped", "active", None)], status["bots"]

    after = Snapshot(cli.db, journal)

    # (a) The venue received each client_order_id at most once. The journal's orders table is
    # UNIQUE on it; its append-only log records every accepted or refused submission, so a
    # second order for an id would show as a second submit/reject row (a resubmission of a
    # known id is a no-op there and is not logged: the store's audit trail catches that one).
    arrivals = Counter(coid for _, action, coid, _ in after.venue_log if action in ("submit", "reject"))
    assert [coid for coid, n in arrivals.items() if n > 1] == [], "a client_order_id reached the venue twice"
    assert set(arrivals) == set(after.venue_orders), "venue orders and submissions in its log disagree"
    first_action: dict[str, str] = {}
    for _, action, coid, _ in after.venue_log:
        first_action.setdefault(coid, action)
    assert set(first_action.values()) <= {"submit", "reject"}, first_action
    sent = Counter(coid for (coid,) in read(
        cli.db, "SELECT client_order_id FROM audit_log WHERE message LIKE 'submitted to the venue%'"))
    assert [coid for coid, n in sent.items() if n > 1] == [], "an order was submitted twice"
    assert set(sent) <= set(after.venue_orders)
    # At most one order per intent: one client_order_id per (bot, strategy, symbol, side, signal bar).
    assert read(cli.db, "SELECT bot, strategy, symbol, side, signal_ts, count(*) FROM orders "
                        "GROUP BY bot, strategy, symbol, side, signal_ts HAVING count(*) > 1") == []

    # (b) Nothing lost: every venue order is ours with the same ids and figures, every venue
    # fill is in the store's fills (and the store has no fill the venue did not make).
    assert after.venue_orders, "the drill traded nothing"
    for coid, (venue_id, venue_status, filled, n_fills, account) in after.venue_orders.items():
        assert coid in after.orders, f"venue order {coid} is not in the store"
        status_, store_venue_id, store_filled, reason = after.orders[coid]
        assert account == ACCOUNT
        assert store_venue_id == venue_id, (coid, store_venue_id, venue_id)
        assert Decimal(store_filled) == Decimal(filled), (coid, store_filled, filled)
        assert status_ == venue_status, (coid, status_, venue_status, reason)
        assert sum(1 for f in after.fills.values() if f[0] == coid) == n_fills, coid
    assert set(after.venue_fills) - set(after.fills) == set(), "venue fills missing from the store"
    assert set(after.fills) - set(after.venue_fills) == set(), "store fills the venue never made"
    for fill_id, row in after.venue_fills.items():
        assert after.fills[fill_id] == row, (fill_id, after.fills[fill_id], row)
    # Orders the venue never got are closed in the store, never left open to be sent late.
    for coid, (status_, *_rest) in after.orders.items():
        if coid not in after.venue_orders:
            assert status_ in ("denied", "cancelled"), (coid, status_)

    # (c) Positions are the venue's net quantity; cash is capital less what the fills cost.
    venue_net: dict[str, Decimal] = {}
    for symbol, side, quantity in read(journal, "SELECT symbol, side, quantity FROM fills"):
        venue_net[symbol] = venue_net.get(symbol, Decimal(0)) + signed(side, quantity)
    store_positions = {symbol: Decimal(q) for symbol, q in read(
        cli.db, "SELECT symbol, quantity FROM positions WHERE account=? AND bot='btc'", ACCOUNT)}
    for symbol in set(venue_net) | set(store_positions):
        assert store_positions.get(symbol, Decimal(0)) == venue_net.get(symbol, Decimal(0)), (
            symbol, store_positions, venue_net)
    ((initial, cash),) = read(cli.db, "SELECT initial_cash, cash FROM accounts WHERE account=? AND bot='btc'", ACCOUNT)
    assert Decimal(initial) == CAPITAL
    spent = sum((signed(side, q) * Decimal(p) + Decimal(c) for _, side, q, p, c in after.fills.values()), Decimal(0))
    assert Decimal(cash) == CAPITAL - spent, (cash, CAPITAL - spent)

    # What the crash left in flight was resolved as the venue says.
    if point == "after_intent_commit":
        assert after.orders[pending][0] == "cancelled" and pending not in after.venue_orders, after.orders[pending]
    elif point == "after_submit_before_ack":
        assert after.orders[pending][0] not in ("initialized", "submitted"), after.orders[pending]

    # (e) Unique client_order_ids in the store, and the restart's reconciliation in the audit
    # trail: OK, before the restart made any intent, having backfilled what the crash missed.
    assert read(cli.db, "SELECT client_order_id FROM orders GROUP BY client_order_id HAVING count(*) > 1") == []
    starts = [i for (i,) in read(cli.db, "SELECT id FROM audit_log WHERE kind='session' AND account=? "
                                         "AND message LIKE 'paper session started%' ORDER BY id", ACCOUNT)]
    assert len(starts) == 2, starts
    reconciliations = read(cli.db, "SELECT id, kind, message, data FROM audit_log WHERE account=? "
                                   "AND message LIKE 'reconciliation%' AND id > ? ORDER BY id", ACCOUNT, starts[1])
    assert reconciliations, "no reconciliation after the restart"
    first_id, kind, message, data = reconciliations[0]
    assert kind == "session" and message.startswith("reconciliation OK"), message
    assert read(cli.db, "SELECT id, message FROM audit_log WHERE message LIKE 'reconciliation MISMATCH%'") == []
    assert read(cli.db, "SELECT id, message FROM audit_log WHERE id > ? AND id < ? AND "
                        "(message LIKE 'intent %' OR message LIKE 'submitted to the venue%')",
                starts[1], first_id) == [], "the restart traded before reconciling"
    assert json.loads(data)["backfilled_fills"] == len(missed_fills), (data, missed_fills)

    # (d) The stopped bot's records and the venue agree, with nothing left to repair.
    checked = cli.run("reconcile", "--json", "--config", str(config), check=False)
    assert checked.returncode == 0, f"reconcile exited {checked.returncode}\n{checked.stdout}\n{checked.stderr}"
    report = json.loads(checked.stdout)
    assert report["ok"] is True and report["mismatches"] == [], report
    assert (report["backfilled_fills"], report["adopted"], report["closed_unsent"], report["unresolved"]) == (
        0, [], [], []), report
    assert report["checked_fills"] == len(after.venue_fills)
