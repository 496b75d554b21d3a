"""The simulated venue's journal: its own SQLite file, so the venue outlives the bot.

A real venue keeps its orders and fills when the bot process dies; so does this one.
Each venue action is one transaction (WAL, synchronous=FULL) committed before the
venue answers: accepted and rejected orders with every field needed to rebuild them,
status changes (fills, stop triggers, cancels), fills, and the last bar of a symbol
whenever an order of that symbol rests or is submitted. A bar that meets no resting
order is not written (that would slow an accelerated run down for nothing a restart
needs; the next submit of the symbol records the bar it sees).

One process at a time runs an account's venue: an exclusive, non-blocking flock on a
lock file beside the journal, which the kernel releases when the holder dies.

Standard library sqlite3 on purpose: adapters never import each other (not adapters.sqlite).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self

from adapters.simulated.state import LastBar, VenueChange, VenueOrder, VenueSnapshot
from domain.accounting.market import Bar
from domain.errors import ConfigurationError, VenueUnavailable
from domain.orders.fill import Fill
from domain.orders.order import OrderSide, OrderStatus, OrderType

SCHEMA_VERSION = "1"
_MICROSECOND = timedelta(microseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,      -- submission order
    client_order_id TEXT NOT NULL UNIQUE,
    venue_order_id TEXT,                        -- NULL: the venue refused the order
    account TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    quantity TEXT NOT NULL,
    limit_price TEXT,
    stop_price TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    filled TEXT NOT NULL,
    fills INTEGER NOT NULL,
    triggered INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,      -- the order the venue made them in
    fill_id TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT NOT NULL,
    commission TEXT NOT NULL,
    ts TEXT NOT NULL,
    liquidity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS last_bars (
    symbol TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    open TEXT NOT NULL,
    high TEXT NOT NULL,
    low TEXT NOT NULL,
    close TEXT NOT NULL,
    volume TEXT NOT NULL,
    interval_us INTEGER NOT NULL,
    capacity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log (                -- append only: what each action did to each order
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    filled TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

_UPSERT_ORDER = """
INSERT INTO orders (client_order_id, venue_order_id, account, symbol, side, order_type, quantity, limit_price,
                    stop_price, created_at, status, filled, fills, triggered, reason)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (client_order_id) DO UPDATE SET
    status = excluded.status, filled = excluded.filled, fills = excluded.fills, triggered = excluded.triggered
"""
_INSERT_FILL = """
INSERT INTO fills (fill_id, client_order_id, symbol, side, quantity, price, commission, ts, liquidity)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_UPSERT_BAR = """
INSERT OR REPLACE INTO last_bars (symbol, ts, open, high, low, close, volume, interval_us, capacity)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_INSERT_LOG = "INSERT INTO log (action, client_order_id, status, filled, detail) VALUES (?, ?, ?, ?, ?)"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class VenueJournal:
    """Implements the matching engine's VenueRecorder; `load()` reads the whole venue back."""

    def __init__(self, *, path: Path, account: str, busy_timeout: float = 2.0) -> None:
        self._path = Path(path)
        self._account = account
        self._mutex = threading.Lock()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = _take_lock(self._path.with_name(self._path.name + ".lock"), account=account)
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._open(busy_timeout)
        except BaseException:
            self.close()
            raise

    @property
    def path(self) -> Path:
        return self._path

    @property
    def account(self) -> str:
        return self._account

    def _open(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the simulated venue journal {self._path}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise ConfigurationError(f"simulated venue journal {self._path}: WAL mode refused ({mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('account', ?)", (self._account,))
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigurationError(f"cannot open the simulated venue journal {self._path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        problem = ""
        if meta["account"] != self._account:
            problem = f"belongs to account {meta['account']}, not to {self._account}"
        elif meta["schema"] != SCHEMA_VERSION:
            problem = f"has schema {meta['schema']}; this version reads schema {SCHEMA_VERSION}"
        if problem:
            conn.close()
            raise ConfigurationError(f"simulated venue journal {self._path} {problem}")
        return conn

    # -- the recorder -------------------------------------------------------------------

    def record(self, change: VenueChange) -> None:
        """One transaction; raises VenueUnavailable (nothing written) when it fails."""
        with self._mutex:
            if self._conn is None:
                raise VenueUnavailable(f"simulated venue journal {self._path} is closed")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._write(conn, change)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass  # the failed transaction is gone either way
                    raise
            except sqlite3.Error as exc:
                raise VenueUnavailable(f"simulated venue journal {self._path}: write failed: {exc}") from exc

    def _write(self, conn: sqlite3.Connection, change: VenueChange) -> None:
        for o in change.orders:
            conn.execute(_UPSERT_ORDER, (
                o.client_order_id, o.venue_order_id, o.account, o.symbol, o.side.value, o.order_type.value,
                str(o.quantity), _text(o.limit_price), _text(o.stop_price), o.created_at.isoformat(),
                o.status.value, str(o.filled), o.fills, int(o.triggered), "",
            ))
            conn.execute(_INSERT_LOG, (change.action, o.client_order_id, o.status.value, str(o.filled),
                                       "triggered" if o.triggered else ""))
        for r in change.rejected:
            o = r.order
            conn.execute(_UPSERT_ORDER, (
                o.client_order_id, None, o.account, o.symbol, o.side.value, o.order_type.value, str(o.quantity),
                _text(o.limit_price), _text(o.stop_price), o.created_at.isoformat(), OrderStatus.REJECTED.value,
                "0", 0, 0, r.reason,
            ))
            conn.execute(_INSERT_LOG, (change.action, o.client_order_id, OrderStatus.REJECTED.value, "0", r.reason))
        conn.executemany(_INSERT_FILL, [
            (f.fill_id, f.client_order_id, f.symbol, f.side.value, str(f.quantity), str(f.price), str(f.commission),
             f.ts.isoformat(), f.liquidity) for f in change.fills
        ])
        conn.executemany(_UPSERT_BAR, [
            (b.bar.symbol, b.bar.ts.isoformat(), str(b.bar.open), str(b.bar.high), str(b.bar.low), str(b.bar.close),
             str(b.bar.volume), b.bar.interval // _MICROSECOND, str(b.capacity)) for b in change.last_bars
        ])

    # -- reading back -------------------------------------------------------------------

    def load(self) -> VenueSnapshot:
        with self._mutex:
            if self._conn is None:
                raise VenueUnavailable(f"simulated venue journal {self._path} is closed")
            try:
                orders, fills, bars = _read(self._conn)
            except sqlite3.Error as exc:
                raise VenueUnavailable(f"simulated venue journal {self._path}: read failed: {exc}") from exc
        accepted: list[VenueOrder] = []
        rejected: dict[str, str] = {}
        for (coid, venue_id, account, symbol, side, kind, quantity, limit, stop, created, status, filled, count,
             triggered, reason) in orders:
            if venue_id is None:
                rejected[coid] = reason
                continue
            accepted.append(VenueOrder(
                client_order_id=coid, venue_order_id=venue_id, account=account, symbol=symbol, side=OrderSide(side),
                order_type=OrderType(kind), quantity=Decimal(quantity), limit_price=_decimal(limit),
                stop_price=_decimal(stop), created_at=datetime.fromisoformat(created), status=OrderStatus(status),
                filled=Decimal(filled), fills=count, triggered=bool(triggered),
            ))
        return VenueSnapshot(
            orders=tuple(accepted),
            rejected=rejected,
            known=tuple(row[0] for row in orders),
            fills=tuple(
                Fill(fill_id=fid, client_order_id=coid, symbol=symbol, side=OrderSide(side), quantity=Decimal(q),
                     price=Decimal(p), commission=Decimal(c), ts=datetime.fromisoformat(ts), liquidity=liquidity)
                for fid, coid, symbol, side, q, p, c, ts, liquidity in fills
            ),
            last_bars={
                symbol: LastBar(bar=Bar(symbol=symbol, ts=datetime.fromisoformat(ts), open=Decimal(o), high=Decimal(h),
                                        low=Decimal(lo), close=Decimal(c), volume=Decimal(v),
                                        interval=interval_us * _MICROSECOND),
                                capacity=Decimal(capacity))
                for symbol, ts, o, h, lo, c, v, interval_us, capacity in bars
            },
        )

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the file and give the venue's lock up (dying does the same). Idempotent."""
        with self._mutex:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the only descriptor releases the flock
                self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _read(conn: sqlite3.Connection) -> tuple[list, list, list]:
    conn.execute("BEGIN")  # one consistent read
    try:
        orders = conn.execute(
            "SELECT client_order_id, venue_order_id, account, symbol, side, order_type, quantity, limit_price,"
            " stop_price, created_at, status, filled, fills, triggered, reason FROM orders ORDER BY seq").fetchall()
        fills = conn.execute(
            "SELECT fill_id, client_order_id, symbol, side, quantity, price, commission, ts, liquidity"
            " FROM fills ORDER BY seq").fetchall()
        bars = conn.execute(
            "SELECT symbol, ts, open, high, low, close, volume, interval_us, capacity FROM last_bars").fetchall()
    finally:
        conn.execute("COMMIT")
    return orders, fills, bars


def _take_lock(path: Path, *, account: str) -> int:
    """An exclusive flock on `path`, or ConfigurationError when someone holds it. The lock
    belongs to the open file description: a second journal in the same process is refused
    too, and the kernel drops the lock when the holding process dies, however it dies."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigurationError(f"cannot open the simulated venue lock file {path}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if isinstance(exc, BlockingIOError):
            here = " (this process)" if holder == str(os.getpid()) else ""
            raise ConfigurationError(
                f"simulated venue for account {account} is in use by another process (pid {holder}{here}); "
                f"stop it first (lock {path})") from exc
        raise ConfigurationError(f"cannot lock the simulated venue of account {account} ({path}): {exc}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
