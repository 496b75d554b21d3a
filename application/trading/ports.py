"""Ports of trading: the book's repositories (orders, fills, positions, trades, equity,
sessions, stops, allocations, heartbeats and instances), what an operator wants a bot to do
(bot runs), and the crash-drill hooks on the order path.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import attrs

from application.records import (
    AllocationRecord,
    BotAccount,
    EquityPoint,
    Heartbeat,
    InstanceBeat,
    SessionRecord,
    VenueCharge,
)
from domain.accounting.position import Position, RoundTrip
from domain.orders.fill import Fill
from domain.orders.fill_corrections import FillCorrection
from domain.orders.order import Order, OrderStatus
from domain.risk.stops import StopLevel


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

    def count_by_status(self, *, account: str) -> dict[tuple[str, OrderStatus], int]:
        """(bot, status) -> how many of the account's orders are in that status now; pairs
        with none are left out (one grouped query: /metrics reads it every scrape)."""
        ...


class FillRepository(Protocol):
    def exists(self, fill_id: str) -> bool: ...

    def add(self, fill: Fill, *, account: str, bot: str) -> bool:
        """Insert; False (nothing written) when this fill_id was recorded before."""
        ...

    def list(self, *, account: str, bot: str | None = None) -> list[Fill]:
        """Oldest first."""
        ...

    def count(self, *, account: str, bot: str | None = None) -> int: ...


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


class DesiredState(enum.Enum):
    """What an operator asked of a bot. STOPPED is not HALTED: a stopped bot evaluates no
    strategy and submits no entries, but keeps its positions and their protective stops."""

    RUNNING = "running"
    STOPPED = "stopped"


@attrs.frozen(kw_only=True)
class BotRun:
    account: str
    bot: str
    desired: DesiredState
    actor: str
    reason: str
    updated_at: datetime


class BotRunRepository(Protocol):
    def get(self, *, account: str, bot: str) -> BotRun | None:
        """None: nobody asked, which means RUNNING."""
        ...

    def set(self, run: BotRun) -> None:
        """Replace the bot's desired state (the latest request wins)."""
        ...

    def list(self, *, account: str | None = None) -> list[BotRun]: ...
