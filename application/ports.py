"""Ports every capability shares: the clock, alerts, the audit log, and the unit of work.

The unit of work is one transaction over every repository, so it names each package's
repository ports (trading/, safety/, reports/, accounts/, venues/ ports.py); those
ports never import this module. Adapters implement the ports; the use cases never import an adapter.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from application.accounts.ports import (
    InvitationRepository,
    LoginAttemptRepository,
    LoginSessionRepository,
    SettingsRepository,
    UserRepository,
)
from application.records import AuditEntry
from application.reports.ports import SnapshotRepository
from application.safety.ports import ControlRepository, LeaseRepository
from application.trading.ports import (
    AccountRepository,
    AllocationRepository,
    BotRunRepository,
    EquityRepository,
    FillCorrectionRepository,
    FillRepository,
    HeartbeatRepository,
    InstanceRepository,
    OrderRepository,
    PositionRepository,
    SessionRepository,
    StopRepository,
    TradeRepository,
    VenueChargeRepository,
)
from application.venues.ports import VenueHealthRepository


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
