"""An in-memory store implementing the UnitOfWork port (application/ports.py).

Semantics follow the port docstrings and the SQLite adapter that is the reference:

- a unit of work works on its own copy of the committed state; commit() publishes it,
  leaving the `with` block without commit() discards it; after commit() the unit of
  work goes on in a fresh transaction (as SQLite does), rolled back unless committed again;
- Orders are mutable, so they are copied in (add/save) and out (get/list): a caller
  mutating an Order never changes the store behind the store's back; every other
  record is a frozen value and is shared;
- one unit of work at a time per store (SQLite holds one connection per thread and
  refuses nesting): a use case that nests transactions fails here too;
- `available = False` or `fail_next = n` make entering a unit of work raise
  StoreUnavailable (fail-closed tests).
"""

from __future__ import annotations

import copy
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import attrs

from application.reports.ports import DailySnapshot
from application.trading.ports import BotRun
from application.venues.ports import VenueHealthBucket
from application.records import (
    AllocationRecord,
    AuditEntry,
    AuditKind,
    BotAccount,
    ControlState,
    EquityPoint,
    Heartbeat,
    Lease,
    SessionRecord,
    InstanceBeat,
    Invitation,
    LoginAttempt,
    LoginPairHistory,
    LoginSession,
    User,
    VenueCharge,
)
from domain.accounting.position import Position, RoundTrip
from domain.errors import StoreUnavailable
from domain.orders.fill import Fill
from domain.orders.fill_corrections import FillCorrection
from domain.orders.order import Order, OrderStatus
from domain.risk.stops import StopLevel

_SIMULATION_ACCOUNT = re.compile(r"^sim-(\d+)$")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@attrs.define
class _State:
    """Every table. Values are frozen records, except orders (copied in and out)."""

    seq: int = 0  # a rowid: insertion order breaks ties like SQLite's rowid does
    orders: dict[str, tuple[int, Order]] = attrs.field(factory=dict)
    fills: dict[str, tuple[int, str, str, Fill]] = attrs.field(factory=dict)  # fill_id -> (seq, account, bot, fill)
    positions: dict[tuple[str, str, str], tuple[Position, Decimal | None]] = attrs.field(factory=dict)
    accounts: dict[tuple[str, str], BotAccount] = attrs.field(factory=dict)
    trades: dict[tuple[str, str, str], tuple[int, RoundTrip]] = attrs.field(factory=dict)
    heartbeats: dict[tuple[str, str], Heartbeat] = attrs.field(factory=dict)
    control: dict[str, ControlState] = attrs.field(factory=dict)
    audit: list[tuple[int, AuditEntry]] = attrs.field(factory=list)
    equity: dict[tuple[str, str, datetime], EquityPoint] = attrs.field(factory=dict)
    sessions: dict[str, SessionRecord] = attrs.field(factory=dict)
    leases: dict[tuple[str, str], Lease] = attrs.field(factory=dict)
    instances: dict[str, InstanceBeat] = attrs.field(factory=dict)
    stops: dict[tuple[str, str, str], StopLevel] = attrs.field(factory=dict)
    allocations: list[tuple[int, AllocationRecord]] = attrs.field(factory=list)  # append-only
    users: dict[str, tuple[int, User]] = attrs.field(factory=dict)
    login_sessions: dict[str, tuple[int, LoginSession]] = attrs.field(factory=dict)
    invitations: dict[str, tuple[int, Invitation]] = attrs.field(factory=dict)
    login_attempts: list[LoginAttempt] = attrs.field(factory=list)
    settings: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    bot_runs: dict[tuple[str, str], BotRun] = attrs.field(factory=dict)
    snapshots: dict[tuple[str, date], DailySnapshot] = attrs.field(factory=dict)
    venue_health: dict[tuple[str, str, datetime], VenueHealthBucket] = attrs.field(factory=dict)
    # correction_id -> (seq, account, bot, correction); charge_id -> (seq, charge)
    fill_corrections: dict[str, tuple[int, str, str, FillCorrection]] = attrs.field(factory=dict)
    venue_charges: dict[str, tuple[int, VenueCharge]] = attrs.field(factory=dict)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def copy(self) -> _State:
        # Shallow copies of the containers are a full snapshot: records are frozen and
        # stored orders are never mutated in place (save() replaces them with a copy).
        return _State(
            seq=self.seq, orders=dict(self.orders), fills=dict(self.fills), positions=dict(self.positions),
            accounts=dict(self.accounts), trades=dict(self.trades), heartbeats=dict(self.heartbeats),
            control=dict(self.control), audit=list(self.audit), equity=dict(self.equity),
            sessions=dict(self.sessions), leases=dict(self.leases), instances=dict(self.instances), stops=dict(self.stops),
            allocations=list(self.allocations), users=dict(self.users), login_sessions=dict(self.login_sessions),
            invitations=dict(self.invitations), login_attempts=list(self.login_attempts),
            settings=dict(self.settings), bot_runs=dict(self.bot_runs), snapshots=dict(self.snapshots),
            venue_health=dict(self.venue_health), fill_corrections=dict(self.fill_corrections),
            venue_charges=dict(self.venue_charges),
        )


class InMemoryStore:
    """A UnitOfWorkFactory: `store()` is a new unit of work."""

    def __init__(self, *, wall_clock: Callable[[], datetime] = _utc_now) -> None:
        self._committed = _State()
        self._wall_clock = wall_clock
        self._open = False
        self.available = True  # False: every unit of work fails to start
        self.fail_next = 0  # > 0: that many next units of work fail to start
        self._fail_after: int | None = None  # units of work that still succeed before fail_next applies
        self.units_started = 0
        self.commits = 0

    def fail_after(self, succeed: int, *, fail: int = 1) -> None:
        """Let `succeed` more units of work start, then make the `fail` after them fail."""
        self._fail_after, self.fail_next = succeed, fail

    def unit_of_work(self, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self, read_only=read_only)

    def __call__(self) -> InMemoryUnitOfWork:
        return self.unit_of_work()

    # For tests: the committed state, read without a transaction.

    def snapshot(self) -> dict[str, object]:
        """A comparable picture of every committed table (audit without recorded_at)."""
        s = self._committed
        return {
            "orders": {cid: attrs.asdict(o, recurse=False) for cid, (_, o) in s.orders.items()},
            "fills": {fid: (a, b, f) for fid, (_, a, b, f) in s.fills.items()},
            "positions": dict(s.positions),
            "accounts": dict(s.accounts),
            "trades": {k: t for k, (_, t) in s.trades.items()},
            "control": dict(s.control),
            "audit": [attrs.evolve(e, recorded_at=None) for _, e in s.audit],
            "equity": dict(s.equity),
        }

    # For InMemoryUnitOfWork only.

    def _begin(self) -> _State:
        if self._open:
            raise RuntimeError("a unit of work is already open on this store (nested transactions)")
        if not self.available:
            raise StoreUnavailable("in-memory store switched off (available=False)")
        if self._fail_after:
            self._fail_after -= 1
        elif self.fail_next > 0:
            self._fail_after = None
            self.fail_next -= 1
            raise StoreUnavailable("in-memory store told to fail (fail_next)")
        self._open = True
        self.units_started += 1
        return self._committed.copy()

    def _publish(self, state: _State) -> None:
        self._committed = state
        self.commits += 1

    def _end(self) -> None:
        self._open = False


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self._state: _State | None = None
        self._used = False
        self.orders = _Orders(self)
        self.fills = _Fills(self)
        self.positions = _Positions(self)
        self.accounts = _Accounts(self)
        self.trades = _Trades(self)
        self.heartbeats = _Heartbeats(self)
        self.control = _Control(self)
        self.audit = _AuditLog(self)
        self.equity = _Equity(self)
        self.sessions = _Sessions(self)
        self.leases = _Leases(self)
        self.instances = _Instances(self)
        self.stops = _Stops(self)
        self.allocations = _Allocations(self)
        self.users = _Users(self)
        self.login_sessions = _LoginSessions(self)
        self.invitations = _Invitations(self)
        self.login_attempts = _LoginAttempts(self)
        self.settings = _Settings(self)
        self.bot_runs = _BotRuns(self)
        self.snapshots = _Snapshots(self)
        self.venue_health = _VenueHealth(self)
        self.fill_corrections = _FillCorrections(self)
        self.venue_charges = _VenueCharges(self)

    @property
    def read_only(self) -> bool:
        return self._read_only

    def __enter__(self) -> Self:
        if self._used:
            raise RuntimeError("a unit of work is used in one `with` block only; ask the store for a new one")
        self._used = True
        self._state = self._store._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state = None  # uncommitted work is dropped
        self._store._end()

    def commit(self) -> None:
        state = self._active()
        if not self._read_only:
            self._store._publish(state)
        # Like SQLite: the next statement runs in a fresh transaction.
        self._state = self._store._committed.copy()

    def rollback(self) -> None:
        self._active()
        self._state = self._store._committed.copy()

    def _active(self) -> _State:
        if self._state is None:
            raise RuntimeError("use the unit of work inside its `with` block")
        return self._state

    def _writable(self) -> _State:
        state = self._active()
        if self._read_only:
            raise RuntimeError("write in a read-only unit of work")
        return state

    def _now(self) -> datetime:
        return self._store._wall_clock()


class _Repo:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _r(self) -> _State:
        return self._uow._active()

    @property
    def _w(self) -> _State:
        return self._uow._writable()


class _Orders(_Repo):
    def add(self, order: Order) -> bool:
        state = self._w
        if order.client_order_id in state.orders:
            return False
        state.orders[order.client_order_id] = (state.next_seq(), copy.deepcopy(order))
        return True

    def get(self, client_order_id: str) -> Order | None:
        row = self._r.orders.get(client_order_id)
        return None if row is None else copy.deepcopy(row[1])

    def save(self, order: Order) -> None:
        state = self._w
        row = state.orders.get(order.client_order_id)
        if row is None:
            raise LookupError(f"no stored order {order.client_order_id} to save")
        # Like the SQL UPDATE: only the mutable columns change.
        stored = copy.deepcopy(row[1])
        for name in ("limit_price", "stop_price", "status", "filled_quantity", "average_fill_price",
                     "venue_order_id", "reason", "updated_at", "submitted_at"):
            setattr(stored, name, copy.deepcopy(getattr(order, name)))
        state.orders[order.client_order_id] = (row[0], stored)

    def _rows(self, account: str | None, bot: str | None, symbol: str | None = None) -> list[tuple[int, Order]]:
        return [
            (seq, o) for seq, o in self._r.orders.values()
            if (account is None or o.account == account) and (bot is None or o.bot == bot)
            and (symbol is None or o.symbol == symbol)
        ]

    def open_orders(self, *, account: str, bot: str | None = None, symbol: str | None = None) -> list[Order]:
        rows = [(seq, o) for seq, o in self._rows(account, bot, symbol) if not o.status.is_terminal]
        rows.sort(key=lambda r: (r[1].created_at, r[0]))
        return [copy.deepcopy(o) for _, o in rows]

    def submission_times(
        self, *, account: str, bot: str, symbol: str | None, since: datetime
    ) -> list[datetime]:
        return sorted(
            o.submitted_at for _, o in self._rows(account, bot, symbol)
            if o.submitted_at is not None and o.submitted_at >= since
        )

    def list(self, *, account: str | None = None, bot: str | None = None, limit: int = 1000) -> list[Order]:
        rows = sorted(self._rows(account, bot), key=lambda r: (r[1].created_at, r[0]), reverse=True)
        return [copy.deepcopy(o) for _, o in rows[:limit]]

    def count(self, *, account: str, bot: str | None = None) -> int:
        return len(self._rows(account, bot))

    def count_by_status(self, *, account: str) -> dict[tuple[str, OrderStatus], int]:
        return dict(Counter((o.bot, o.status) for _, o in self._rows(account, None)))


class _Fills(_Repo):
    def exists(self, fill_id: str) -> bool:
        return fill_id in self._r.fills

    def add(self, fill: Fill, *, account: str, bot: str) -> bool:
        state = self._w
        if fill.fill_id in state.fills:
            return False
        state.fills[fill.fill_id] = (state.next_seq(), account, bot, fill)
        return True

    def _rows(self, account: str | None, bot: str | None) -> list[tuple[int, str, str, Fill]]:
        return [r for r in self._r.fills.values()
                if (account is None or r[1] == account) and (bot is None or r[2] == bot)]

    def list(self, *, account: str, bot: str | None = None) -> list[Fill]:
        return [r[3] for r in sorted(self._rows(account, bot), key=lambda r: (r[3].ts, r[0]))]

    def count(self, *, account: str, bot: str | None = None) -> int:
        return len(self._rows(account, bot))


class _Positions(_Repo):
    def get(self, *, account: str, bot: str, symbol: str) -> Position:
        row = self._r.positions.get((account, bot, symbol))
        return Position(bot=bot, symbol=symbol) if row is None else row[0]

    def upsert(self, position: Position, *, account: str, last_price: Decimal | None = None) -> None:
        state = self._w
        key = (account, position.bot, position.symbol)
        old = state.positions.get(key)
        # As the SQL adapter: an update without a price keeps the stored mark.
        mark = last_price if last_price is not None else (old[1] if old else None)
        state.positions[key] = (position, mark)

    def list(self, *, account: str | None = None, bot: str | None = None) -> list[tuple[str, Position, Decimal | None]]:
        return [
            (key[0], position, mark) for key, (position, mark) in sorted(self._r.positions.items())
            if (account is None or key[0] == account) and (bot is None or key[1] == bot)
        ]


class _Accounts(_Repo):
    def get(self, *, account: str, bot: str) -> BotAccount | None:
        return self._r.accounts.get((account, bot))

    def ensure(self, *, account: str, bot: str, initial_cash: Decimal) -> BotAccount:
        state = self._w
        key = (account, bot)
        if key not in state.accounts:
            state.accounts[key] = BotAccount(account=account, bot=bot, initial_cash=initial_cash, cash=initial_cash)
        return state.accounts[key]

    def set_cash(self, *, account: str, bot: str, cash: Decimal) -> None:
        state = self._w
        key = (account, bot)
        if key not in state.accounts:
            raise LookupError(f"no account row for {account}/{bot}")
        state.accounts[key] = attrs.evolve(state.accounts[key], cash=cash)

    def list(self, *, account: str | None = None) -> list[BotAccount]:
        return [a for key, a in sorted(self._r.accounts.items()) if account is None or key[0] == account]


class _Trades(_Repo):
    def add(self, trip: RoundTrip, *, account: str) -> bool:
        state = self._w
        key = (account, trip.bot, trip.closing_fill_id)
        if key in state.trades:
            return False
        state.trades[key] = (state.next_seq(), trip)
        return True

    def list(
        self, *, account: str | None = None, bot: str | None = None, symbol: str | None = None
    ) -> list[tuple[str, RoundTrip]]:
        rows = [
            (seq, key[0], trip) for key, (seq, trip) in self._r.trades.items()
            if (account is None or key[0] == account) and (bot is None or trip.bot == bot)
            and (symbol is None or trip.symbol == symbol)
        ]
        rows.sort(key=lambda r: (r[2].closed_at, r[0]))
        return [(acct, trip) for _, acct, trip in rows]

    def replace(self, *, account: str, bot: str, symbol: str, trips: Sequence[RoundTrip]) -> None:
        state = self._w
        for key in [k for k, (_, t) in state.trades.items() if k[0] == account and k[1] == bot and t.symbol == symbol]:
            del state.trades[key]
        for trip in trips:
            self.add(trip, account=account)

    def page(
        self, *, account: str | None = None, bots: Sequence[str] | None = None, symbol: str | None = None,
        since: datetime | None = None, until: datetime | None = None, limit: int, offset: int = 0,
    ) -> tuple[int, list[tuple[str, RoundTrip]]]:
        chosen = [(acct, trip) for acct, trip in self.list(account=account, symbol=symbol)
                  if (bots is None or trip.bot in bots) and (since is None or trip.closed_at >= since)
                  and (until is None or trip.closed_at < until)]
        return len(chosen), chosen[offset:offset + limit]


class _FillCorrections(_Repo):
    def add(self, correction: FillCorrection, *, account: str, bot: str) -> bool:
        state = self._w
        if correction.correction_id in state.fill_corrections:
            return False
        state.fill_corrections[correction.correction_id] = (state.next_seq(), account, bot, correction)
        return True

    def list(self, *, account: str, bot: str | None = None) -> list[FillCorrection]:
        rows = sorted(row for row in self._r.fill_corrections.values()
                      if row[1] == account and (bot is None or row[2] == bot))
        return [correction for _, _, _, correction in rows]


class _VenueCharges(_Repo):
    def add(self, charge: VenueCharge) -> bool:
        state = self._w
        if charge.charge_id in state.venue_charges:
            return False
        state.venue_charges[charge.charge_id] = (state.next_seq(), charge)
        return True

    def list(self, *, account: str, bot: str | None = None) -> list[VenueCharge]:
        rows = sorted((seq, charge) for seq, charge in self._r.venue_charges.values()
                      if charge.account == account and (bot is None or charge.bot == bot))
        return [charge for _, charge in rows]


class _Heartbeats(_Repo):
    def beat(self, heartbeat: Heartbeat) -> None:
        self._w.heartbeats[(heartbeat.account, heartbeat.bot)] = heartbeat

    def list(self, *, account: str | None = None) -> list[Heartbeat]:
        return [h for key, h in sorted(self._r.heartbeats.items()) if account is None or key[0] == account]


class _Control(_Repo):
    def get(self, scope: str) -> ControlState | None:
        return self._r.control.get(scope)

    def guard(self) -> None:
        return None  # one unit of work at a time: serialised already

    def set(self, state: ControlState) -> None:
        self._w.control[state.scope] = state

    def list(self) -> list[ControlState]:
        return [c for _, c in sorted(self._r.control.items())]


class _AuditLog(_Repo):
    def append(self, entry: AuditEntry) -> None:
        state = self._w
        # recorded_at is the store's wall clock; data is copied so the caller cannot edit it later.
        stored = attrs.evolve(entry, data=copy.deepcopy(dict(entry.data)), recorded_at=self._uow._now())
        state.audit.append((state.next_seq(), stored))

    def list(
        self,
        *,
        account: str | None = None,
        symbol: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
        kinds: Sequence[str] = (),
        data_key: str | None = None,
        offset: int = 0,
    ) -> list[AuditEntry]:
        kind_value = kind.value if isinstance(kind, AuditKind) else kind
        rows = [
            (seq, e) for seq, e in self._r.audit
            if (account is None or e.account == account) and (symbol is None or e.symbol == symbol)
            and (kind_value is None or e.kind.value == kind_value) and (since is None or e.ts >= since)
            and (not (kinds or data_key) or e.kind.value in kinds or (data_key is not None and data_key in e.data))
        ]
        rows.sort(key=lambda r: (r[1].ts, r[0]))
        rows = rows[:max(len(rows) - offset, 0)]
        return [e for _, e in rows[max(len(rows) - limit, 0):]]

    def count(self, *, account: str | None = None, severity: str | None = None) -> int:
        return sum(
            1 for _, e in self._r.audit
            if (account is None or e.account == account) and (severity is None or e.severity == severity)
        )


class _Equity(_Repo):
    def add_many(self, *, account: str, bot: str, points: Sequence[EquityPoint]) -> None:
        state = self._w
        for point in points:  # INSERT OR REPLACE: the newest figure at a ts wins
            state.equity[(account, bot, point.ts)] = point

    def list(self, *, account: str, bot: str | None = None) -> list[tuple[str, EquityPoint]]:
        rows = [(key[1], p) for key, p in self._r.equity.items()
                if key[0] == account and (bot is None or key[1] == bot)]
        rows.sort(key=lambda r: (r[1].ts, r[0]))
        return rows


class _Sessions(_Repo):
    def new_simulation_account(self) -> str:
        numbers = [int(m[1]) for account in self._r.sessions if (m := _SIMULATION_ACCOUNT.match(account))]
        return f"sim-{max(numbers, default=0) + 1:04d}"

    def start(self, record: SessionRecord) -> None:
        # Upsert: a paper account restarted under the same id begins a fresh record.
        self._w.sessions[record.account] = attrs.evolve(
            record, config=copy.deepcopy(dict(record.config)),
            report=None if record.report is None else copy.deepcopy(dict(record.report)),
        )

    def finish(self, *, account: str, finished_at: datetime, report: dict[str, object]) -> None:
        state = self._w
        if account not in state.sessions:
            raise LookupError(f"no session {account} to finish")
        state.sessions[account] = attrs.evolve(
            state.sessions[account], finished_at=finished_at, report=copy.deepcopy(report)
        )

    def get(self, account: str) -> SessionRecord | None:
        return self._r.sessions.get(account)

    def list(self) -> list[SessionRecord]:
        return sorted(self._r.sessions.values(), key=lambda r: (r.started_at, r.account))


class _Leases(_Repo):
    """As the SQL adapters: expiry by the store's clock (here its wall_clock); a live lease of the
    same holder is renewed keeping acquired_at; an expired one is taken afresh by anyone."""

    def acquire(self, *, account: str, bot: str, holder: str, ttl_seconds: float) -> Lease | None:
        ttl = float(ttl_seconds)
        if not math.isfinite(ttl) or ttl <= 0:
            raise ValueError(f"a lease needs a positive, finite ttl_seconds, got {ttl_seconds!r}")
        state = self._w
        now = self._uow._now()
        key = (account, bot)
        current = state.leases.get(key)
        live = current is not None and current.expires_at > now
        if live and current.holder != holder:
            return None
        acquired_at = current.acquired_at if live else now
        lease = Lease(account=account, bot=bot, holder=holder, acquired_at=acquired_at,
                      expires_at=now + timedelta(seconds=ttl))
        state.leases[key] = lease
        return lease

    def release(self, *, account: str, bot: str, holder: str) -> None:
        state = self._w
        current = state.leases.get((account, bot))
        if current is not None and current.holder == holder:
            del state.leases[(account, bot)]

    def get(self, *, account: str, bot: str) -> Lease | None:
        return self._r.leases.get((account, bot))

    def list(self, *, account: str | None = None) -> list[Lease]:
        return [lease for key, lease in sorted(self._r.leases.items()) if account is None or key[0] == account]


class _Instances(_Repo):
    def beat(self, instance: InstanceBeat) -> None:
        self._w.instances[instance.instance] = instance

    def list(self, *, account: str | None = None) -> list[InstanceBeat]:
        rows = [i for i in self._r.instances.values() if account is None or i.account == account]
        return sorted(rows, key=lambda i: (i.account, i.instance))


class _Stops(_Repo):
    def upsert(self, *, account: str, bot: str, symbol: str, level: StopLevel, updated_at: datetime) -> None:
        self._w.stops[(account, bot, symbol)] = level

    def delete(self, *, account: str, bot: str, symbol: str) -> None:
        self._w.stops.pop((account, bot, symbol), None)

    def list(self, *, account: str, bot: str | None = None) -> dict[tuple[str, str], StopLevel]:
        return {(b, s): level for (a, b, s), level in sorted(self._r.stops.items())
                if a == account and (bot is None or b == bot)}


class _Allocations(_Repo):
    def add(self, record: AllocationRecord) -> None:
        # As the SQL adapters, whose JSON column hands back a fresh dict: the caller's
        # mapping is copied in and out, never shared with the store.
        state = self._w
        state.allocations.append((state.next_seq(), attrs.evolve(record, metrics=copy.deepcopy(dict(record.metrics)))))

    def list(self, *, account: str, bot: str | None = None) -> list[AllocationRecord]:
        rows = [(seq, r) for seq, r in self._r.allocations if r.account == account and (bot is None or r.bot == bot)]
        rows.sort(key=lambda row: (row[1].ts, row[0]))
        return [attrs.evolve(r, metrics=copy.deepcopy(dict(r.metrics))) for _, r in rows]


class _Settings(_Repo):
    def get(self, key: str) -> dict[str, Any] | None:
        value = self._r.settings.get(key)
        return None if value is None else copy.deepcopy(value)

    def put(self, key: str, value: dict[str, Any], *, at: datetime) -> None:
        self._w.settings[key] = copy.deepcopy(value)


class _BotRuns(_Repo):
    def get(self, *, account: str, bot: str) -> BotRun | None:
        return self._r.bot_runs.get((account, bot))

    def set(self, run: BotRun) -> None:
        # As the SQL stores: the instant is kept, read back in UTC.
        self._w.bot_runs[(run.account, run.bot)] = attrs.evolve(run, updated_at=run.updated_at.astimezone(timezone.utc))

    def list(self, *, account: str | None = None) -> list[BotRun]:
        return [r for key, r in sorted(self._r.bot_runs.items()) if account is None or key[0] == account]


class _Snapshots(_Repo):
    def put(self, snapshot: DailySnapshot) -> None:
        self._w.snapshots[(snapshot.scope, snapshot.day)] = attrs.evolve(
            snapshot, figures=copy.deepcopy(dict(snapshot.figures)))

    def list(self, *, scope: str, since: date) -> list[DailySnapshot]:
        return [attrs.evolve(s, figures=copy.deepcopy(dict(s.figures)))
                for (sc, day), s in sorted(self._r.snapshots.items()) if sc == scope and day >= since]


class _VenueHealth(_Repo):
    def add(self, bucket: VenueHealthBucket) -> None:
        key = (bucket.venue, bucket.operation, bucket.minute)
        stored = self._w.venue_health.get(key)
        self._w.venue_health[key] = bucket if stored is None else stored.merged(bucket)

    def list(self, *, since: datetime, venue: str | None = None) -> list[VenueHealthBucket]:
        return [b for key, b in sorted(self._r.venue_health.items())
                if b.minute >= since and (venue is None or b.venue == venue)]

    def prune(self, *, before: datetime) -> int:
        old = [key for key, b in self._w.venue_health.items() if b.minute < before]
        for key in old:
            del self._w.venue_health[key]
        return len(old)


# As the SQL engines' lower(): ASCII letters only (SQLite's lower(); Postgres under COLLATE "C").
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SESSION_LIMIT_REASON = "session limit: oldest revoked"


def _fold(email: str) -> str:
    return email.translate(_ASCII_LOWER)


class _Users(_Repo):
    def add(self, user: User) -> bool:
        state = self._w
        if user.user_id in state.users or any(_fold(u.email) == _fold(user.email) for _, u in state.users.values()):
            return False
        state.users[user.user_id] = (state.next_seq(), user)
        return True

    def get(self, user_id: str) -> User | None:
        row = self._r.users.get(user_id)
        return None if row is None else row[1]

    def by_email(self, email: str) -> User | None:
        return next((u for _, u in self._r.users.values() if _fold(u.email) == _fold(email)), None)

    def save(self, user: User) -> None:
        state = self._w
        row = state.users.get(user.user_id)
        if row is None:
            raise LookupError(f"no stored user {user.user_id} to save")
        # Like the SQL UPDATE: only these columns change (not the email, nor created_at).
        stored = attrs.evolve(row[1], role=user.role, password_hash=user.password_hash,
                              email_verified=user.email_verified, disabled=user.disabled)
        state.users[user.user_id] = (row[0], stored)

    def list(self) -> list[User]:
        return [u for _, u in sorted(self._r.users.values(), key=lambda row: (row[1].created_at, row[0]))]


class _LoginSessions(_Repo):
    def open(self, login: LoginSession, *, max_live: int, now: datetime) -> list[str]:
        if isinstance(max_live, bool) or not isinstance(max_live, int) or max_live < 1:
            raise ValueError(f"max_live must be a positive integer, got {max_live!r}")
        state = self._w
        if login.user_id not in state.users:
            raise LookupError(f"no stored user {login.user_id} to open a session for")
        if login.session_id in state.login_sessions:
            raise ValueError(f"session {login.session_id} exists already")  # the SQL primary key refuses it
        state.login_sessions[login.session_id] = (state.next_seq(), login)
        live = self._live_rows(state, login.user_id, now)
        beyond = live[: max(0, len(live) - max_live)]  # oldest first
        for seq, session in beyond:
            state.login_sessions[session.session_id] = (
                seq, attrs.evolve(session, revoked_at=now, revoked_reason=_SESSION_LIMIT_REASON))
        return [session.session_id for _, session in beyond]

    def get(self, session_id: str) -> LoginSession | None:
        row = self._r.login_sessions.get(session_id)
        return None if row is None else row[1]

    def revoke(self, session_id: str, *, at: datetime, reason: str) -> bool:
        state = self._w
        row = state.login_sessions.get(session_id)
        if row is None or not row[1].live(at):
            return False
        state.login_sessions[session_id] = (row[0], attrs.evolve(row[1], revoked_at=at, revoked_reason=reason))
        return True

    def revoke_all(self, user_id: str, *, at: datetime, reason: str) -> int:
        state = self._w
        live = self._live_rows(state, user_id, at)
        for seq, session in live:
            state.login_sessions[session.session_id] = (seq, attrs.evolve(session, revoked_at=at, revoked_reason=reason))
        return len(live)

    def live(self, user_id: str, *, now: datetime) -> list[LoginSession]:
        return [session for _, session in self._live_rows(self._r, user_id, now)]

    @staticmethod
    def _live_rows(state: _State, user_id: str, now: datetime) -> list[tuple[int, LoginSession]]:
        rows = [(seq, s) for seq, s in state.login_sessions.values() if s.user_id == user_id and s.live(now)]
        return sorted(rows, key=lambda row: (row[1].created_at, row[0]))


class _Invitations(_Repo):
    def add(self, invitation: Invitation) -> None:
        state = self._w
        if invitation.invitation_id in state.invitations:
            raise ValueError(f"invitation {invitation.invitation_id} exists already")  # the SQL primary key refuses it
        state.invitations[invitation.invitation_id] = (state.next_seq(), invitation)

    def get(self, invitation_id: str) -> Invitation | None:
        row = self._r.invitations.get(invitation_id)
        return None if row is None else row[1]

    def accept(self, invitation_id: str, *, at: datetime) -> bool:
        state = self._w
        row = state.invitations.get(invitation_id)
        if row is None or row[1].accepted_at is not None or row[1].revoked_at is not None:
            return False
        state.invitations[invitation_id] = (row[0], attrs.evolve(row[1], accepted_at=at))
        return True

    def revoke(self, invitation_id: str, *, at: datetime) -> bool:
        state = self._w
        row = state.invitations.get(invitation_id)
        if row is None or row[1].accepted_at is not None or row[1].revoked_at is not None:
            return False
        state.invitations[invitation_id] = (row[0], attrs.evolve(row[1], revoked_at=at.astimezone(timezone.utc)))
        return True

    def list(self) -> list[Invitation]:
        rows = sorted(self._r.invitations.values(), key=lambda row: (row[1].created_at, row[0]), reverse=True)
        return [invitation for _, invitation in rows]


class _LoginAttempts(_Repo):
    def add(self, attempt: LoginAttempt) -> None:
        self._w.login_attempts.append(attempt)

    def failures_since(self, *, since: datetime, email: str | None = None, address: str | None = None) -> int:
        return sum(
            1 for a in self._r.login_attempts
            if not a.succeeded and a.ts >= since
            and (email is None or a.email == email) and (address is None or a.address == address)
        )

    def lock_pair(self, *, email: str, address: str) -> None:
        # Nothing to take: one unit of work at a time per store (a second one raises).
        return None

    def pair_history(self, *, email: str, address: str, since: datetime) -> LoginPairHistory:
        pair = [a for a in self._r.login_attempts if a.email == email and a.address == address]
        latest_success = max((i for i, a in enumerate(pair) if a.succeeded), default=-1)
        failed = [a.ts for a in pair[latest_success + 1:] if not a.succeeded and a.ts >= since]
        return LoginPairHistory(failures=len(failed), last_failure_at=max(failed, default=None))

    def begin(self, attempt: LoginAttempt) -> int:
        # The id is the position in the list: attempts are never deleted.
        state = self._w
        state.login_attempts.append(attrs.evolve(attempt, succeeded=False))
        return len(state.login_attempts)

    def succeed(self, attempt_id: int) -> None:
        state = self._w
        if not 1 <= attempt_id <= len(state.login_attempts):
            raise LookupError(f"no login attempt {attempt_id}")
        state.login_attempts[attempt_id - 1] = attrs.evolve(state.login_attempts[attempt_id - 1], succeeded=True)
