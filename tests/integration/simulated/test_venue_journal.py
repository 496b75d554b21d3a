"""The simulated venue's journal: a venue that outlives the bot process.

A scripted session (submits, bars, a cancel, a duplicate, a refused order) runs once on a
control venue that is never restarted, and again on journaled venues restarted at every
step: in the same process, in a fresh subprocess, and after a SIGKILL. Every answer and
every fill after the restart must equal the control's.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.simulated import MarketFill, SimulatedBroker, SimulatedBrokerConfig, VenueJournal, build_simulated_broker
from domain.accounting.instrument import crypto, equity
from domain.accounting.market import Bar
from domain.errors import ConfigurationError, InvalidMarketData, TransientError, VenueUnavailable
from domain.orders.events import BrokerEvent, OrderFilled
from domain.orders.order import Order, OrderSide, OrderType

ROOT = Path(__file__).resolve().parents[3]
D = Decimal
T0 = datetime(2025, 6, 2, 13, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
INSTRUMENTS = {"SPY": equity("SPY"), "BTC-USD": crypto("BTC-USD")}
ACCOUNT = "acct-1"


def bar(i: int, o, h=None, l=None, c=None, *, volume=100, symbol="SPY") -> Bar:  # noqa: E741
    o = D(str(o))
    h, l, c = (D(str(x)) if x is not None else o for x in (h, l, c))
    return Bar(symbol=symbol, ts=T0 + i * MIN, open=o, high=h, low=l, close=c, volume=D(str(volume)))


def order(coid: str, *, at: int, side=OrderSide.BUY, qty="10", kind=OrderType.MARKET, limit=None, stop=None,
          symbol="SPY") -> Order:
    created = T0 + at * MIN  # the end of the bar the decision was made on, as in a session
    return Order(client_order_id=coid, account=ACCOUNT, bot="b", strategy="s", symbol=symbol, side=side,
                 order_type=kind, quantity=D(qty), created_at=created, signal_ts=created,
                 limit_price=None if limit is None else D(limit), stop_price=None if stop is None else D(stop))


# Capacity is 10 a bar (volume 100 x 0.1), so m1 fills over three bars and st1, elected on
# bar 1 with no capacity left, fills on bar 3 as a market order although bar 3 is below its stop.
STEPS: list[tuple[str, object]] = [
    ("bar", bar(0, 100)),
    ("bar", bar(0, 60_000, volume=5, symbol="BTC-USD")),
    ("submit", order("m1", at=1, qty="25")),
    ("submit", order("l1", at=1, side=OrderSide.SELL, qty="5", kind=OrderType.LIMIT, limit="105.00")),
    ("submit", order("st1", at=1, qty="5", kind=OrderType.STOP, stop="101.00")),
    ("submit", order("rej", at=1, symbol="NOPE")),
    ("submit", order("b1", at=1, qty="0.5", symbol="BTC-USD")),
    ("bar", bar(1, 100, 101.5, 99.5, 101)),
    ("bar", bar(1, 60_100, volume=5, symbol="BTC-USD")),
    ("bar", bar(2, "100.50")),
    ("submit", order("m1", at=3, qty="25")),  # a duplicate: no second order
    ("bar", bar(3, "100.20")),
    ("cancel", "l1"),
    ("bar", bar(4, 104, 106, 103, 105)),  # would have filled l1
    ("submit", order("m2", at=5, side=OrderSide.SELL, qty="3")),
    ("cancel", "ghost"),
    ("bar", bar(5, 104)),
    ("submit", order("st2", at=6, side=OrderSide.SELL, qty="4", kind=OrderType.STOP, stop="90.00")),
    ("bar", bar(6, 95, 96, 89, 90)),
]


def config(market_fill: MarketFill = MarketFill.NEXT_OPEN) -> SimulatedBrokerConfig:
    return SimulatedBrokerConfig(market_fill=market_fill, max_volume_share=D("0.1"))


def venue(journal_path: Path | None = None, *, market_fill: MarketFill = MarketFill.NEXT_OPEN) -> SimulatedBroker:
    journal = VenueJournal(path=journal_path, account=ACCOUNT) if journal_path else None
    return build_simulated_broker(config=config(market_fill), instruments=INSTRUMENTS, journal=journal)


def run(broker: SimulatedBroker, steps) -> list[BrokerEvent]:
    """Every answer of the venue, in order (what bars cause comes from poll_events)."""
    answers: list[BrokerEvent] = []
    for kind, arg in steps:
        if kind == "bar":
            broker.on_bar(arg)
            answers += broker.poll_events()
        elif kind == "submit":
            answers += broker.submit(arg)
        else:
            answers += broker.cancel(arg)
    return answers


def picture(broker: SimulatedBroker) -> dict[str, object]:
    """What a restarted venue must know, comparable across processes."""
    return {
        "open": [repr(s) for s in broker.open_orders()],
        "orders": {c: repr(broker.find_order(c)) for c in ("m1", "l1", "st1", "rej", "b1", "m2", "st2")},
        "fills": [repr(f) for f in broker.fills()],
        "positions": {s: str(q) for s, q in broker.positions().items()},
        "known": broker.submitted_client_order_ids(),
    }


def control(market_fill: MarketFill = MarketFill.NEXT_OPEN) -> tuple[list[BrokerEvent], SimulatedBroker]:
    broker = venue(market_fill=market_fill)
    return run(broker, STEPS), broker


# -- the control venue's own figures ------------------------------------------------------


def test_fills_and_positions_come_from_every_fill_the_venue_made():
    answers, broker = control()
    fills = [e.fill for e in answers if isinstance(e, OrderFilled)]
    assert broker.fills() == sorted(fills, key=lambda f: f.ts) and len(fills) == 7
    assert [(f.client_order_id, f.quantity) for f in broker.fills()] == [
        ("m1", D(10)), ("b1", D("0.5")), ("m1", D(10)), ("m1", D(5)), ("st1", D(5)), ("m2", D(3)), ("st2", D(4))]
    assert broker.fills(since=T0 + 3 * MIN) == fills[3:]
    assert broker.fills(since=T0 + 7 * MIN) == []
    assert broker.positions() == {"SPY": D(25 + 5 - 3 - 4), "BTC-USD": D("0.5")}


# -- restarts -------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(1, len(STEPS)))
def test_a_venue_restarted_in_the_same_process_answers_exactly_as_the_uninterrupted_one(tmp_path, k):
    expected, reference = control()
    first = venue(tmp_path / "venue.db")
    before = run(first, STEPS[:k])
    seen = picture(first)
    first.close()

    second = venue(tmp_path / "venue.db")
    assert picture(second) == seen
    for kind, arg in STEPS[:k]:
        if kind == "submit":
            assert second.submit(arg) == [], f"{arg.client_order_id} accepted twice"
    assert before + run(second, STEPS[k:]) == expected
    assert picture(second) == picture(reference)
    second.close()


def _a_bar_comes_first(k: int) -> bool:
    """After step k, every symbol's first submit comes after a bar of that symbol."""
    heard: set[str] = set()
    for kind, arg in STEPS[k:]:
        if kind == "bar":
            heard.add(arg.symbol)
        elif kind == "submit" and arg.symbol in INSTRUMENTS and arg.symbol not in heard:
            return False
    return True


@pytest.mark.parametrize("k", [k for k in range(1, len(STEPS)) if _a_bar_comes_first(k)])
def test_this_close_fills_are_the_same_after_a_restart_when_a_bar_comes_before_a_submit(tmp_path, k):
    """THIS_CLOSE prices a submit at the last bar's close; a bar that met no resting order is not
    journaled, so a restarted venue must hear a bar of a symbol before its first submit of it.
    A session always does that: the venue hears each bar before the bots act on it."""
    expected, _ = control(MarketFill.THIS_CLOSE)
    first = venue(tmp_path / "venue.db", market_fill=MarketFill.THIS_CLOSE)
    before = run(first, STEPS[:k])
    first.close()
    second = venue(tmp_path / "venue.db", market_fill=MarketFill.THIS_CLOSE)
    assert before + run(second, STEPS[k:]) == expected
    second.close()


def test_a_restarted_venue_refuses_a_replayed_bar_of_a_symbol_with_resting_orders(tmp_path):
    first = venue(tmp_path / "venue.db")
    run(first, STEPS[:8])  # bar 1 met the resting m1, l1, st1
    first.close()
    second = venue(tmp_path / "venue.db")
    with pytest.raises(InvalidMarketData):
        second.on_bar(bar(1, 100, 101.5, 99.5, 101))
    second.close()


_CHILD = textwrap.dedent("""
    import importlib.util, json, os, signal, sys
    sys.path.insert(0, sys.argv[1])
    spec = importlib.util.spec_from_file_location("journal_scenario", sys.argv[2])
    t = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t)
    path, k, mode = sys.argv[3], int(sys.argv[4]), sys.argv[5]
    broker = t.venue(t.Path(path))
    if mode == "crash":  # run the first k steps, then die without closing anything
        t.run(broker, t.STEPS[:k])
        print(json.dumps(t.picture(broker)), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "continue":  # a fresh process picks the venue up and runs the rest
        out = {"picture": t.picture(broker),
               "again": [repr(e) for kind, arg in t.STEPS[:k] if kind == "submit" for e in broker.submit(arg)]}
        out["rest"] = [repr(e) for e in t.run(broker, t.STEPS[k:])]
        out["final"] = t.picture(broker)
        print(json.dumps(out), flush=True)
    else:  # hold the venue until told to go
        print("ready", flush=True)
        sys.stdin.readline()
""")


def child(path: Path, k: int, mode: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(ROOT), __file__, str(path), str(k), mode],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


@pytest.mark.parametrize("k", [3, 8, 10, 13, 15])
def test_a_fresh_process_continues_the_venue_where_the_last_one_stopped(tmp_path, k):
    expected, reference = control()
    first = venue(tmp_path / "venue.db")
    before = run(first, STEPS[:k])
    seen = picture(first)
    first.close()
    proc = child(tmp_path / "venue.db", k, "continue")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    got = json.loads(out)
    assert got["picture"] == seen
    assert got["again"] == []  # every client_order_id it had is refused a second order
    assert got["rest"] == [repr(e) for e in expected[len(before):]]
    assert got["final"] == picture(reference)


@pytest.mark.parametrize("k", [4, 8, 11])
def test_after_a_sigkill_the_venue_knows_every_order_and_fill_and_keeps_matching(tmp_path, k):
    expected, reference = control()
    proc = child(tmp_path / "venue.db", k, "crash")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    seen = json.loads(out)
    # A copy run in this process shows what the dead one had answered before it died.
    with_copy = venue(tmp_path / "copy.db")
    before = run(with_copy, STEPS[:k])
    with_copy.close()

    restarted = venue(tmp_path / "venue.db")  # the dead process's lock went with it
    assert picture(restarted) == seen
    assert before + run(restarted, STEPS[k:]) == expected
    assert picture(restarted) == picture(reference)
    restarted.close()


# -- one venue per account at a time ------------------------------------------------------------


def test_a_second_live_venue_on_the_same_journal_is_refused(tmp_path):
    path = tmp_path / "venue.db"
    holder = child(path, 0, "hold")
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ConfigurationError, match=f"simulated venue for account {ACCOUNT} is in use by another "
                                                     f"process \\(pid {holder.pid}\\)"):
            VenueJournal(path=path, account=ACCOUNT)
    finally:
        holder.kill()  # SIGKILL: the kernel releases its lock
        holder.communicate(timeout=30)
    VenueJournal(path=path, account=ACCOUNT).close()


def test_a_second_journal_in_the_same_process_is_refused_until_the_first_is_closed(tmp_path):
    first = VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT)
    with pytest.raises(ConfigurationError, match="in use by another process"):
        VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT)
    first.close()
    first.close()  # idempotent
    with VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT):
        pass


def test_a_journal_of_another_account_is_refused(tmp_path):
    VenueJournal(path=tmp_path / "venue.db", account=ACCOUNT).close()
    with pytest.raises(ConfigurationError, match="belongs to account acct-1, not to acct-2"):
        VenueJournal(path=tmp_path / "venue.db", account="acct-2")


def test_the_journal_is_a_wal_file_with_full_synchronous_writes(tmp_path):
    broker = venue(tmp_path / "sub" / "venue.db")  # the directory is created
    run(broker, STEPS[:4])
    broker.close()
    conn = sqlite3.connect(tmp_path / "sub" / "venue.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = conn.execute("SELECT client_order_id, status FROM orders ORDER BY seq").fetchall()
    log = conn.execute("SELECT action, client_order_id FROM log ORDER BY seq").fetchall()
    conn.close()
    assert rows == [("m1", "accepted"), ("l1", "accepted")]
    assert log == [("submit", "m1"), ("submit", "l1")]


# -- a failed write changes nothing ---------------------------------------------------------------


def _state(broker: SimulatedBroker) -> dict[str, object]:
    return {**picture(broker), "queued": broker.poll_events()}


def test_a_write_the_journal_cannot_make_raises_and_leaves_the_venue_unchanged(tmp_path):
    path = tmp_path / "venue.db"
    expected, _ = control()
    broker = build_simulated_broker(config=config(), instruments=INSTRUMENTS,
                                    journal=VenueJournal(path=path, account=ACCOUNT, busy_timeout=0.05))
    k = 9  # m1, l1, st1 rest; bar 2 of SPY comes next
    before = run(broker, STEPS[:k])
    unchanged = _state(broker)

    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file: our writes cannot commit
    with pytest.raises(VenueUnavailable, match="write failed"):
        broker.on_bar(STEPS[k][1])  # fills m1: not recorded, so not made
    with pytest.raises(VenueUnavailable):
        broker.submit(order("new", at=2))
    with pytest.raises(VenueUnavailable):
        broker.cancel("l1")
    assert _state(broker) == unchanged
    assert broker.find_order("new") is None
    blocker.execute("ROLLBACK")
    blocker.close()

    # Nothing happened, so the same bar is not a replay and matches as it would have.
    assert before + run(broker, STEPS[k:]) == expected
    broker.close()
    reopened = venue(path)
    assert [f.fill_id for f in reopened.fills()] == [e.fill.fill_id for e in expected if isinstance(e, OrderFilled)]
    reopened.close()


def test_a_closed_journal_refuses_writes_and_the_venue_stays_as_it_was(tmp_path):
    broker = venue(tmp_path / "venue.db")
    run(broker, STEPS[:5])
    unchanged = _state(broker)
    broker.close()
    with pytest.raises(VenueUnavailable, match="closed"):
        broker.submit(order("late", at=2))
    with pytest.raises(VenueUnavailable, match="closed"):
        broker.on_bar(bar(1, 100))
    assert _state(broker) == unchanged
    # A refused write is a TransientError: the caller may ask again with the same id.
    assert issubclass(VenueUnavailable, TransientError)


def test_an_unjournaled_venue_still_works_without_a_file():
    answers, broker = control()
    assert answers and broker.submitted_client_order_ids() == ["m1", "l1", "st1", "rej", "b1", "m2", "st2"]
    broker.close()  # nothing to close

