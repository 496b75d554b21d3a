"""Ports: what the use cases need from the outside world, as small Protocols.

Adapters implement these; the use cases never import an adapter.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from application.records import (
    AllocationRecord,
    Invitation,
    LoginAttempt,
    LoginPairHistory,
    LoginSession,
    User,
    AuditEntry,
    BotAccount,
    ControlState,
    EquityPoint,
    Heartbeat,
    InstanceBeat,
    Lease,
    SessionRecord,
    VenueCharge,
    VenueOrderState,
)
from application.operations_ports import BotRunRepository, SnapshotRepository, VenueHealthRepository
from application.settings_ports import SettingsRepository
from domain.accounting.instrument import AssetClass
from domain.accounting.market import Bar
from domain.accounting.position import Position, RoundTrip
from domain.orders.events import BrokerEvent
from domain.orders.fill import Fill
from domain.orders.fill_corrections import FillCorrection
from domain.orders.order import Order
from domain.risk.stops import StopLevel


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC (simulated time in an accelerated session)."""
        ...


class AlertLevel(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Notifier(Protocol):
    def notify(self, *, level: AlertLevel, title: str, body: str) -> None:
        """Tell a person. Must not raise: a failed alert never stops trading decisions."""
        ...


class FaultInjector(Protocol):
    """Named points on the order path where a crash drill may kill the process.

    Production wiring uses NoFaults; the crash tests start real processes with a build
    that dies at one of these points, to prove a restart neither duplicates nor loses.
    """

    def reached(self, point: str) -> None: ...


class NoFaults:
    def reached(self, point: str) -> None:
        return None


CRASH_POINTS = (
    "after_intent_commit",  # the intent is stored; the venue has not been called
    "after_submit_before_ack",  # the venue has the order; we have not stored its answer
    "after_fill_before_record",  # the venue filled; the fill is not in the store yet
    "cycle",  # between bars, at a bar the injector picks (e.g. at random)
)


class MarketData(Protocol):
    def bars(self) -> Iterator[Bar]:
        """Bars of every subscribed symbol, in (ts, symbol) order."""
        ...


class LiveMarketData(Protocol):
    def poll(self, *, timeout: float) -> list[Bar]:
        """Bars that closed since the last poll; waits at most `timeout` seconds for one."""
        ...


class Broker(Protocol):
    """A venue. Every call is idempotent on the order's client_order_id."""

    def submit(self, order: Order) -> list[BrokerEvent]:
        """Send an order; returns what the venue said at once (ack, reject, maybe fills).

        Submitting a client_order_id the venue already has never makes a second order.
        Raises TransientError when the outcome is unknown (ask with find_order later).
        """
        ...

    def cancel(self, client_order_id: str) -> list[BrokerEvent]:
        """Cancel an open order; an unknown or finished order gives no event."""
        ...

    def find_order(self, client_order_id: str) -> VenueOrderState | None:
        """Look an order up by its client_order_id; None when the venue has no live record of it
        (never got it, or refused it outright)."""
        ...

    def open_orders(self) -> list[VenueOrderState]:
        ...

    def poll_events(self) -> list[BrokerEvent]:
        """Events since the last poll (fills, cancels, expiries), oldest first."""
        ...

    def fills(self, *, since: datetime | None = None) -> list[Fill]:
        """Every fill of this account the venue has at or after `since` (all when None),
        oldest first: reconciliation backfills what the store missed from these."""
        ...

    def positions(self) -> dict[str, Decimal]:
        """The venue's net quantity per symbol for this account (flat symbols may be absent)."""
        ...

    def supports_stop_orders(self, asset_class: AssetClass) -> bool:
        """Whether the venue rests stop orders for this asset class (a protective stop can sit
        there); where it does not, stops are monitored bar by bar."""
        ...


class BarListener(Protocol):
    """A simulated venue hears each bar before the bots do, to match resting orders."""

    def on_bar(self, bar: Bar) -> None:
        """Match resting orders against the bar. Raises InvalidMarketData for a bar that is not
        after the previous one of its symbol (a venue never matches on a replayed bar)."""
        ...


class OrderRepository(Protocol):
    def add(self, order: Order) -> bool:
        """Insert; False (nothing written) when the client_order_id already exists."""
        ...

    def get(self, client_order_id: str) -> Order | None: ...

    def save(self, order: Order) -> None:
        """Write status, fills so far, venue id, reason and timestamps of an existing order."""
        ...

    def open_orders(self, *, account: str, bot: str | None = None, symbol: str | None = None) -> list[Order]:
        ...

    def submission_times(
        self, *, account: str, bot: str, symbol: str | None, since: datetime
    ) -> list[datetime]:
        """submitted_at of this bot's orders (of one symbol, or all) at or after `since`."""
        ...

    def list(self, *, account: str | None = None, bot: str | None = None, limit: int = 1000) -> list[Order]:
        """Newest first."""
        ...

    def count(self, *, account: str, bot: str | None = None) -> int: ...


class FillRepository(Protocol):
    def exists(self, fill_id: str) -> bool: ...

    def add(self, fill: Fill, *, account: str, bot: str) -> bool:
        """Insert; False (nothing written) when this fill_id was recorded before."""
        ...

    def list(self, *, account: str, bot: str | None = None) -> list[Fill]:
        """Oldest first."""
        ...

    def count(self, *, account: str, bot: str | None = None) -> int: ...


@runtime_checkable
class ChargeSource(Protocol):
    """A venue that reports fees apart from fills (Alpaca's FEE activities); reconciliation
    records them when the broker is one."""

    def charges(self, *, since: datetime | None = None) -> list[VenueCharge]:
        """Every fee the venue charged at or after `since` (all when None), oldest first."""
        ...


class FillCorrectionRepository(Protocol):
    def add(self, correction: FillCorrection, *, account: str, bot: str) -> bool:
        """Insert; False (nothing written) when this correction_id was recorded before."""
        ...

    def list(self, *, account: str, bot: str | None = None) -> list[FillCorrection]:
        """Oldest first."""
        ...


class VenueChargeRepository(Protocol):
    def add(self, charge: VenueCharge) -> bool:
        """Insert (account, bot and fill_id set); False when this charge_id was recorded before."""
        ...

    def list(self, *, account: str, bot: str | None = None) -> list[VenueCharge]:
        """Oldest first."""
        ...


class PositionRepository(Protocol):
    def get(self, *, account: str, bot: str, symbol: str) -> Position:
        """The stored position, or a flat one."""
        ...

    def upsert(self, position: Position, *, account: str, last_price: Decimal | None = None) -> None:
        """Insert or update; never fails on an existing key."""
        ...

    def list(self, *, account: str | None = None, bot: str | None = None) -> list[tuple[str, Position, Decimal | None]]:
        """(account, position, last_price) rows, flat ones included."""
        ...


class AccountRepository(Protocol):
    def get(self, *, account: str, bot: str) -> BotAccount | None: ...

    def ensure(self, *, account: str, bot: str, initial_cash: Decimal) -> BotAccount:
        """Create with initial_cash if missing; return the stored one either way."""
        ...

    def set_cash(self, *, account: str, bot: str, cash: Decimal) -> None: ...

    def list(self, *, account: str | None = None) -> list[BotAccount]: ...


class TradeRepository(Protocol):
    def add(self, trip: RoundTrip, *, account: str) -> bool:
        """Insert; False when the trip closed by this fill is already recorded."""
        ...

    def list(
        self, *, account: str | None = None, bot: str | None = None, symbol: str | None = None
    ) -> list[tuple[str, RoundTrip]]:
        """(account, trip) oldest first."""
        ...

    def replace(self, *, account: str, bot: str, symbol: str, trips: Sequence[RoundTrip]) -> None:
        """The round trips of one bot's symbol become `trips` (after a fill was corrected)."""
        ...

    def page(
        self, *, account: str | None = None, bots: Sequence[str] | None = None, symbol: str | None = None,
        since: datetime | None = None, until: datetime | None = None, limit: int, offset: int = 0,
    ) -> tuple[int, list[tuple[str, RoundTrip]]]:
        """(how many match, one page of them) oldest first, filtered and paged by the store:
        closed at or after `since` and before `until`; `bots` None means any bot, () none."""
        ...


class HeartbeatRepository(Protocol):
    def beat(self, heartbeat: Heartbeat) -> None:
        """Upsert by (account, bot)."""
        ...

    def list(self, *, account: str | None = None) -> list[Heartbeat]: ...


class ControlRepository(Protocol):
    def get(self, scope: str) -> ControlState | None: ...

    def guard(self) -> None:
        """Serialise this (writing) transaction with every change of the switch, until it ends:
        a change in progress is waited for, so the reads after the guard see it, and a change
        waits (briefly, then lands anyway) for the guarded transactions in progress. The check
        just before an order is sent takes it (application/trading/trading_cycle.py)."""
        ...

    def set(self, state: ControlState) -> None:
        """Upsert the switch of state.scope."""
        ...

    def list(self) -> list[ControlState]: ...


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None:
        """Append only: the store refuses updates and deletes of entries."""
        ...

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
        """Oldest first (of the newest `limit`, after skipping the newest `offset`). With `kinds`
        or `data_key`, an entry matches when its kind is one of `kinds` or its data holds the
        key `data_key` (a decision recorded as an order still carries its "signal")."""
        ...

    def count(self, *, account: str | None = None, severity: str | None = None) -> int: ...


class EquityRepository(Protocol):
    def add_many(self, *, account: str, bot: str, points: Sequence[EquityPoint]) -> None: ...

    def list(self, *, account: str, bot: str | None = None) -> list[tuple[str, EquityPoint]]:
        """(bot, point) ordered by ts then bot."""
        ...


class SessionRepository(Protocol):
    def new_simulation_account(self) -> str:
        """A fresh account id for an accelerated session: sim-0001, sim-0002, ..."""
        ...

    def start(self, record: SessionRecord) -> None: ...

    def finish(self, *, account: str, finished_at: datetime, report: dict[str, object]) -> None: ...

    def get(self, account: str) -> SessionRecord | None: ...

    def list(self) -> list[SessionRecord]: ...


class LeaseRepository(Protocol):
    """A bot's trading right: at most one holder at a time, for a limited time.

    Expiry is decided by the store's own clock (the database server's, for Postgres), so
    instances on machines with skewed clocks still agree on who holds a lease.
    """

    def acquire(self, *, account: str, bot: str, holder: str, ttl_seconds: float) -> Lease | None:
        """Take the lease if it is free, expired or already `holder`'s (then renew it).
        Returns the lease now held by `holder`, or None when another live holder has it."""
        ...

    def release(self, *, account: str, bot: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), only if `holder` holds it."""
        ...

    def get(self, *, account: str, bot: str) -> Lease | None: ...

    def list(self, *, account: str | None = None) -> list[Lease]: ...


class InstanceRepository(Protocol):
    def beat(self, instance: InstanceBeat) -> None:
        """Upsert by instance id."""
        ...

    def list(self, *, account: str | None = None) -> list[InstanceBeat]:
        """Ordered by account, then instance."""
        ...


class StopRepository(Protocol):
    """Each open position's current stop, so it survives restarts (a stop must never loosen
    because a process restarted) and `quantshift risk` can measure heat."""

    def upsert(self, *, account: str, bot: str, symbol: str, level: StopLevel, updated_at: datetime) -> None: ...

    def delete(self, *, account: str, bot: str, symbol: str) -> None: ...

    def list(self, *, account: str, bot: str | None = None) -> dict[tuple[str, str], StopLevel]:
        """(bot, symbol) -> stop."""
        ...


class AllocationRepository(Protocol):
    def add(self, record: AllocationRecord) -> None:
        """Append (never updates): the allocation history is the audit of every capital move."""
        ...

    def list(self, *, account: str, bot: str | None = None) -> list[AllocationRecord]:
        """Oldest first (by ts, then insertion)."""
        ...


class Mailer(Protocol):
    """Sends one email (invitations, alert emails). Raises TransientError when the server
    cannot take it now; the caller decides whether to retry."""

    def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> None: ...


class UserRepository(Protocol):
    def add(self, user: User) -> bool:
        """False when the email (case-insensitive) or the id is taken; nothing is written then."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def by_email(self, email: str) -> User | None:
        """Case-insensitive."""
        ...

    def save(self, user: User) -> None:
        """Update an existing user (role, password hash, verified, disabled)."""
        ...

    def list(self) -> list[User]:
        """Oldest first."""
        ...


class LoginSessionRepository(Protocol):
    def open(self, login: LoginSession, *, max_live: int, now: datetime) -> list[str]:
        """Add a session and revoke the user's oldest live ones beyond `max_live`, atomically:
        concurrent logins of one user never leave more than `max_live` live sessions (the
        user's row is locked for the transaction). Returns the ids revoked."""
        ...

    def get(self, session_id: str) -> LoginSession | None: ...

    def revoke(self, session_id: str, *, at: datetime, reason: str) -> bool:
        """False when it was not live."""
        ...

    def revoke_all(self, user_id: str, *, at: datetime, reason: str) -> int: ...

    def live(self, user_id: str, *, now: datetime) -> list[LoginSession]:
        """Oldest first."""
        ...


class InvitationRepository(Protocol):
    def add(self, invitation: Invitation) -> None: ...

    def get(self, invitation_id: str) -> Invitation | None: ...

    def accept(self, invitation_id: str, *, at: datetime) -> bool:
        """Mark accepted once: False when it was accepted already (single use, even under races)."""
        ...

    def revoke(self, invitation_id: str, *, at: datetime) -> bool:
        """Withdraw a pending invitation (neither accepted nor revoked): True if this call did."""
        ...

    def list(self) -> list[Invitation]:
        """Newest first."""
        ...


class LoginAttemptRepository(Protocol):
    def add(self, attempt: LoginAttempt) -> None: ...

    def failures_since(self, *, since: datetime, email: str | None = None, address: str | None = None) -> int:
        """Failed attempts at or after `since` for this email and/or address."""
        ...

    def lock_pair(self, *, email: str, address: str) -> None:
        """Hold this (email, address) pair until the unit of work ends: concurrent logins of
        one pair are counted and admitted one after the other, never on a stale count."""
        ...

    def pair_history(self, *, email: str, address: str, since: datetime) -> LoginPairHistory:
        """The pair's failures at or after `since` and after its latest success, and when
        the latest of them was."""
        ...

    def begin(self, attempt: LoginAttempt) -> int:
        """Add an attempt that counts as failed until `succeed(id)`: an attempt whose outcome
        is never written (a crash, a slow verify) counts against the pair. Returns its id."""
        ...

    def succeed(self, attempt_id: int) -> None:
        """Mark a begun attempt succeeded."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving the `with` block without
    commit() rolls back. Raises StoreUnavailable when the store cannot be reached."""

    orders: OrderRepository
    fills: FillRepository
    positions: PositionRepository
    accounts: AccountRepository
    trades: TradeRepository
    heartbeats: HeartbeatRepository
    control: ControlRepository
    audit: AuditLog
    equity: EquityRepository
    sessions: SessionRepository
    leases: LeaseRepository
    instances: InstanceRepository
    stops: StopRepository
    allocations: AllocationRepository
    users: UserRepository
    login_sessions: LoginSessionRepository
    invitations: InvitationRepository
    login_attempts: LoginAttemptRepository
    settings: SettingsRepository
    bot_runs: BotRunRepository
    snapshots: SnapshotRepository
    venue_health: VenueHealthRepository
    fill_corrections: FillCorrectionRepository
    venue_charges: VenueChargeRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
